"""The backup runbook against the real lab, while the repository keeps producing events."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from standin_support import eventually, restore
from test_backup_support import (
    BackupProcess,
    backup_env,
    is_state,
    lab_profile,
    limit_dump_file_size,
    no_backup_left_running,  # noqa: F401 (an autouse fixture)
    partial_files,
    run_backup,
    state_events,
    the_set,
)

from syncwizard.clients import pgtools
from syncwizard.config import broker_password
from syncwizard.lab import postgres
from syncwizard.lab.generator import generate
from syncwizard.lab.layout import LabLayout
from syncwizard.lab.node_events import NODE_REMOVED
from syncwizard.runbook import backupset
from syncwizard.runbook.backup.runbook import BackupOptions, resume_backup, start_backup
from syncwizard.runbook.engine import Engine
from syncwizard.runbook.journal import find_unfinished, load_run
from syncwizard.runbook.model import StepEvent, StepState

pytestmark = pytest.mark.integration


def engine_for(lab_config: Path, backup_dir: Path, events: list[StepEvent]) -> Engine:
    profile = lab_profile(lab_config, backup_dir)
    return start_backup(
        profile,
        BackupOptions.from_settings(profile.backup),
        broker_password=broker_password(profile.broker),
        observers=[events.append],
    )


def admin(lab: LabLayout, dbname: str = "postgres") -> psycopg.Connection:
    return psycopg.connect(postgres.superuser_conninfo(lab, dbname), autocommit=True)


@contextlib.contextmanager
def scratch_databases(lab: LabLayout, *names: str) -> Iterator[None]:
    with admin(lab) as conn:
        for name in names:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name}")
    try:
        yield
    finally:
        with admin(lab) as conn:
            for name in names:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def column(lab: LabLayout, dbname: str, query: str, *params: Any) -> set[Any]:
    with admin(lab, dbname) as conn:
        return {row[0] for row in conn.execute(query, params)}


async def test_a_backup_while_events_flow_holds_every_backed_up_node_in_the_sync_dump(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    await restore(lab)
    events: list[StepEvent] = []
    engine = engine_for(lab_config, tmp_path / "backups", events)
    generator = asyncio.create_task(generate(lab, rate=40, duration=6, seed=7))
    try:
        await asyncio.sleep(0.5)  # events are flowing before the repository dump starts
        outcome = await engine.run()
    finally:
        await engine.aclose()
        published = await generator
    assert outcome.status == "finished", outcome.error and outcome.error.render()
    set_dir = the_set(tmp_path / "backups")
    manifest = json.loads((set_dir / "manifest.json").read_text())
    report = await backupset.verify_set(set_dir)
    assert report.ok, report.problems
    assert report.files_checked == len(manifest["files"]) >= 4

    repo_dump, sync_dump = manifest["dumps"]
    t0 = repo_dump["snapshot_at"]
    # t0 is the database server's clock at the snapshot's export, just before this host's
    assert manifest["t0"]["at"] <= repo_dump["snapshot_at_iso"]
    assert datetime.fromisoformat(manifest["t0"]["at"]).timestamp() > t0 - 5
    assert manifest["queue_snapshots"]["t0"]["consumers"] >= 1
    assert manifest["wait"]["clause"] and sync_dump["snapshot_at"] > t0
    with scratch_databases(lab, "sw_backup_repo", "sw_backup_sync"):
        for dump, dbname in ((repo_dump, "sw_backup_repo"), (sync_dump, "sw_backup_sync")):
            await pgtools.run_pg_restore(
                postgres.superuser_conninfo(lab, dbname), set_dir / dump["path"], jobs=2
            )
        # the counts taken in our snapshot are exactly what pg_dump saw in it
        for table, rows in repo_dump["row_counts"].items():
            restored = column(lab, "sw_backup_repo", f"SELECT count(*) FROM {table}")
            assert restored == {rows}, table
        backed_up = column(lab, "sw_backup_repo", "SELECT uuid FROM alf_node WHERE NOT deleted")
        tracked = column(lab, "sw_backup_sync", "SELECT node_uuid FROM sync_node")
        removed_later = column(
            lab,
            "sw_backup_sync",
            "SELECT node_uuid FROM sync_event_log WHERE event_type = %s "
            "AND event_time > to_timestamp(%s)",
            NODE_REMOVED,
            t0 - 1,
        )
        after_t0 = column(
            lab,
            "sw_backup_sync",
            "SELECT message_id FROM sync_event_log WHERE event_time > to_timestamp(%s)",
            t0,
        )
    assert published >= 200 and after_t0, "events flowed while the backup ran"
    # every live node of the repository dump is in the Sync DB dump, unless the Sync
    # Service recorded its removal after t0 (a later change, reconciled by -Drecover)
    assert backed_up - tracked - removed_later == set()
    assert len(backed_up) > 2000
    await restore(lab)


async def test_the_database_going_away_mid_dump_fails_the_step_cleanly_and_a_resume_seals(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    await restore(lab)
    events: list[StepEvent] = []
    engine = engine_for(lab_config, tmp_path / "backups", events)
    assert await engine.run_step("preflight") == StepState.DONE
    set_dir = the_set(tmp_path / "backups")
    locker = admin(lab, "alfresco")
    locker.execute("BEGIN")
    locker.execute("LOCK TABLE alf_node_properties IN ACCESS EXCLUSIVE MODE")
    run = asyncio.create_task(engine.run())
    try:
        # pg_dump waits for the lock; its backend is then terminated, as if the server went
        with admin(lab) as watcher:

            def dump_backends() -> list[int]:
                return [
                    pid
                    for (pid,) in watcher.execute(
                        "SELECT pid FROM pg_stat_activity "
                        "WHERE application_name LIKE 'syncwizard-pg_dump-%%' "
                        "AND wait_event_type = 'Lock'"
                    )
                ]

            pids = await eventually(dump_backends, "pg_dump waiting on the lock")
            for pid in pids:
                watcher.execute("SELECT pg_terminate_backend(%s)", (pid,))
        outcome = await asyncio.wait_for(run, 30)
    finally:
        locker.execute("ROLLBACK")
        locker.close()
        await engine.aclose()
    assert (outcome.status, outcome.step_id) == ("failed", "repository_db")
    assert outcome.error is not None
    assert "repository database went away during the dump" in outcome.error.message
    assert "resumes at this step" in outcome.error.hint
    assert partial_files(set_dir) == [] and list(set_dir.iterdir()) == []
    record = load_run(engine.journal.run_dir)
    assert record.status() == "failed" and record.stopped_at == "repository_db"

    # the database is back: running again resumes at the dump and seals the set
    profile = lab_profile(lab_config, tmp_path / "backups")
    unfinished = find_unfinished("backup")
    assert unfinished is not None and unfinished.run_id == record.run_id
    resumed = await resume_backup(
        unfinished, profile, broker_password=broker_password(profile.broker)
    )
    try:
        assert (await resumed.run()).status == "finished"
    finally:
        await resumed.aclose()
    assert (await backupset.verify_set(set_dir)).ok


def _fill(folder: Path, leave: int) -> Path:
    """Take the folder's free space down to `leave` bytes with one allocated file."""
    filler = folder / "filler"
    stats = os.statvfs(folder)
    size = stats.f_bavail * stats.f_frsize - leave
    with filler.open("wb") as handle:
        os.posix_fallocate(handle.fileno(), 0, size)
    return filler


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small-disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(
            "the kernel refused to mount a small tmpfs here "
            f"({done.stderr.strip()}); test_a_size_limit_on_the_dump_is_a_clear_error "
            "covers the same code path with a file size limit"
        )
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


async def test_a_full_backup_folder_is_refused_by_preflight_or_fails_the_dump_unsealed(
    lab: LabLayout, lab_config: Path, small_disk: Path
) -> None:
    await restore(lab)
    backups = small_disk / "backups"
    events: list[StepEvent] = []
    engine = engine_for(lab_config, backups, events)
    try:
        filler = _fill(small_disk, leave=64 * 1024)
        assert await engine.run_step("preflight") == StepState.FAILED
        error = engine.errors["preflight"]
        assert "MB free; the dumps need about" in error.message and "free space" in error.hint
        filler.unlink()
        assert await engine.run_step("preflight") == StepState.DONE
        _fill(small_disk, leave=24 * 1024)  # something else fills the disk meanwhile
        outcome = await engine.run()
    finally:
        await engine.aclose()
    assert (outcome.status, outcome.step_id) == ("failed", "repository_db")
    assert outcome.error is not None and outcome.error.system == "backup_dir"
    assert f"the backup folder {the_set(backups)} is full" in outcome.error.message
    assert "No space left on device" in outcome.error.message
    assert partial_files(backups) == [] and list(the_set(backups).iterdir()) == []


async def test_a_size_limit_on_the_dump_is_a_clear_error(
    lab: LabLayout, lab_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The full-disk code path without a mount: pg_dump may write files of 20 kB at most."""
    await restore(lab)
    limit_dump_file_size(monkeypatch, ("pg_dump",))
    engine = engine_for(lab_config, tmp_path / "backups", [])
    try:
        outcome = await engine.run()
    finally:
        await engine.aclose()
    assert (outcome.status, outcome.step_id) == ("failed", "repository_db")
    assert outcome.error is not None and "is full" in outcome.error.message
    assert "File too large" in outcome.error.message
    set_dir = the_set(tmp_path / "backups")
    assert partial_files(set_dir) == [] and not (set_dir / "manifest.json").exists()


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syncwizard", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


async def test_a_run_whose_folder_changed_is_abandoned_with_a_warning_and_a_fresh_one_seals(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    await restore(lab)
    backups = tmp_path / "backups"
    env = backup_env(lab_config, backups)
    child = BackupProcess(env)  # killed just before it seals
    child.until(is_state("sync_db", "done"))
    child.kill9()
    first = the_set(backups)
    data_file = next((first / "repository_db.dump").glob("*.dat.gz"))
    content = bytearray(data_file.read_bytes())
    content[-10] ^= 0xFF  # one byte, same size: a clean-up or a bad disk
    data_file.write_bytes(bytes(content))

    # What cron runs, night after night: it must not stay stuck on the run it cannot resume.
    code, events, stderr = run_backup(env, "--wait", "countdown", "--countdown", "1s")
    assert code == 0, stderr
    warning, started = events[0], events[1]
    assert warning["kind"] == "warning" and warning["run_id"] == first.name
    assert f"run {first.name} cannot be resumed" in warning["message"]
    assert "does not match its recorded sha256" in warning["message"]
    assert f"It is abandoned (its files stay in {first})" in warning["message"]
    assert "a fresh run starts" in warning["message"]
    assert started["kind"] == "run_started" and started["run_id"] != first.name
    assert data_file.read_bytes() == bytes(content)  # nothing of the old run was removed
    assert not (first / "manifest.json").exists()
    abandoned = load_run(Path(os.environ["SYNCWIZARD_STATE_DIR"]) / "runs" / first.name)
    assert abandoned.outcome == "abandoned"
    runs = json.loads(cli("runs", "--json", env=env).stdout)
    assert [(r["run_id"], r["status"]) for r in runs] == [
        (started["run_id"], "finished"),
        (first.name, "abandoned"),
    ]
    second = Path(runs[0]["backup_set"])
    assert cli("verify", str(second), env=env).returncode == 0

    (next((second / "sync_db.dump").glob("*.dat.gz"))).unlink()
    checked = cli("verify", str(second), "--json", env=env)
    assert checked.returncode == 1
    assert any("is missing" in p for p in json.loads(checked.stdout)["problems"])
    assert cli("verify", str(first), env=env).returncode == 2  # no manifest: not a set
    assert cli("backup", env=env).returncode == 2  # headless needs --yes


async def test_new_gives_up_an_unfinished_run_that_could_be_resumed(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    await restore(lab)
    backups = tmp_path / "backups"
    env = backup_env(lab_config, backups)
    child = BackupProcess(env)
    child.until(is_state("preflight", "done"))
    child.kill9()
    code, events, stderr = run_backup(env, "--new", "--wait", "countdown", "--countdown", "1s")
    assert code == 0, stderr
    assert events[0]["kind"] == "run_abandoned" and "--new" in events[0]["message"]
    (waited,) = state_events(events, "wait_drain", "done")
    assert waited["data"]["mode"] == "countdown" and "the doc's countdown" in waited["message"]
    runs = json.loads(cli("runs", "--json", env=env).stdout)
    assert [r["status"] for r in runs] == ["finished", "abandoned"]
