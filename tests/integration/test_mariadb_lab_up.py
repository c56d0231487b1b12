"""`syncwizard lab up --db mariadb`: the whole lab, with the lab's MariaDB beside the
PostgreSQL the stand-ins use; the choice is kept, `lab down` stops it too."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict

import pytest

from syncwizard.clients import mysql_facts
from syncwizard.lab import mariadb, postgres, stack
from syncwizard.lab.layout import TEST_PORTS, LabLayout, LabPorts, read_settings

pytestmark = pytest.mark.integration

# Its own ports: the session's `lab` may hold TEST_PORTS, the current lab 20 above them.
PORTS = LabPorts(**{name: port + 25 for name, port in asdict(TEST_PORTS).items()})


def test_lab_up_db_mariadb_runs_it_beside_keeps_the_choice_and_down_stops_it(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    layout = LabLayout(tmp_path_factory.mktemp("sw-lab-mariadb") / "lab", PORTS)
    try:
        settings = stack.up(layout, db="mariadb", produce_rate=0)
        assert settings.db == read_settings(layout).db == "mariadb"
        running = {part.name: part.running for part in stack.parts(layout)}
        assert running == {
            "postgres": True,
            "broker": True,
            "standin": True,
            "repository": True,
            "mariadb": True,
        }
        db = asyncio.run(mysql_facts.database_facts(mariadb.target(layout, "repository")))
        assert set(db.table_names) == {"alf_node", "alf_node_properties", "alf_applied_patch"}
        written = json.loads(mariadb.connection_file(layout).read_text())
        assert written["sync_db"]["port"] == PORTS.mariadb
        assert written["sync_db"]["database"] == "syncservice"
        for user in ("alfresco", "sync"):  # passwords by file only
            secret = mariadb.password_file(layout, user).read_text().strip()
            assert secret not in mariadb.connection_file(layout).read_text()
        # The profile keeps PostgreSQL: the stand-ins and the runbooks use it.
        sections = stack.profile_sections(layout, settings.topic)
        assert sections["repository_db"]["conninfo"] == postgres.conninfo(layout, "repository")
        again = stack.up(layout, produce_rate=0)  # no --db: kept
        assert again.db == "mariadb"
        assert "mariadb" in stack.down(layout)
        assert not mariadb.is_running(layout)
    finally:
        stack.down(layout)
        postgres.remove_cluster(layout)
        mariadb.remove(layout)
