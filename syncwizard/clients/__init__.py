"""Clients, one module per outside system. None of them imports textual."""
