"""The practice lab's MariaDB part alone, on the test ports (SYNCWIZARD_TEST_PORT_OFFSET
shifts them), for the MySQL/MariaDB client tests. Real server only: without Debian's
mariadb-server the session fails with the command to run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from syncwizard.lab import mariadb
from syncwizard.lab.layout import TEST_PORTS, LabLayout


@pytest.fixture(scope="session")
def mariadb_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabLayout]:
    layout = LabLayout(tmp_path_factory.mktemp("sw-mariadb") / "lab", TEST_PORTS)
    try:
        mariadb.ensure_server(layout)
        yield layout
    finally:
        mariadb.remove(layout)
