"""A Sync Service keeping its tables in the repository database (compose's layout), on the lab
brought into that layout (`lab up --shared-db`): the procedure's order still holds. The
repository's tables are dumped at t0 without the Sync Service's, the Sync Service's after the
wait; the restore puts both dumps into one scratch database and swaps it in once."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from standin_support import admin_password, eventually, restore
from test_restore import databases
from test_restore_modes import backup, profile_with, restore_all

from syncwizard.config import Profile, broker_password
from syncwizard.lab import postgres, repository_control, standin
from syncwizard.lab.layout import LabLayout, read_settings, write_settings
from syncwizard.runbook import backupset
from syncwizard.runbook.backup.runbook import BackupOptions, start_backup
from syncwizard.runbook.journal import load_run
from syncwizard.runbook.model import Gate, StepState
from syncwizard.runbook.report import render_report
from syncwizard.runbook.restore.database_steps import SPLIT_NOTE
from syncwizard.runbook.restore.runbook import RestoreChoices, drop_aside, start_restore
from syncwizard.runbook.restore.sets import order_problem

pytestmark = pytest.mark.integration

SYNC_TABLES = {
    "public.sync_event_log",
    "public.sync_node",
    "public.sync_recovery",
    "public.sync_service_id",
}


async def _into_layout(lab: LabLayout, *, shared: bool) -> None:
    standin.stop(lab)
    write_settings(lab, replace(read_settings(lab), shared_db=shared))
    postgres.ensure_cluster(lab)  # the Sync tables in the repository database, once
    await restore(lab)  # the stand-in on its tables (a recover start if they drifted)


@pytest.fixture
async def shared_lab(lab: LabLayout) -> AsyncIterator[LabLayout]:
    await _into_layout(lab, shared=True)
    try:
        yield lab
    finally:
        await _into_layout(lab, shared=False)


def shared_profile(lab: LabLayout, lab_config: Path, backup_dir: Path) -> Profile:
    return profile_with(
        lab_config, backup_dir, SYNCWIZARD_SYNC_DB__CONNINFO=postgres.conninfo(lab, "repository")
    )


def sync_tables_behind(lab: LabLayout) -> list[str]:
    """Live repository nodes the Sync tables do not know, and not because they saw the node
    removed later: what a Sync DB older than the repository's would lack."""
    with psycopg.connect(postgres.superuser_conninfo(lab, postgres.REPOSITORY_DB)) as conn:
        rows = conn.execute(
            "SELECT n.uuid::text FROM alf_node n WHERE NOT n.deleted"
            " AND NOT EXISTS (SELECT 1 FROM sync_node s WHERE s.node_uuid = n.uuid)"
            " AND NOT EXISTS (SELECT 1 FROM sync_event_log e"
            "   WHERE e.node_uuid = n.uuid AND e.event_type = 'NODEREMOVED')"
        ).fetchall()
    return [row[0] for row in rows]


async def test_the_repository_tables_are_dumped_at_t0_and_the_sync_tables_after_the_wait(
    shared_lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    lab = shared_lab
    profile = shared_profile(lab, lab_config, tmp_path / "backups")
    repository_control.set_rate(lab, 20)  # the repository keeps changing through the backup
    try:
        set_dir = await backup(profile)
    finally:
        repository_control.set_rate(lab, 0)
    manifest = backupset.read_manifest(set_dir)
    assert manifest["shared_database"] is True
    repository, sync = manifest["dumps"]
    assert (repository["path"], repository["roles"]) == ("repository_db.dump", ["repository_db"])
    assert (sync["path"], sync["roles"]) == ("sync_db.dump", ["sync_db"])
    assert repository["database"] == sync["database"] == postgres.REPOSITORY_DB
    # Each table in exactly one of the two dumps: the Sync Service's in the later one.
    assert set(sync["row_counts"]) == SYNC_TABLES
    assert not SYNC_TABLES & set(repository["row_counts"])
    assert "public.alf_node" in repository["row_counts"]
    assert manifest["sync_objects"]["sequences"]  # their serials' sequences go with them
    assert manifest["t0"]["source"] == "repository dump's snapshot"
    assert sync["snapshot_at_iso"] > repository["snapshot_at_iso"]
    assert order_problem(manifest) == ""
    assert (await backupset.verify_set(set_dir)).ok

    # The restore: both dumps into one scratch database, swapped in once; -Drecover then
    # only removes what the Sync tables hold beyond the repository (nothing is missing).
    standin.stop(lab)
    behind: list[list[str]] = []

    async def look_before_the_repository_starts(gate: Gate) -> None:
        if gate.token == "restored":  # swapped in; the repository and Sync still stopped
            behind.append(sync_tables_behind(lab))

    run, gates = await restore_all(profile, set_dir, lab, look_before_the_repository_starts)
    engine = run["engine"]
    assert behind == [[]], "the Sync tables were older than the repository's"
    restored = engine.results["restore_repository"]
    assert restored["tables"] == len(repository["row_counts"]) + len(SYNC_TABLES)
    assert "repository_db.dump then sync_db.dump" in restored["summary"]
    for step in ("restore_sync", "swap_sync"):
        assert engine.states[step] == StepState.SKIPPED
        assert engine.results[step]["reason"] == SPLIT_NOTE
    assert [gate.token for gate in gates].count(postgres.REPOSITORY_DB) == 1
    await eventually(lambda: postgres.node_drift(lab).in_sync, "no drift after the recover")

    # the old copy stays aside until the admin drops it, which the run's report then tells
    aside = engine.results["swap_repository"]["aside"]
    assert aside in databases(lab)
    assert await drop_aside(run["run_dir"], profile, "repository_db") == aside
    assert aside not in databases(lab)
    record = load_run(Path(run["run_dir"]))
    assert record.records["swap_repository"]["dropped_aside"]["database"] == aside
    assert "dropped" in render_report(record).lower()


async def test_a_set_whose_sync_tables_were_dumped_first_is_refused_before_anything_changes(
    shared_lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    lab = shared_lab
    profile = shared_profile(lab, lab_config, tmp_path / "backups")
    set_dir = await backup(profile)
    manifest_file = set_dir / backupset.MANIFEST_NAME
    manifest = json.loads(manifest_file.read_text())
    repository, sync = manifest["dumps"]
    repository["snapshot_at_iso"], sync["snapshot_at_iso"] = (
        sync["snapshot_at_iso"],
        repository["snapshot_at_iso"],
    )
    manifest_file.write_text(json.dumps(manifest))
    before = databases(lab)
    choices = RestoreChoices("clear", "admin", admin_password(lab), plain_restart=False)
    engine = start_restore(
        profile, set_dir, choices, broker_password=broker_password(profile.broker)
    )
    try:
        outcome = await engine.run()
    finally:
        await engine.aclose()
    assert (outcome.status, outcome.step_id) == ("failed", "verify_set")
    assert outcome.error is not None
    assert "was not taken after the repository backup" in outcome.error.render()
    assert databases(lab) == before and standin.is_running(lab)


async def test_a_shared_database_without_sync_tables_is_refused_in_preflight(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    await restore(lab)
    empty = "sync_nowhere"
    with psycopg.connect(postgres.superuser_conninfo(lab), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {empty}")
        admin.execute(f"CREATE DATABASE {empty} OWNER {postgres.REPOSITORY_USER}")
    conninfo = postgres.conninfo(lab, "repository").replace(
        f"dbname={postgres.REPOSITORY_DB}", f"dbname={empty}"
    )
    profile = profile_with(
        lab_config,
        tmp_path / "backups",
        SYNCWIZARD_REPOSITORY_DB__CONNINFO=conninfo,
        SYNCWIZARD_SYNC_DB__CONNINFO=conninfo,
    )
    engine = start_backup(
        profile,
        BackupOptions.from_settings(profile.backup),
        broker_password=broker_password(profile.broker),
    )
    try:
        outcome = await engine.run()
    finally:
        await engine.aclose()
    assert outcome.status == "failed" and outcome.error is not None
    text = outcome.error.render()
    assert f"shares the repository database {empty!r}" in text
    assert "no table there is named like the Sync Service's" in text
    assert "sql.db.url" in text
    assert engine.states["repository_db"] != StepState.DONE
    assert not list((tmp_path / "backups").glob("*/*.dump"))
