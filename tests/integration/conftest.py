"""Fixtures shared by the integration tests, one module per part of the lab."""

from pg_fixture import pg_lab  # noqa: F401
