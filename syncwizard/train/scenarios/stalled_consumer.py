"""A stalled Sync consumer: the drain never completes (wait, countdown, or investigate)."""

from __future__ import annotations

from syncwizard.runbook.backup import step_names as backup_steps
from syncwizard.runbook.journal import RunRecord
from syncwizard.runbook.model import StepState
from syncwizard.train import grading
from syncwizard.train.faults import pause_standin
from syncwizard.train.model import Fault, LabFacts, Point, Scenario
from syncwizard.train.scenarios.common import FLOWING_RATE, events_flow

TARGET_SECONDS = 900.0


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


def _grade(record: RunRecord, facts: LabFacts) -> list[Point]:
    return [
        grading.no_sync_dump_behind_stall(record, 5),
        _no_countdown(record),
        grading.within_time(record, TARGET_SECONDS),
    ]


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
    setup=events_flow,
    grade=_grade,
    faults=(
        Fault(
            backup_steps.WAIT,
            StepState.RUNNING,
            "the Sync Service stand-in is paused (SIGSTOP) as the wait for it begins",
            pause_standin,
        ),
    ),
    target_seconds=TARGET_SECONDS,
    situation=f"the repository makes {FLOWING_RATE:g} events a second; a fault waits",
)
