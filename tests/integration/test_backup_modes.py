"""The backup's other paths against the lab: an external repository backup, preflight
problems, and Ctrl+C in the middle of a dump (a shared database: test_shared_database.py)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from standin_support import eventually, restore
from test_backup_support import (
    BackupProcess,
    backup_env,
    no_backup_left_running,  # noqa: F401 (an autouse fixture)
    partial_files,
    run_backup,
    state_events,
    the_set,
)

from syncwizard.lab import postgres
from syncwizard.lab.layout import LabLayout
from syncwizard.runbook import backupset
from syncwizard.runbook.journal import list_runs

pytestmark = pytest.mark.integration


async def test_an_external_repository_backup_is_attested_and_only_the_sync_db_dumped(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    await restore(lab)
    taken = datetime.fromtimestamp(time.time() - 30, UTC).isoformat(timespec="seconds")
    env = backup_env(lab_config, tmp_path / "backups")
    code, events, stderr = run_backup(env, "--external-repository-backup", taken)
    assert code == 0, stderr
    (repository,) = state_events(events, "repository_db", "done")
    assert repository["data"]["external"] is True
    assert "backed up externally" in repository["message"]
    waits = [e for e in events if e["kind"] == "progress" and e["step"] == "wait_drain"]
    assert "only 'queue empty' and 'oldest pending newer than t0' apply" in " ".join(
        waits[0]["detail"]["notes"]
    )
    set_dir = the_set(tmp_path / "backups")
    manifest = json.loads((set_dir / "manifest.json").read_text())
    assert [d["path"] for d in manifest["dumps"]] == ["sync_db.dump"]
    assert manifest["external_repository_backup"]["snapshot_at"].startswith(taken[:19])
    assert manifest["t0"]["source"] == "attested external backup"
    assert manifest["queue_snapshots"]["t0"] is None
    assert (await backupset.verify_set(set_dir)).ok


async def test_preflight_names_every_problem_with_its_fix_and_writes_nothing(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    await restore(lab)
    wrong = tmp_path / "broker-password"
    wrong.write_text("not-the-password\n")
    wrong.chmod(0o600)
    env = backup_env(
        lab_config,
        tmp_path / "backups",
        SYNCWIZARD_BROKER__PASSWORD_FILE=str(wrong),
        SYNCWIZARD_REPOSITORY_DB__CONNINFO=postgres.conninfo(lab, "repository").replace(
            f"port={lab.ports.postgres}", "port=1"
        ),
    )
    code, events, stderr = run_backup(env)
    assert code == 2
    assert "preflight found 2 problems" in stderr
    assert "rejected the user 'admin' (HTTP 401)" in stderr
    assert "repository database: nothing accepts connections" in stderr
    assert stderr.count("fix:") == 2 and "Traceback" not in stderr
    assert "not-the-password" not in stderr + json.dumps(events)
    (failed,) = state_events(events, "preflight", "failed")
    assert failed["error"]["refused"] is False
    assert not (tmp_path / "backups").exists()
    (run,) = list_runs()
    assert run.status() == "failed" and run.stopped_at == "preflight"


async def test_ctrl_c_mid_dump_kills_pg_dump_removes_its_files_and_journals_it(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    await restore(lab)
    backups = tmp_path / "backups"
    locker = psycopg.connect(postgres.superuser_conninfo(lab, "alfresco"), autocommit=True)
    locker.execute("BEGIN")
    locker.execute("LOCK TABLE alf_node IN ACCESS EXCLUSIVE MODE")  # pg_dump waits on it
    try:
        child = BackupProcess(backup_env(lab_config, backups))
        started = await asyncio.to_thread(
            child.until,
            lambda e: e["kind"] == "record" and e["message"] == "child",
        )
        pg_dump = started["data"]["pid"]
        partial = the_set(backups) / "repository_db.dump.partial"
        await eventually(partial.exists, "pg_dump writing its partial dump", timeout=10)
        child.proc.send_signal(signal.SIGINT)
        code, stderr = await asyncio.to_thread(child.finish, 30)
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert code == 130 and "interrupted" in stderr and "Traceback" not in stderr
    assert state_events(child.events, "repository_db", "cancelled")
    await eventually(lambda: not Path(f"/proc/{pg_dump}").exists(), "pg_dump gone", timeout=5)
    assert partial_files(backups) == []
    (run,) = list_runs()
    assert run.status() == "cancelled" and run.stopped_at == "repository_db"
    assert os.listdir(the_set(backups)) == []
