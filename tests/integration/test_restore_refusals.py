"""Bad input during a restore, against the real lab: each gets a clear message and nothing
further is destroyed (the live databases and the queue stay as they were)."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from standin_support import admin_password, jolokia, pending, plain_env, restore, sync_queue
from test_backup_support import lab_profile
from test_restore_resume import node_count

from syncwizard.config import Profile, broker_password, load_settings
from syncwizard.errors import SyncWizardError
from syncwizard.lab import broker, standin
from syncwizard.lab.generator import generate
from syncwizard.lab.layout import LabLayout
from syncwizard.runbook.engine import Engine
from syncwizard.runbook.journal import find_unfinished, list_runs
from syncwizard.runbook.model import Gate, RefusedError, StepState
from syncwizard.runbook.restore.runbook import RestoreChoices, resume_restore, start_restore

pytestmark = pytest.mark.integration


async def yes(gate: Gate) -> bool:
    return True


def engine(profile: Profile, set_dir: Path, choices: RestoreChoices) -> Engine:
    return start_restore(
        profile, set_dir, choices, broker_password=broker_password(profile.broker), confirm=yes
    )


@pytest.fixture(autouse=True)
async def lab_restored(lab: LabLayout) -> AsyncIterator[None]:
    await restore(lab)
    yield


def copy_set(set_dir: Path, to: Path) -> Path:
    return Path(shutil.copytree(set_dir, to / set_dir.name))


async def test_a_set_with_a_corrupted_file_is_refused_before_anything_is_touched(
    lab: LabLayout, lab_config: Path, backup_set: Path, tmp_path: Path
) -> None:
    damaged = copy_set(backup_set, tmp_path / "damaged")
    victim = next(p for p in sorted((damaged / "repository_db.dump").iterdir()) if p.stat().st_size)
    with victim.open("r+b") as handle:
        handle.seek(victim.stat().st_size // 2)
        handle.write(b"\x00garbage\x00")
    nodes = node_count(lab)
    run = engine(lab_profile(lab_config, tmp_path), damaged, RestoreChoices())
    try:
        outcome = await run.run()
    finally:
        await run.aclose()
    assert outcome.step_id == "verify_set" and isinstance(outcome.error, RefusedError)
    assert victim.name in outcome.error.message and "sha256" in outcome.error.message
    assert "choose another set" in outcome.error.hint
    assert node_count(lab) == nodes and standin.is_running(lab)


async def test_a_set_whose_manifest_is_missing_starts_no_run(
    lab_config: Path, backup_set: Path, tmp_path: Path
) -> None:
    unsealed = copy_set(backup_set, tmp_path / "unsealed")
    (unsealed / "manifest.json").unlink()
    with pytest.raises(SyncWizardError) as caught:
        engine(lab_profile(lab_config, tmp_path), unsealed, RestoreChoices())
    assert "holds no manifest.json: it is not a sealed backup set" in caught.value.message
    assert [run for run in list_runs() if run.runbook == "restore"] == []


async def test_a_dump_pg_restore_cannot_load_fails_the_step_and_the_live_database_stays(
    lab: LabLayout, lab_config: Path, backup_set: Path, tmp_path: Path
) -> None:
    # A set damaged where it was made: the manifest's checksums match the broken file.
    broken = copy_set(backup_set, tmp_path / "broken")
    manifest = json.loads((broken / "manifest.json").read_text())
    data_file = max(
        (broken / "repository_db.dump").glob("*.dat.gz"), key=lambda p: p.stat().st_size
    )
    data_file.write_bytes(gzip.compress(b"not\ta\tvalid\tcopy\tline\n" * 100))
    relative = data_file.relative_to(broken).as_posix()
    for entry in manifest["files"]:
        if entry["path"] == relative:
            entry["size"] = data_file.stat().st_size
            entry["sha256"] = hashlib.sha256(data_file.read_bytes()).hexdigest()
    (broken / "manifest.json").write_text(json.dumps(manifest))
    standin.stop(lab)
    nodes = node_count(lab)
    choices = RestoreChoices(events_action="clear")
    run = engine(lab_profile(lab_config, tmp_path), broken, choices)
    try:
        outcome = await run.run()
    finally:
        await run.aclose()
    assert outcome.step_id == "restore_repository", outcome.error and outcome.error.render()
    assert outcome.error is not None and "pg_restore" in outcome.error.render()
    assert run.states["swap_repository"] == StepState.PENDING
    assert node_count(lab) == nodes
    await restore(lab)


async def test_a_vanished_queue_is_said_and_nothing_is_cleared(
    lab: LabLayout, lab_config: Path, backup_set: Path, tmp_path: Path
) -> None:
    standin.stop(lab)
    await generate(lab, rate=50, duration=1, seed=31)
    queue = sync_queue(lab)
    run = engine(lab_profile(lab_config, tmp_path), backup_set, RestoreChoices("clear"))
    try:
        for step in ("verify_set", "preflight", "stop_services"):
            assert await run.run_step(step) == StepState.DONE, run.errors.get(step)
        async with jolokia(lab) as client:
            await client.remove_queue(queue)  # someone deleted it meanwhile
        assert await run.run_step("check_quiet") == StepState.SKIPPED
        assert await run.run_step("clear_events") == StepState.SKIPPED
    finally:
        await run.aclose()
    assert run.results["check_quiet"] == {"quiet": None}
    assert run.results["clear_events"]["removed"] == 0
    async with jolokia(lab) as client:
        await client.add_queue(queue)
    await restore(lab)


# Jolokia names an operation with its signature: "purge()".
POLICY_DENYING_PURGE = """<?xml version="1.0" encoding="UTF-8"?>
<restrict>
  <cors><strict-checking/></cors>
  <deny>
    <mbean>
      <name>org.apache.activemq:type=Broker,brokerName=*,destinationType=Queue,destinationName=*</name>
      <operation>purge()</operation>
    </mbean>
  </deny>
</restrict>
"""


async def test_with_purge_denied_the_clear_still_empties_the_queue_and_a_give_up_is_refused(
    lab: LabLayout, lab_config: Path, backup_set: Path, tmp_path: Path
) -> None:
    policy = lab.broker_dir / "conf" / "jolokia-access.xml"
    original = policy.read_text()
    standin.stop(lab)
    broker.stop(lab)
    policy.write_text(POLICY_DENYING_PURGE)
    broker.start(lab)
    try:
        async with jolokia(lab) as client:
            await client.add_queue(sync_queue(lab))  # a restarted broker may not restore it
        await generate(lab, rate=50, duration=1, seed=41)
        waiting = await pending(lab)
        giving_up = engine(lab_profile(lab_config, tmp_path), backup_set, RestoreChoices("give_up"))
        try:
            outcome = await giving_up.run()
        finally:
            await giving_up.aclose()
        assert outcome.step_id == "clear_events", outcome.error and outcome.error.render()
        assert outcome.error is not None and "purg" in outcome.error.message
        assert "403" in outcome.error.render() or "forbidden" in outcome.error.render().lower()
        assert await pending(lab) == waiting  # the events stay

        record = find_unfinished("restore")
        assert record is not None
        choices = RestoreChoices("clear")
        run = await resume_restore(
            record,
            lab_profile(lab_config, tmp_path),
            choices,
            broker_password=broker_password(lab_profile(lab_config, tmp_path).broker),
            confirm=yes,
        )
        try:
            assert await run.run_step("clear_events") == StepState.DONE, run.errors
        finally:
            await run.aclose()
        cleared = run.results["clear_events"]
        assert cleared["archived"] == cleared["removed"] == waiting and cleared["complete"]
        assert await pending(lab) == 0
    finally:
        broker.stop(lab)
        policy.write_text(original)
        broker.start(lab)
        await restore(lab)


async def test_a_failing_start_then_a_service_never_healthy_then_a_good_start(
    lab: LabLayout, lab_config: Path, backup_set: Path, tmp_path: Path
) -> None:
    def profile(**overrides: str) -> Profile:
        environ = {f"SYNCWIZARD_SYNC_SERVICE__{k.upper()}": v for k, v in overrides.items()}
        return load_settings(lab_config, "lab", environ=environ).profile

    choices = RestoreChoices("clear", "admin", admin_password(lab), plain_restart=False)
    failing = profile(start_with_recover="echo cannot start >&2; exit 3")
    run = engine(failing, backup_set, choices)
    try:
        outcome = await run.run()
    finally:
        await run.aclose()
    assert outcome.step_id == "start_recover"
    assert outcome.error is not None and "exited with 3: cannot start" in outcome.error.message
    assert not standin.is_running(lab)

    record = find_unfinished("restore")
    assert record is not None and record.stopped_at == "start_recover"
    silent = profile(start_with_recover="true", healthy_timeout="3")
    choices.recover_password = admin_password(lab)
    run = await resume_restore(record, silent, choices, broker_password=None, confirm=yes)
    try:
        outcome = await run.run()
    finally:
        await run.aclose()
    assert isinstance(outcome.error, RefusedError)
    assert "did not become healthy" in outcome.error.message and "log" in outcome.error.hint

    record = find_unfinished("restore")
    assert record is not None
    # A retry after "never healthy" watches again, never starts a second time by itself:
    # the admin says the first start's process is gone.
    choices.recover_password, choices.recover_again = admin_password(lab), True
    good = lab_profile(lab_config, tmp_path)
    run = await resume_restore(
        record, good, choices, broker_password=broker_password(good.broker), confirm=yes
    )
    try:
        outcome = await run.run()
    finally:
        await run.aclose()
    assert outcome.status == "finished", outcome.error and outcome.error.render()
    await restore(lab)


def syncwizard(lab_config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**plain_env(), "SYNCWIZARD_CONFIG": str(lab_config), "SYNCWIZARD_PROFILE": "lab"}
    return subprocess.run(
        [sys.executable, "-m", "syncwizard", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


async def test_restore_is_tui_only_and_its_plan_touches_nothing(
    lab: LabLayout, lab_config: Path, backup_set: Path
) -> None:
    refused = syncwizard(lab_config, "restore")
    assert refused.returncode == 2 and "only in the TUI" in refused.stderr
    assert "restore --plan" in refused.stderr
    nodes, waiting = node_count(lab), await pending(lab)
    plan = syncwizard(lab_config, "restore", "--plan", str(backup_set))
    assert plan.returncode == 0, plan.stderr
    for title in ("Verify the backup set", "Clear the undelivered events", "-Drecover"):
        assert title in plan.stdout
    assert "alfresco__restore_" in plan.stdout and str(backup_set) in plan.stdout
    assert node_count(lab) == nodes and await pending(lab) == waiting
    assert [run for run in list_runs() if run.runbook == "restore"] == []
    missing = syncwizard(lab_config, "restore", "--plan", "no-such-set")
    assert missing.returncode == 2 and "no backup set 'no-such-set'" in missing.stderr


async def test_report_prints_a_run_as_markdown_and_never_overwrites_a_file(
    lab_config: Path, backup_set: Path, tmp_path: Path
) -> None:
    run_dir = next((backup_set.parents[1] / "state" / "runs").iterdir())
    report = syncwizard(lab_config, "report", str(run_dir))
    assert report.returncode == 0, report.stderr
    assert report.stdout.startswith("#") and str(backup_set) in report.stdout
    existing = tmp_path / "ticket.md"
    existing.write_text("the admin's notes")
    refused = syncwizard(lab_config, "report", str(run_dir), "--output", str(existing))
    assert refused.returncode == 2 and "never written over" in refused.stderr
    assert existing.read_text() == "the admin's notes"
    unknown = syncwizard(lab_config, "report", "restore-nope")
    assert unknown.returncode == 2 and "no run 'restore-nope'" in unknown.stderr
