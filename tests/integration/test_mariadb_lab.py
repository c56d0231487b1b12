"""The practice lab's MariaDB part: its own server on the lab's port, the same tables and
sample rows as the PostgreSQL lab, users with passwords kept private."""

from __future__ import annotations

import asyncio
import re
import socket
from importlib import resources

import pytest
from mariadb_support import counts, sql

from syncwizard.clients import mysql_facts
from syncwizard.clients.mysql_conn import run_sql
from syncwizard.errors import SyncWizardError
from syncwizard.lab import mariadb
from syncwizard.lab.layout import LabLayout

pytestmark = pytest.mark.integration


def postgres_tables(*files: str) -> set[str]:
    text = "".join(
        resources.files("syncwizard.lab").joinpath("sql", f).read_text("utf-8") for f in files
    )
    return set(re.findall(r"CREATE TABLE (\w+)", text))


async def test_the_databases_have_the_postgres_labs_tables_and_sample_rows(
    mariadb_lab: LabLayout,
) -> None:
    repo = await counts(mariadb_lab, mariadb.REPOSITORY_DB)
    sync = await counts(mariadb_lab, mariadb.SYNC_DB)
    assert set(repo) == postgres_tables("repository_schema.sql")
    assert set(sync) == postgres_tables("sync_schema.sql")
    assert repo == {"alf_node": 2000, "alf_node_properties": 8000, "alf_applied_patch": 2}
    # As in the PostgreSQL lab: the Sync DB tracks every live node, nothing else yet.
    assert sync == {
        "sync_node": 2000,
        "sync_event_log": 0,
        "sync_recovery": 0,
        "sync_service_id": 0,
    }
    live = await sql(
        mariadb_lab,
        "SELECT COUNT(*) FROM alfresco.alf_node n JOIN syncservice.sync_node s "
        "ON s.node_uuid = n.uuid WHERE NOT n.deleted;",
    )
    assert live == [("2000",)]


async def test_each_lab_user_logs_in_over_tcp_with_its_private_password(
    mariadb_lab: LabLayout,
) -> None:
    for which in ("repository", "sync"):
        target = mariadb.target(mariadb_lab, which)
        assert target.password_file is not None
        assert target.password_file.parent == mariadb_lab.secrets_dir
        assert target.password_file.stat().st_mode & 0o777 == 0o600
        facts = await mysql_facts.server_facts(target)
        assert facts.flavour == "mariadb" and (facts.major, facts.minor) >= (10, 6)
        db = await mysql_facts.database_facts(target)
        assert db.exists and db.charset == "utf8mb4" and db.tables


async def test_a_wrong_password_is_refused_with_the_user_named(
    mariadb_lab: LabLayout, tmp_path: pytest.TempPathFactory
) -> None:
    wrong = mariadb_lab.root / "wrong-password"
    wrong.write_text("not-the-password\n")
    wrong.chmod(0o600)
    from dataclasses import replace

    target = replace(mariadb.target(mariadb_lab, "repository"), password_file=wrong)
    with pytest.raises(SyncWizardError) as caught:
        await run_sql(target, "SELECT 1;")
    assert "Access denied for user 'alfresco'" in caught.value.message
    assert "not-the-password" not in caught.value.render()
    assert "password file" in caught.value.hint


def test_the_server_listens_on_the_labs_port_only_on_loopback(mariadb_lab: LabLayout) -> None:
    assert mariadb.is_running(mariadb_lab)
    port = mariadb_lab.ports.mariadb
    assert port != 3306
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        greeting = conn.recv(128)
    assert b"MariaDB" in greeting
    config = mariadb.server(mariadb_lab).config.read_text()
    assert "bind-address=127.0.0.1" in config and f"port={port}" in config


def test_ensure_server_again_starts_nothing_twice_and_keeps_the_passwords(
    mariadb_lab: LabLayout,
) -> None:
    pid = mariadb.server_pid(mariadb_lab)
    target = mariadb.target(mariadb_lab, "repository")
    assert target.password_file is not None
    password = target.password_file.read_text()
    mariadb.ensure_server(mariadb_lab)
    assert mariadb.server_pid(mariadb_lab) == pid
    assert target.password_file.read_text() == password


async def test_reseed_drops_what_restores_left_and_puts_the_sample_rows_back(
    mariadb_lab: LabLayout,
) -> None:
    seeded = await counts(mariadb_lab, "alfresco")
    await sql(
        mariadb_lab,
        "CREATE DATABASE `alfresco__before_20261206t010000z`;"
        "CREATE DATABASE `syncservice__restore_20261206t010000z`;"
        "DELETE FROM alfresco.alf_node_properties;",
    )
    assert await counts(mariadb_lab, "alfresco") != seeded
    dropped = await asyncio.to_thread(mariadb.reseed, mariadb_lab)
    assert dropped == ["alfresco__before_20261206t010000z", "syncservice__restore_20261206t010000z"]
    assert await counts(mariadb_lab, "alfresco") == seeded
    rows = await sql(mariadb_lab, "SHOW DATABASES LIKE '%\\_\\_%';")
    assert rows == []
