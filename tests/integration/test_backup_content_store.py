"""The rest of the repository, against the real lab: the set records the content store
backup taken with it (a command of the admin's, run after t0), a failing one leaves the set
unsealed and resumable, and the restore asks for the content store and the search index
before the repository starts, naming what the set recorded."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import psycopg
import pytest
from standin_support import restore
from test_backup_support import lab_profile, the_set

from syncwizard.config import Profile, broker_password
from syncwizard.lab import postgres
from syncwizard.lab.layout import LabLayout
from syncwizard.runbook.backup.runbook import BackupOptions, resume_backup, start_backup
from syncwizard.runbook.journal import find_unfinished
from syncwizard.runbook.model import StepState
from syncwizard.runbook.restore.runbook import RestoreChoices, start_restore
from syncwizard.runbook.restore.state import OfflineContext

pytestmark = pytest.mark.integration

LAB_REPOSITORY_VERSION = "23.2.1 (r4c3e8f1d-b12) - Enterprise"  # the lab's alf_applied_patch


def with_content_store(profile: Profile, command: str) -> Profile:
    return replace(profile, backup=replace(profile.backup, content_store=command))


async def backup(profile: Profile) -> str:
    engine = start_backup(
        profile,
        BackupOptions.from_settings(profile.backup),
        broker_password=broker_password(profile.broker),
    )
    try:
        outcome = await engine.run()
    finally:
        await engine.aclose()
    return outcome.status


async def test_the_set_records_the_content_store_backup_run_after_t0_and_the_restore_names_it(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    await restore(lab)
    copy, seen = tmp_path / "contentstore-copy", tmp_path / "seen.txt"
    command = f'mkdir -p {copy} && echo "$SYNCWIZARD_SET_NAME $SYNCWIZARD_T0" > {seen}'
    profile = with_content_store(lab_profile(lab_config, tmp_path / "backups"), command)
    assert await backup(profile) == "finished"
    set_dir = the_set(tmp_path / "backups")
    manifest = json.loads((set_dir / "manifest.json").read_text())
    store = manifest["content_store"]
    assert store["recorded"] and store["command"] == command
    t0 = manifest["t0"]["at"]
    assert seen.read_text().split() == [set_dir.name, t0]  # told which set, and its t0
    assert datetime.fromisoformat(store["started_at"]) > datetime.fromisoformat(t0)
    assert manifest["versions"]["sync_service"], "the Sync Service's version is recorded"
    assert manifest["versions"]["repository"] == LAB_REPOSITORY_VERSION

    run = start_restore(
        profile,
        set_dir,
        RestoreChoices("clear", plain_restart=False),
        broker_password=broker_password(profile.broker),
    )
    try:  # the gate the repository's start asks, as the restore builds it from the set
        step = run.runbook.step("start_repository")
        assert step.gate is not None
        gates = await step.gate(OfflineContext(run.run_id))
    finally:
        await run.aclose()
    assert isinstance(gates, tuple)
    assert gates[0].title == "Are the content store and the search index restored to match?"
    facts = dict(gates[0].facts)
    assert command in facts["content store"] and store["started_at"] in facts["content store"]
    assert t0 in facts["search index"]


async def test_the_restore_warns_when_the_repository_database_is_of_another_version_now(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    await restore(lab)
    profile = lab_profile(lab_config, tmp_path / "backups")
    assert await backup(profile) == "finished"
    set_dir = the_set(tmp_path / "backups")
    upgraded = "25.1.0 (r0a1b2c3d-b7) - Enterprise"
    with psycopg.connect(postgres.superuser_conninfo(lab, postgres.REPOSITORY_DB)) as conn:
        conn.execute(
            "INSERT INTO alf_applied_patch (id, applied_on_date, applied_to_server)"
            " VALUES ('patch.db-V25.1-Schema', now(), %s)",
            (upgraded,),
        )
    try:
        run = start_restore(
            profile,
            set_dir,
            RestoreChoices("clear", plain_restart=False),
            broker_password=broker_password(profile.broker),
        )
        try:
            assert await run.run_step("verify_set") == StepState.DONE
            assert await run.run_step("preflight") == StepState.DONE
        finally:
            await run.aclose()
    finally:
        with psycopg.connect(postgres.superuser_conninfo(lab, postgres.REPOSITORY_DB)) as conn:
            conn.execute("DELETE FROM alf_applied_patch WHERE id = 'patch.db-V25.1-Schema'")
    assert run.results["preflight"]["repository_version"] == upgraded
    (warning,) = [w for w in run.results["preflight"]["warnings"] if "Alfresco" in w]
    assert f"Alfresco {LAB_REPOSITORY_VERSION} when the set was taken" in warning
    assert f"by {upgraded} now" in warning


async def test_a_failing_content_store_command_leaves_the_set_unsealed_and_a_resume_seals(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    await restore(lab)
    flag = tmp_path / "disk-mounted"
    command = (
        f"test -e {flag} || {{ echo 'rsync: /mnt/backup: No such file or directory'; exit 23; }}"
    )
    profile = with_content_store(lab_profile(lab_config, tmp_path / "backups"), command)
    assert await backup(profile) == "failed"
    set_dir = the_set(tmp_path / "backups")
    assert not (set_dir / "manifest.json").exists()
    record = find_unfinished("backup")
    assert record is not None
    error = json.dumps(record.last_error)
    assert "backup.content_store" in error and "exited with 23" in error
    assert "No such file or directory" in error

    flag.touch()  # the admin mounts the backup disk, and resumes
    engine = await resume_backup(record, profile, broker_password=broker_password(profile.broker))
    try:
        assert (await engine.run()).status == "finished"
    finally:
        await engine.aclose()
    assert json.loads((set_dir / "manifest.json").read_text())["content_store"]["recorded"]
