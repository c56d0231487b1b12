"""Restores of the other kinds of set, against the lab: a repository backed up outside
syncwizard (a Sync Service sharing the repository database: test_shared_database.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from standin_support import admin_password, restore
from test_backup_support import FAST

from syncwizard.config import Profile, broker_password, load_settings
from syncwizard.lab import postgres, standin
from syncwizard.lab.layout import LabLayout
from syncwizard.runbook.backup.runbook import BackupOptions, parse_attested_time, start_backup
from syncwizard.runbook.model import Gate, StepState
from syncwizard.runbook.restore.runbook import RestoreChoices, start_restore
from syncwizard.runbook.restore.systems import RestoreSystems

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
    profile: Profile,
    set_dir: Path,
    lab: LabLayout,
    at_gate: Callable[[Gate], Awaitable[None]] | None = None,
    systems: RestoreSystems | None = None,
) -> tuple[dict[str, Any], list[Gate]]:
    """The whole restore, every gate confirmed (`at_gate` looks at the systems first);
    over the profile's own systems unless `systems` are given."""
    gates: list[Gate] = []

    async def confirm(gate: Gate) -> bool:
        gates.append(gate)
        if at_gate is not None:
            await at_gate(gate)
        return True

    choices = RestoreChoices("clear", "admin", admin_password(lab), plain_restart=False)
    engine = start_restore(
        profile,
        set_dir,
        choices,
        broker_password=broker_password(profile.broker),
        confirm=confirm,
        systems=systems,
    )
    try:
        outcome = await engine.run()
    finally:
        await engine.aclose()
    assert outcome.status == "finished", outcome.error and outcome.error.render()
    return {"engine": engine, "run_dir": engine.journal.run_dir}, gates


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


async def test_an_oracle_repository_is_never_connected_to_its_backup_attested_and_confirmed(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    await restore(lab)
    # db.invalid resolves nowhere: any attempt to connect to it would fail the run.
    oracle = {
        "SYNCWIZARD_REPOSITORY_DB__CONNINFO": "oracle://db.invalid:1521/ALFRESCO",
        "SYNCWIZARD_REPOSITORY_DB__PASSFILE": "",  # the lab's is for its PostgreSQL
    }
    profile = profile_with(lab_config, tmp_path / "backups", **oracle)
    assert profile.repository_db.engine == "external"
    unattested = start_backup(
        profile,
        BackupOptions.from_settings(profile.backup),
        broker_password=broker_password(profile.broker),
    )
    try:
        outcome = await unattested.run()
    finally:
        await unattested.aclose()
    assert outcome.status == "failed" and outcome.error is not None
    text = outcome.error.render()
    assert "the repository DB is on Oracle (oracle://db.invalid:1521/ALFRESCO)" in text
    assert "--external-repository-backup" in text
    options = BackupOptions.from_settings(
        profile.backup, external_repository_at=parse_attested_time("2026-01-01T00:00:00+00:00")
    )
    set_dir = await backup(profile, options)
    assert sorted(p.name for p in set_dir.iterdir()) == ["manifest.json", "sync_db.dump"]
    standin.stop(lab)
    run, gates = await restore_all(profile, set_dir, lab)
    engine = run["engine"]
    assert "repository_db" not in engine.results["preflight"]["databases"]
    assert engine.states["restore_repository"] == StepState.SKIPPED
    attest = next(gate for gate in gates if gate.token == "restored")
    assert "external backup" in attest.title
    assert engine.states["swap_sync"] == StepState.DONE
    await restore(lab)
