"""The repository still producing during a restore: it must be quiet before the clear."""

from __future__ import annotations

from syncwizard.config import Profile
from syncwizard.lab import repository_control
from syncwizard.lab.layout import LabLayout
from syncwizard.runbook.journal import RunRecord
from syncwizard.runbook.model import StepState
from syncwizard.runbook.restore import step_names as restore_steps
from syncwizard.train import grading
from syncwizard.train.model import Fault, LabFacts, Point, Scenario
from syncwizard.train.scenarios.common import FLOWING_RATE, take_backup

TARGET_SECONDS = 900.0


async def _setup(layout: LabLayout, profile: Profile) -> None:
    await take_backup(profile)


def restart_repository(layout: LabLayout) -> None:
    """What a supervisor (systemd Restart=always, a pod's liveness probe) does behind the
    restore's stop: the repository runs again and users' changes make events."""
    repository_control.start(layout)
    repository_control.set_rate(layout, FLOWING_RATE)


def _repository_stopped(record: RunRecord) -> Point:
    result = record.results.get(restore_steps.QUIET, {})
    records = record.records.get(restore_steps.QUIET, {})
    choice = records.get("choice", {}).get("while_producing")
    quiet = grading.done(record, restore_steps.QUIET) and bool(result.get("quiet"))
    if quiet and choice == "stop":
        debrief = (
            "Events still arrived as the check began: the repository ran again behind the "
            "restore. You chose to stop it; the wizard ran its stop command and waited until "
            f"nothing arrived for {result.get('window', '?')} s before clearing the queue."
        )
    elif quiet and choice == "wait":
        debrief = (
            "Events still arrived as the check began: the repository ran again behind the "
            "restore. You stopped it yourself and the wizard waited until nothing arrived "
            "before clearing the queue."
        )
    elif quiet:
        debrief = "Nothing arrived while the queue was checked: the repository was quiet."
    elif grading.done(record, restore_steps.QUIET):
        debrief = (
            f"You went on knowingly while the repository produced {result.get('rate', '?')} "
            "events a second: what it changed after the clear was made in a database the "
            "restore then replaced, and its events reached a Sync DB restored without them."
        )
    else:
        debrief = (
            "The run stopped at the check that nothing still arrives and the repository was "
            "never stopped: it kept producing while the Sync Service was down, and nothing "
            "was restored."
        )
    return Point(
        "repository_stopped",
        "The repository was stopped before the queue and databases were touched",
        4 if quiet else 0,
        4,
        debrief,
        grading.RESTORE_QUIET,
    )


def _grade(record: RunRecord, facts: LabFacts) -> list[Point]:
    return [
        _repository_stopped(record),
        grading.no_events_lost(record, 2),
        grading.databases_restored(record, 3),
        grading.no_drift(facts, 3),
        grading.gates_read(record, 2),
        grading.within_time(record, TARGET_SECONDS),
    ]


PRODUCING_DURING_RESTORE = Scenario(
    id="producing-during-restore",
    title="The repository still producing during a restore",
    ticket=(
        "INC-3391: a faulty script renamed hundreds of folders tonight and Sync clients "
        "mirrored it. Restore last night's backup of the repository and the Sync Service. "
        "The repository runs under a supervisor the infrastructure team manages; nothing may "
        "reach the queue or the databases once the restore has begun."
    ),
    difficulty=2,
    runbook=restore_steps.RUNBOOK,
    setup=_setup,
    grade=_grade,
    faults=(
        Fault(
            restore_steps.QUIET,
            StepState.RUNNING,
            "the repository is started again behind the restore (its supervisor) and "
            f"produces {FLOWING_RATE:g} events a second",
            restart_repository,
        ),
    ),
    target_seconds=TARGET_SECONDS,
    situation="last night's backup was taken; a fault waits for the check that nothing "
    "still arrives",
)
