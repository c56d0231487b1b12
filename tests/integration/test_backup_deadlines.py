"""A cron backup never hangs on PostgreSQL: `syncwizard backup --yes` as a child process, with
a wall-clock guard, against a table lock held by a migration and a database gone silent."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from silent_proxy import silent_proxy
from standin_support import restore
from test_backup_support import (
    BackupProcess,
    backup_env,
    is_state,
    no_backup_left_running,  # noqa: F401 (an autouse fixture)
    partial_files,
    state_events,
)

from syncwizard.lab import postgres
from syncwizard.lab.layout import LabLayout
from syncwizard.runbook.journal import list_runs

pytestmark = pytest.mark.integration

LOCK_TIMEOUT = 2.0
GUARD = 90.0  # the whole run, far above its bounds: only a missing one comes near it


async def test_a_cron_backup_blocked_by_a_migrations_lock_ends_at_the_bound_naming_the_lock(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    await restore(lab)
    backups = tmp_path / "backups"
    info = postgres.superuser_conninfo(lab, "alfresco") + " application_name=migration-42"
    with psycopg.connect(info, autocommit=True) as migration:
        migration.execute("BEGIN")
        migration.execute("LOCK TABLE alf_node_properties IN ACCESS EXCLUSIVE MODE")
        env = backup_env(
            lab_config, backups, SYNCWIZARD_REPOSITORY_DB__LOCK_TIMEOUT=str(LOCK_TIMEOUT)
        )
        child = BackupProcess(env)
        await asyncio.to_thread(child.until, is_state("repository_db", "running"), GUARD)
        dump_started = time.monotonic()
        code, stderr = await asyncio.to_thread(child.finish, GUARD)
        took = time.monotonic() - dump_started
        pid = migration.info.backend_pid
        migration.execute("ROLLBACK")

    assert code == 1, stderr  # refused, as a drain wait that ran out (exit status 1)
    assert took < LOCK_TIMEOUT + 15, f"the dump step took {took:.1f} s with a 2 s lock bound"
    (failed,) = state_events(child.events, "repository_db", "failed")
    error = failed["error"]
    assert error["refused"] is True and error["system"] == "repository_db"
    assert "waited 2 s (the bound set by repository_db.lock_timeout)" in error["message"]
    assert (
        "for a lock on table public.alf_node_properties in database 'alfresco'"
        in (error["message"])
    )
    assert f"session {pid} (user 'postgres', application 'migration-42')" in error["message"]
    assert f"SELECT pg_terminate_backend({pid})" in error["hint"]
    assert "the run resumes at this step" in error["hint"]
    assert "public.alf_node_properties" in stderr and "Traceback" not in stderr
    assert partial_files(backups) == []
    (run,) = list_runs()
    assert run.status() == "failed" and run.stopped_at == "repository_db"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_a_cron_backup_whose_databases_go_silent_after_the_login_exits_2_in_bounded_time(
    pg_lab: LabLayout, tmp_path: Path
) -> None:
    pgpass = tmp_path / "pgpass"  # the lab's passwords, for the proxy's port
    pgpass.write_text(
        "".join(
            f"127.0.0.1:*:*:{user}:{password}\n"
            for user, password in postgres.read_pgpass_passwords(pg_lab).items()
        )
    )
    pgpass.chmod(0o600)
    down = closed_port()
    # each session's first query (setting its timeouts) passes; the facts query is lost
    with silent_proxy(pg_lab.ports.postgres, "after_login", pass_queries=1) as proxy:
        config = tmp_path / "silent.toml"
        config.write_text(
            f"""
[profiles.silent.health]
url = "http://127.0.0.1:{down}/alfresco/healthcheck"
[profiles.silent.broker]
jolokia_url = "http://127.0.0.1:{down}/api/jolokia"
[profiles.silent.repository_db]
conninfo = "{proxy.conninfo("alfresco", "alfresco")}"
passfile = "{pgpass}"
timeout = 2
[profiles.silent.sync_db]
conninfo = "{proxy.conninfo("syncservice", "sync")}"
passfile = "{pgpass}"
timeout = 2
[profiles.silent.backup]
dir = "{tmp_path / "backups"}"
""",
            encoding="utf-8",
        )
        env = {
            **backup_env(config, tmp_path / "backups"),
            "SYNCWIZARD_PROFILE": "silent",
            "SYNCWIZARD_BROKER_PASSWORD": "pw",
        }
        started = time.monotonic()
        try:
            result = subprocess.run(
                [sys.executable, "-m", "syncwizard", "backup", "--yes"],
                capture_output=True,
                text=True,
                timeout=GUARD,
                env=env,
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"`syncwizard backup --yes` still ran after {GUARD:g} s")
        took = time.monotonic() - started

    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert took < 2 * 2 + 20  # two probes of 2 s each, and starting Python
    assert proxy.swallowed == 2
    for dbname, user, label in (
        ("alfresco", "alfresco", "repository"),
        ("syncservice", "sync", "sync"),
    ):
        assert (
            f"database '{dbname}' on 127.0.0.1:{proxy.port} as user '{user}' did not answer the "
            f"query for its facts (version, size, tables) within 2 s (the bound set by "
            f"{label}_db.timeout)"
        ) in output
    assert "Traceback" not in output
