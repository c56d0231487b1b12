"""The lab PostgreSQL alone, for the database tests: one cluster per test session.

It listens on the test port next to TEST_PORTS.postgres, because the shared
`lab` fixture (the whole stack) holds TEST_PORTS.postgres in the same session,
and these tests end sessions, lock tables and create databases, which must not
disturb the stand-in of that lab.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from syncwizard.lab import postgres
from syncwizard.lab.layout import TEST_PORTS, LabLayout

PG_TEST_PORTS = replace(TEST_PORTS, postgres=TEST_PORTS.postgres + 1)


@pytest.fixture(scope="session")
def pg_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabLayout]:
    """A running lab cluster with both sample databases and its pgpass; removed at the end."""
    layout = LabLayout(tmp_path_factory.mktemp("sw-pg") / "lab", PG_TEST_PORTS)
    try:
        postgres.ensure_cluster(layout)
        yield layout
    finally:
        postgres.remove_cluster(layout)
