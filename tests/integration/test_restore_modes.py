"""Restores of the other kinds of set, against the lab: a Sync Service sharing the repository
database (one restore covers both), and a repository backed up outside syncwizard. And the
old database kept aside, dropped afterwards behind its own gate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest
from standin_support import admin_password, restore
from test_backup_support import FAST
from test_restore import databases

from syncwizard.config import Profile, broker_password, load_settings
from syncwizard.lab import postgres, standin
from syncwizard.lab.layout import LabLayout
from syncwizard.runbook.backup.runbook import BackupOptions, parse_attested_time, start_backup
from syncwizard.runbook.journal import load_run
from syncwizard.runbook.model import Gate, StepState
from syncwizard.runbook.report import render_report
from syncwizard.runbook.restore.database_steps import SHARED_NOTE
from syncwizard.runbook.restore.runbook import RestoreChoices, drop_aside, start_restore

pytestmark = pytest.mark.integration


def profile_with(lab_config: Path, backup_dir: Path, **environ: str) -> Profile:
    environ = {"SYNCWIZARD_BACKUP__DIR": str(backup_dir), **FAST, **environ}
    return load_settings(lab_config, "lab", environ=environ).profile


async def backup(profile: Profile, options: BackupOptions | None = None) -> Path:
    engine = start_backup(
        profile,
        options or BackupOptions.from_settings(profile.backup),
        broker_password=broker_password(profile.broker),
    )
    try:
        outcome = await engine.run()
    finally:
        await engine.aclose()
    assert outcome.status == "finished", outcome.error and outcome.error.render()
    return Path(engine.results["seal"]["backup_set"])


async def restore_all(
    profile: Profile, set_dir: Path, lab: LabLayout
) -> tuple[dict[str, Any], list[Gate]]:
    gates: list[Gate] = []

    async def confirm(gate: Gate) -> bool:
        gates.append(gate)
        return True

    choices = RestoreChoices("clear", "admin", admin_password(lab), plain_restart=False)
    engine = start_restore(
        profile, set_dir, choices, broker_password=broker_password(profile.broker), confirm=confirm
    )
    try:
        outcome = await engine.run()
    finally:
        await engine.aclose()
    assert outcome.status == "finished", outcome.error and outcome.error.render()
    return {"engine": engine, "run_dir": engine.journal.run_dir}, gates


async def test_a_shared_database_is_restored_once_and_the_sync_steps_say_why(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    await restore(lab)
    shared = profile_with(
        lab_config,
        tmp_path / "backups",
        SYNCWIZARD_SYNC_DB__CONNINFO=postgres.conninfo(lab, "repository"),
    )
    set_dir = await backup(shared)
    standin.stop(lab)
    run, gates = await restore_all(shared, set_dir, lab)
    engine = run["engine"]
    for step in ("restore_sync", "swap_sync"):
        assert engine.states[step] == StepState.SKIPPED
        assert engine.results[step]["reason"] == SHARED_NOTE
    assert [gate.token for gate in gates].count("alfresco") == 1
    assert "syncservice" not in [gate.token for gate in gates]
    assert postgres.node_drift(lab).in_sync

    # the old copy stays aside until the admin drops it, which the run's report then tells
    aside = engine.results["swap_repository"]["aside"]
    assert aside in databases(lab)
    assert await drop_aside(run["run_dir"], shared, "repository_db") == aside
    assert aside not in databases(lab)
    record = load_run(Path(run["run_dir"]))
    assert record.records["swap_repository"]["dropped_aside"]["database"] == aside
    assert "dropped" in render_report(record).lower()
    await restore(lab)


async def test_an_external_repository_backup_is_attested_not_restored(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    await restore(lab)
    profile = profile_with(lab_config, tmp_path / "backups")
    with psycopg.connect(postgres.superuser_conninfo(lab)) as conn:
        taken = conn.execute("SELECT to_char(now(), 'YYYY-MM-DD\"T\"HH24:MI:SSOF')").fetchone()[0]  # type: ignore[index]
    options = BackupOptions.from_settings(
        profile.backup, external_repository_at=parse_attested_time(f"{taken}:00")
    )
    set_dir = await backup(profile, options)
    standin.stop(lab)
    run, gates = await restore_all(profile, set_dir, lab)
    engine = run["engine"]
    assert engine.states["restore_repository"] == StepState.SKIPPED
    assert "outside syncwizard" in engine.results["restore_repository"]["reason"]
    attest = next(gate for gate in gates if gate.token == "restored")
    assert "external backup" in attest.title
    assert engine.states["swap_sync"] == StepState.DONE
    await restore(lab)
