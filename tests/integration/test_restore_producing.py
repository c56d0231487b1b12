"""A restore while the lab's repository stand-in still produces events, and events given up:
the wizard names what still arrives, stops the repository with its own command or keeps
consuming until the admin ends it, and the report says exactly what was lost; the
repository answers again before the -Drecover start, which needs it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from standin_support import admin_password, eventually, jolokia, pending, restore, sync_queue
from test_backup_support import lab_profile

from syncwizard.config import Profile, broker_password, load_settings
from syncwizard.lab import repository_control, standin
from syncwizard.lab.generator import generate
from syncwizard.lab.layout import LabLayout
from syncwizard.runbook.engine import Engine
from syncwizard.runbook.journal import load_run
from syncwizard.runbook.model import Gate, RefusedError, StepState
from syncwizard.runbook.report import render_report
from syncwizard.runbook.restore.runbook import RestoreChoices, start_restore

pytestmark = pytest.mark.integration

RATE = 20.0  # events a second the repository stand-in makes in these tests


@pytest.fixture
async def producing(lab: LabLayout) -> AsyncIterator[LabLayout]:
    """The Sync Service stopped, the repository producing: events pile up in the queue."""
    await restore(lab)
    standin.stop(lab)
    repository_control.set_rate(lab, RATE)
    await eventually(lambda: pending(lab), "events piling up in the queue")
    yield lab
    repository_control.start(lab)
    repository_control.set_rate(lab, 0)
    await restore(lab)


def without_repository_stop(lab_config: Path, backup_dir: Path) -> Profile:
    """The lab profile, but the wizard cannot stop the repository (a by-hand setup)."""
    environ = {"SYNCWIZARD_BACKUP__DIR": str(backup_dir), "SYNCWIZARD_REPOSITORY__STOP": ""}
    return load_settings(lab_config, "lab", environ=environ).profile


def restore_run(profile: Profile, set_dir: Path, choices: RestoreChoices) -> Engine:
    gates: list[Gate] = []

    async def confirm(gate: Gate) -> bool:
        gates.append(gate)
        return True

    engine = start_restore(
        profile, set_dir, choices, broker_password=broker_password(profile.broker), confirm=confirm
    )
    engine.gates_seen = gates  # type: ignore[attr-defined]
    return engine


async def test_events_still_arriving_are_named_then_the_repository_is_stopped_by_its_command(
    producing: LabLayout, lab_config: Path, backup_set: Path, tmp_path: Path
) -> None:
    lab = producing
    choices = RestoreChoices("clear")
    run = restore_run(without_repository_stop(lab_config, tmp_path), backup_set, choices)
    try:
        for step in ("verify_set", "preflight"):
            assert await run.run_step(step) == StepState.DONE, run.errors.get(step)
        # No stop command: "stop it by hand"; the stop step finds it still running.
        assert await run.run_step("stop_services") == StepState.FAILED
        stop_error = run.errors["stop_services"].message
        assert "no stop command for: repository" in stop_error
        assert "session(s) on the repository database 'alfresco'" in stop_error
        assert "syncwizard-lab-repository from 127.0.0.1" in stop_error
        assert repository_control.is_running(lab)
        assert await run.run_step("check_quiet") == StepState.FAILED
        error = run.errors["check_quiet"]
        assert isinstance(error, RefusedError)
        assert "the repository is still producing" in error.message
        assert "stop the repository" in error.hint and "go on knowingly" in error.hint
    finally:
        await run.aclose()

    # The same step again, with a profile that can stop it, and the admin's choice.
    choices.while_producing = "stop"
    run = restore_run(lab_profile(lab_config, tmp_path), backup_set, choices)
    try:
        for step in ("verify_set", "preflight", "check_quiet", "clear_events"):
            assert await run.run_step(step) == StepState.DONE, run.errors.get(step)
    finally:
        await run.aclose()
    assert not repository_control.is_running(lab)
    assert run.results["check_quiet"]["quiet"]
    cleared = run.results["clear_events"]
    assert cleared["archived"] == cleared["removed"] > 0
    assert cleared["counts_agree"] and cleared["complete"] and cleared["still_pending"] == 0
    assert await pending(lab) == 0


async def test_going_on_knowingly_keeps_consuming_into_the_archive_until_the_admin_ends_it(
    producing: LabLayout, lab_config: Path, backup_set: Path, tmp_path: Path
) -> None:
    lab = producing
    choices = RestoreChoices("clear", while_producing="go_on")
    profile = without_repository_stop(lab_config, tmp_path)
    run = restore_run(profile, backup_set, choices)
    seen: list[int] = []

    def end_once_some_arrived(event: object) -> None:
        detail = getattr(event, "detail", None)
        counts = getattr(detail, "counts", None)
        if counts is not None:
            seen.append(counts.removed)
            if len(seen) > 6:  # a few looks at the queue while events still arrive
                choices.end_clearing()

    run.observers.append(end_once_some_arrived)
    try:
        for step in ("verify_set", "preflight", "check_quiet", "clear_events"):
            assert await run.run_step(step) == StepState.DONE, run.errors.get(step)
    finally:
        await run.aclose()
    assert run.results["check_quiet"]["producing"]
    cleared = run.results["clear_events"]
    assert cleared["ended_by"] == "ended"
    assert cleared["archived"] == cleared["removed"] > 0
    assert cleared["arrived"] > 0  # events arrived while it was clearing, and were taken too
    assert cleared["counts_agree"] and cleared["complete"] and cleared["given_up"] == 0
    report = render_report(load_run(Path(run.journal.run_dir)))
    assert "the admin went on knowingly" in report
    assert repository_control.is_running(lab)


async def test_events_given_up_are_named_by_number_at_the_gate_and_in_the_report(
    lab: LabLayout, lab_config: Path, backup_set: Path, tmp_path: Path
) -> None:
    await restore(lab)
    standin.stop(lab)
    await generate(lab, rate=100, duration=1, seed=51)
    waiting = await pending(lab)
    run = restore_run(lab_profile(lab_config, tmp_path), backup_set, RestoreChoices("give_up"))
    try:
        for step in ("verify_set", "preflight", "stop_services", "check_quiet", "clear_events"):
            assert await run.run_step(step) == StepState.DONE, run.errors.get(step)
    finally:
        await run.aclose()
    give_up_gate = run.gates_seen[-1]  # type: ignore[attr-defined]
    assert give_up_gate.token == str(waiting)
    assert give_up_gate.title == f"Give up {waiting:,} pending events?"
    cleared = run.results["clear_events"]
    assert cleared["given_up"] == cleared["removed"] == waiting and cleared["archived"] == 0
    assert not cleared["complete"]
    report = render_report(load_run(Path(run.journal.run_dir)))
    assert f"- **Given up (lost, not archived):** {waiting:,}" in report
    assert f"- **Complete:** no: {waiting:,} events were given up" in report
    repository_control.start(lab)
    await restore(lab)


async def test_the_recover_start_waits_for_the_repository_and_is_refused_while_it_is_down(
    lab: LabLayout, lab_config: Path, backup_set: Path, tmp_path: Path
) -> None:
    await restore(lab)
    standin.stop(lab)
    repository_control.stop(lab)
    profile = lab_profile(lab_config, tmp_path)
    choices = RestoreChoices("clear", "admin", admin_password(lab))
    run = restore_run(profile, backup_set, choices)
    try:
        for step in ("verify_set", "preflight"):
            assert await run.run_step(step) == StepState.DONE, run.errors.get(step)
        # Out of order on purpose (an override the admin confirms): the repository is down.
        assert await run.run_step("start_recover", override=True) != StepState.DONE
        error = run.errors["start_recover"]
        assert "the repository does not answer" in error.message
        assert "-Drecover reconciles with it" in error.message
        assert not standin.is_running(lab)
        assert await run.run_step("start_repository", override=True) == StepState.DONE
    finally:
        await run.aclose()
    assert repository_control.is_running(lab)
    assert run.results["start_repository"]["started"]
    await restore(lab)


async def test_deleting_clears_into_the_archive_first_then_removes_the_empty_queue_and_topic(
    lab: LabLayout, lab_config: Path, backup_set: Path, tmp_path: Path
) -> None:
    await restore(lab)
    standin.stop(lab)
    await generate(lab, rate=100, duration=1, seed=61)
    waiting = await pending(lab)
    queue = sync_queue(lab)
    run = restore_run(lab_profile(lab_config, tmp_path), backup_set, RestoreChoices("delete"))
    try:
        for step in ("verify_set", "preflight", "stop_services", "check_quiet", "clear_events"):
            assert await run.run_step(step) == StepState.DONE, run.errors.get(step)
    finally:
        await run.aclose()
    cleared = run.results["clear_events"]
    assert cleared["archived"] == cleared["removed"] == waiting and cleared["complete"]
    assert cleared["deleted"] == {"queue_gone": True, "topic_gone": True}
    async with jolokia(lab) as client:
        assert queue not in await client.list_queues()
        await client.add_queue(queue)  # as the Sync Service's next start would
    repository_control.start(lab)
    await restore(lab)
