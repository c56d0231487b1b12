"""Runbooks as data, UI-free."""
