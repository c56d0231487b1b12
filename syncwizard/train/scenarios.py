"""The scenarios: their tickets, the situation each sets up, and how each is graded."""

from __future__ import annotations

from pathlib import Path

from syncwizard.config import Profile, broker_password
from syncwizard.errors import SyncWizardError
from syncwizard.lab import repository_control, standin
from syncwizard.lab.generator import generate
from syncwizard.lab.layout import LabLayout
from syncwizard.runbook.backup import step_names as backup_steps
from syncwizard.runbook.backup.options import BackupOptions
from syncwizard.runbook.backup.runbook import start_backup
from syncwizard.runbook.journal import RunRecord
from syncwizard.runbook.model import StepState
from syncwizard.train import grading
from syncwizard.train.faults import pause_standin
from syncwizard.train.model import Fault, LabFacts, Point, Scenario

# Events a second the repository makes while a backup scenario runs: enough to move the
# counters on every sample, few enough for a busy 2-core machine.
FLOWING_RATE = 5.0
# The weekend's backlog: 100,000 in the ticket's world, scaled to what the lab makes in
# seconds; the grading does not depend on the number.
WEEKEND_EVENTS_RATE = 100.0
WEEKEND_EVENTS_SECONDS = 5.0


async def _events_flow(layout: LabLayout, profile: Profile) -> None:
    repository_control.set_rate(layout, FLOWING_RATE)


async def _take_backup(profile: Profile) -> Path:
    """Last night's backup, taken with the wizard's own backup runbook."""
    engine = start_backup(
        profile,
        BackupOptions.from_settings(profile.backup),
        broker_password=broker_password(profile.broker),
    )
    try:
        outcome = await engine.run()
    finally:
        await engine.aclose()
    if outcome.status != "finished":
        raise SyncWizardError(
            "the scenario's backup (last night's) did not finish: "
            + (outcome.error.message if outcome.error else outcome.status),
            hint="`syncwizard lab status`; then `syncwizard train run` again",
            system="lab",
        )
    return Path(engine.results[backup_steps.SEAL]["backup_set"])


async def _weekend_outage(layout: LabLayout, profile: Profile) -> None:
    await _take_backup(profile)
    standin.stop(layout)  # the Sync Service went down on Friday night
    await generate(layout, rate=WEEKEND_EVENTS_RATE, duration=WEEKEND_EVENTS_SECONDS, seed=12)


def _routine_backup_grade(record: RunRecord, facts: LabFacts) -> list[Point]:
    return [
        grading.finished(record, 4, grading.BACKUP_SYNC),
        grading.drain_criterion(record, 3),
        grading.within_time(record, ROUTINE_BACKUP.target_seconds),
    ]


def _weekend_outage_grade(record: RunRecord, facts: LabFacts) -> list[Point]:
    return [
        grading.no_events_lost(record, 4),
        grading.databases_restored(record, 3),
        grading.recover_removed(record, 2),
        grading.no_drift(facts, 3),
        grading.within_time(record, WEEKEND_OUTAGE.target_seconds),
    ]


def _no_countdown(record: RunRecord) -> Point:
    counted = record.results.get(backup_steps.WAIT, {}).get("mode") == "countdown"
    stopped_there = record.states.get(backup_steps.WAIT) in (
        StepState.FAILED,
        StepState.CANCELLED,
        StepState.RUNNING,
    )
    ok = not counted and stopped_there
    return Point(
        "stall_seen",
        "The stall was seen and the run stopped at the wait",
        3 if ok else 0,
        3,
        "The run stopped at the wait for the Sync Service: pending events grew while none was "
        "consumed, which the drain criterion never accepts."
        if ok
        else "The run went past the wait although the consumer took nothing: a countdown "
        "(the doc's 'couple of minutes') cannot tell a stalled consumer from a quiet one.",
        grading.BACKUP_WAIT,
    )


def _stalled_grade(record: RunRecord, facts: LabFacts) -> list[Point]:
    return [
        grading.no_sync_dump_behind_stall(record, 5),
        _no_countdown(record),
        grading.within_time(record, STALLED_CONSUMER.target_seconds),
    ]


ROUTINE_BACKUP = Scenario(
    id="routine-backup",
    title="Routine backup while events flow",
    ticket=(
        "Change CHG-1021: take tonight's backup of the Sync Service before the upgrade window. "
        "Users are working: the repository keeps producing a few events a second. The set "
        "must restore to a Sync DB that tracked the repository backup."
    ),
    difficulty=1,
    runbook=backup_steps.RUNBOOK,
    setup=_events_flow,
    grade=_routine_backup_grade,
    target_seconds=300.0,
    situation=f"the repository makes {FLOWING_RATE:g} events a second",
)

WEEKEND_OUTAGE = Scenario(
    id="weekend-outage",
    title="Restore after a weekend outage",
    ticket=(
        "INC-3307: Sync clients report stale folders after the weekend outage. The Sync "
        "Service was down since Friday while the repository kept producing; hundreds of "
        "events are pending on its queue. Restore last night's backup and bring Sync back "
        "in line, without losing track of what those events said."
    ),
    difficulty=2,
    runbook="restore",
    setup=_weekend_outage,
    grade=_weekend_outage_grade,
    target_seconds=900.0,
    situation=(
        "last night's backup was taken; the Sync Service stand-in is stopped and "
        f"{WEEKEND_EVENTS_RATE * WEEKEND_EVENTS_SECONDS:,.0f} events wait on its queue"
    ),
)

STALLED_CONSUMER = Scenario(
    id="stalled-consumer",
    title="A stalled Sync consumer: the drain never completes",
    ticket=(
        "CHG-1044: the nightly backup must be taken by hand tonight. Monitoring says the Sync "
        "Service is 'up', but the help desk had two calls about files not syncing since the "
        "evening. Take the backup; the set must be consistent."
    ),
    difficulty=3,
    runbook=backup_steps.RUNBOOK,
    setup=_events_flow,
    grade=_stalled_grade,
    faults=(
        Fault(
            backup_steps.WAIT,
            StepState.RUNNING,
            "the Sync Service stand-in is paused (SIGSTOP) as the wait for it begins",
            pause_standin,
        ),
    ),
    target_seconds=900.0,
    situation=f"the repository makes {FLOWING_RATE:g} events a second; a fault waits",
)
