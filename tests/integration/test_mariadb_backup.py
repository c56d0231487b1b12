"""A whole backup on the `lab-mariadb` profile: both databases on the lab's MariaDB, the
broker, the health check and the Sync Service stand-in the lab's (the stand-in writes to
PostgreSQL, so the drain wait works on the broker as on the `lab` profile)."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from mariadb_profile import mariadb_config, run_backup_on
from standin_support import restore
from test_backup_support import (
    BackupProcess,
    Event,
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

from syncwizard.clients.mysql_conn import CLIENTS, run_sql, tool_path
from syncwizard.clients.mysql_restore import exact_counts
from syncwizard.config import broker_password, load_settings
from syncwizard.errors import SyncWizardError
from syncwizard.lab import mariadb, stack
from syncwizard.lab.layout import LabLayout
from syncwizard.runbook import backupset
from syncwizard.runbook.journal import runs_dir
from syncwizard.runbook.restore.choices import RestoreChoices
from syncwizard.runbook.restore.runbook import start_restore
from syncwizard.status import StatusPoller
from syncwizard.status_text import render_status

pytestmark = pytest.mark.integration


async def live_counts(mariadb_lab: LabLayout, which: str) -> dict[str, int]:
    target = mariadb.target(mariadb_lab, which)  # type: ignore[arg-type]
    tables = await run_sql(
        target,
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
        "AND TABLE_TYPE = 'BASE TABLE';",
    )
    return await exact_counts(target, target.database, [str(row[0]) for row in tables])


def restore_with_bare_client(mariadb_lab: LabLayout, dump: Path, scratch: str) -> None:
    """`mariadb <scratch> < dump`, as an admin would, over the admin's socket login."""
    admin = mariadb.admin_target(mariadb_lab)
    asyncio.run(
        run_sql(admin, f"DROP DATABASE IF EXISTS `{scratch}`; CREATE DATABASE `{scratch}`;")
    )
    with dump.open("rb") as stdin:
        subprocess.run(
            [
                str(tool_path(CLIENTS)),
                f"--socket={admin.socket}",
                f"--user={admin.user}",
                scratch,
            ],
            stdin=stdin,
            check=True,
            timeout=120,
            capture_output=True,
        )


async def test_a_backup_on_the_mariadb_profile_seals_sql_dumps_with_the_exact_row_counts(
    lab: LabLayout, lab_config: Path, mariadb_lab: LabLayout, tmp_path: Path
) -> None:
    await restore(lab)
    backups = tmp_path / "backups"
    outcome = await run_backup_on(lab, mariadb_lab, tmp_path)
    assert outcome.status == "finished", outcome.error and outcome.error.render()

    set_dir = the_set(backups)
    report = await backupset.verify_set(set_dir)
    assert report.ok, report.problems
    # A byte changed in a copy, the size and the rows as they were: the sha256 says so.
    copy = shutil.copytree(set_dir, tmp_path / "copy")
    dumped = (copy / "repository_db.sql").read_bytes()
    at = dumped.index(b"'", dumped.index(b"INSERT INTO")) + 1
    (copy / "repository_db.sql").write_bytes(dumped[:at] + b"#" + dumped[at + 1 :])
    assert (await backupset.verify_set(copy)).problems == [
        "repository_db.sql does not match its recorded sha256"
    ]
    manifest = json.loads((set_dir / "manifest.json").read_text())
    dumps = {dump["path"]: dump for dump in manifest["dumps"]}
    assert set(dumps) == {"repository_db.sql", "sync_db.sql"}
    assert sorted(p.name for p in set_dir.iterdir()) == [
        "manifest.json",
        "repository_db.sql",
        "sync_db.sql",
    ]
    repository = dumps["repository_db.sql"]
    # t0 is the repository dump's start; the Sync DB dump was taken after the wait.
    assert manifest["t0"]["at"] == repository["snapshot_at_iso"]
    assert dumps["sync_db.sql"]["snapshot_at"] > manifest["wait"]["drained_at"]
    assert manifest["wait"]["mode"] == "drain"
    assert manifest["databases"]["repository_db"]["flavour"] == "mariadb"
    # the repository's version, as its alf_applied_patch records it (the lab's sample)
    assert manifest["versions"]["repository"] == "23.2.1 (r4c3e8f1d-b12) - Enterprise"
    for name, which in (("repository_db.sql", "repository"), ("sync_db.sql", "sync")):
        dump = dumps[name]
        assert dump["format"] == "sql"
        assert dump["flavour"] == "mariadb"
        assert "MariaDB" in dump["server_version"]
        live = await live_counts(mariadb_lab, which)
        assert sum(live.values()) > 0
        assert dump["row_counts"] == live
        # Restorable by the bare client, with the same rows.
        scratch = f"sw_scratch_{which}"
        await asyncio.to_thread(restore_with_bare_client, mariadb_lab, set_dir / name, scratch)
        try:
            admin = mariadb.admin_target(mariadb_lab)
            assert await exact_counts(admin, scratch, sorted(live)) == live
        finally:
            await run_sql(mariadb.admin_target(mariadb_lab), f"DROP DATABASE `{scratch}`;")
    # Onto the PostgreSQL `lab` profile it is refused before anything is written.
    profile = lab_profile(lab_config, tmp_path)
    runs = sorted(runs_dir().iterdir()) if runs_dir().exists() else []
    with pytest.raises(SyncWizardError) as refused:
        start_restore(profile, set_dir, RestoreChoices(), broker_password=None)
    assert (
        "repository_db.sql is a MySQL/MariaDB dump, and profile 'lab' has repository_db on "
        "PostgreSQL" in refused.value.message
    )
    assert "nothing was done" in refused.value.message
    assert "choose the profile of the installation" in (refused.value.hint or "")
    assert (sorted(runs_dir().iterdir()) if runs_dir().exists() else []) == runs
    for user in ("alfresco", "sync"):  # the passwords are in no file of the set
        secret = mariadb.password_file(mariadb_lab, user).read_text().strip()
        for path in set_dir.iterdir():
            assert secret.encode() not in path.read_bytes()


async def test_a_full_disk_under_mariadb_dump_is_a_clear_error(
    lab: LabLayout,
    mariadb_lab: LabLayout,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The full-disk code path without a mount: mariadb-dump may write files of 20 kB at
    most, and says no more than `Got errno 27 on write`; the wizard names the folder."""
    await restore(lab)
    limit_dump_file_size(monkeypatch, ("mariadb-dump", "mysqldump"))
    outcome = await run_backup_on(lab, mariadb_lab, tmp_path)
    assert (outcome.status, outcome.step_id) == ("failed", "repository_db")
    error = outcome.error
    assert error is not None and error.system == "backup_dir"
    set_dir = the_set(tmp_path / "backups")
    assert f"the backup folder {set_dir} is full: the repository database dump" in error.message
    assert "errno 27 on write (File too large)" in error.message
    assert "free space there" in (error.hint or "")
    assert partial_files(set_dir) == [] and list(set_dir.iterdir()) == []


async def test_a_shared_mariadb_database_is_refused_in_preflight_with_what_to_do(
    lab: LabLayout, mariadb_lab: LabLayout, tmp_path: Path
) -> None:
    repository = stack.mariadb_db_sections(mariadb_lab)["repository_db"]
    outcome = await run_backup_on(
        lab,
        mariadb_lab,
        tmp_path,
        SYNCWIZARD_SYNC_DB__CONNINFO=str(repository["conninfo"]),
        SYNCWIZARD_SYNC_DB__PASSWORD_FILE=str(repository["password_file"]),
    )
    assert outcome.status == "failed" and outcome.error is not None
    text = outcome.error.render()
    assert "the Sync Service shares the repository's MySQL/MariaDB database" in text
    assert "--external-repository-backup" in text
    assert not (tmp_path / "backups").exists()  # nothing was created


async def test_a_view_in_a_mariadb_database_is_refused_in_preflight_naming_it(
    lab: LabLayout, mariadb_lab: LabLayout, tmp_path: Path
) -> None:
    admin = mariadb.admin_target(mariadb_lab, "syncservice")
    await run_sql(admin, "CREATE OR REPLACE VIEW sw_test_view AS SELECT 1 AS one;")
    try:
        outcome = await run_backup_on(lab, mariadb_lab, tmp_path)
    finally:
        await run_sql(admin, "DROP VIEW IF EXISTS sw_test_view;")
    assert outcome.status == "failed" and outcome.error is not None
    text = outcome.error.render()
    assert "'syncservice'" in text and "1 view (sw_test_view)" in text
    assert "does not back them up on MySQL/MariaDB yet" in text
    assert not (tmp_path / "backups").exists()


async def test_the_status_of_the_mariadb_profile_shows_its_databases(
    lab: LabLayout, mariadb_lab: LabLayout, tmp_path: Path
) -> None:
    config = mariadb_config(lab, mariadb_lab, tmp_path / "config.toml")
    profile = load_settings(config, stack.MARIADB_PROFILE_NAME, environ={}).profile
    poller = StatusPoller(profile, broker_password(profile.broker))
    try:
        reports = [await poller.poll_system(role) for role in ("repository_db", "sync_db")]
    finally:
        await poller.aclose()
    for report, name in zip(reports, ("alfresco", "syncservice"), strict=True):
        assert not report.errors, [e.message for e in report.errors]
        (db,) = report.databases
        assert (db.facts.name, db.facts.product) == (name, "MariaDB")
        assert db.facts.size_bytes > 0 and db.facts.server_major >= 10
        text = render_status(report)
        assert f"{name}  MariaDB {db.facts.server_version}" in text


def mid_dump(step: str) -> Callable[[Event], bool]:
    """The dump tool of `step` has started (its pid is journaled): kill while it runs."""
    return lambda e: e["kind"] == "record" and e.get("step") == step and e["message"] == "child"


CUES = {
    "mid repository dump": (mid_dump("repository_db"), "repository_db"),
    "after the repository dump": (is_state("repository_db", "done"), "wait_drain"),
    "mid Sync DB dump": (mid_dump("sync_db"), "sync_db"),
}


@pytest.mark.parametrize("cue", list(CUES))
async def test_the_headless_backup_on_mariadb_killed_9_resumes_and_seals_a_correct_set(
    lab: LabLayout, mariadb_lab: LabLayout, tmp_path: Path, cue: str
) -> None:
    await restore(lab)
    wanted, resumes_at = CUES[cue]
    config = mariadb_config(lab, mariadb_lab, tmp_path / "config.toml")
    backups = tmp_path / "backups"
    env = backup_env(config, backups, SYNCWIZARD_PROFILE=stack.MARIADB_PROFILE_NAME)
    child = BackupProcess(env)
    await asyncio.to_thread(child.until, wanted)
    child.kill9()
    before = child.events
    code, after, stderr = await asyncio.to_thread(run_backup, env)
    assert code == 0, stderr
    assert after[0]["kind"] == "run_resumed" and after[0]["data"]["from_step"] == resumes_at
    for step in ("preflight", "repository_db", "wait_drain", "sync_db"):
        if state_events(before, step, "done"):  # finished before the kill: never redone
            assert not state_events(after, step, "running"), step
    set_dir = the_set(backups)
    report = await backupset.verify_set(set_dir)
    assert report.ok and not report.warnings, report.problems + report.warnings
    assert partial_files(backups) == []
    assert sorted(p.name for p in set_dir.iterdir()) == [
        "manifest.json",
        "repository_db.sql",
        "sync_db.sql",
    ]
    manifest = json.loads((set_dir / "manifest.json").read_text())
    for dump in manifest["dumps"]:
        which = "repository" if dump["path"] == "repository_db.sql" else "sync"
        assert dump["row_counts"] == await live_counts(mariadb_lab, which)
