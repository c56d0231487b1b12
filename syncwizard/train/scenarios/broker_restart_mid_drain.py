"""The broker restarted while the backup waits for the drain: its counters start at zero."""

from __future__ import annotations

from syncwizard.config import Profile
from syncwizard.lab import broker
from syncwizard.lab.generator import generate
from syncwizard.lab.layout import LabLayout
from syncwizard.runbook.backup import step_names as backup_steps
from syncwizard.runbook.journal import RunRecord
from syncwizard.runbook.model import StepState
from syncwizard.train import grading
from syncwizard.train.model import Fault, LabFacts, Point, Scenario
from syncwizard.train.scenarios.common import FLOWING_RATE, events_flow

TARGET_SECONDS = 600.0
# The afternoon's work before the backup: a few hundred events the Sync Service consumed,
# so the queue's DequeueCount at t0 is well above what it counts again after the restart.
AFTERNOON_RATE = 100.0
AFTERNOON_SECONDS = 3.0


async def _setup(layout: LabLayout, profile: Profile) -> None:
    await generate(layout, rate=AFTERNOON_RATE, duration=AFTERNOON_SECONDS, seed=22)
    await events_flow(layout, profile)


def restart_broker(layout: LabLayout) -> None:
    """A restart as a broker upgrade or an OOM-kill does it: the persistent messages are
    kept, the statistics (Enqueue/DequeueCount) start again at zero, every client
    reconnects."""
    broker.stop(layout)
    broker.start(layout)


def _drained_after_restart(record: RunRecord) -> Point:
    result = record.results.get(backup_steps.WAIT, {})
    mode = result.get("mode")
    reset = record.records.get(backup_steps.WAIT, {}).get("counter_reset")
    drained_at = float(result.get("drained_at") or 0.0)
    dumped_at = record.step_started.get(backup_steps.SYNC)
    after_reset = reset is None or drained_at >= float(reset.get("at", 0.0))
    dumped_after = dumped_at is None or dumped_at >= drained_at
    ok = mode == "drain" and after_reset and dumped_after
    if ok and reset is not None:
        debrief = (
            f"The broker restarted during the wait: {reset.get('note', 'its counters reset')}. "
            f"The drain then held on samples taken after the restart ({result.get('clause')}), "
            "and the Sync DB was dumped after that: nothing counted before the restart "
            "stood in for consumption after it, and no event was left behind (the drain "
            "holds only with no event older than t0 pending and none sent to ActiveMQ.DLQ; "
            "the broker's persistent messages survive its restart)."
        )
    elif ok:
        debrief = (
            f"The Sync DB was dumped once the drain criterion held: {result.get('clause')} "
            "(the wait did not see the counters fall)."
        )
    elif mode == "countdown":
        debrief = (
            "A countdown was used: it saw nothing of the broker's restart, and nothing showed "
            "the Sync Service had reconnected and consumed what the repository backup "
            "covers before its database was dumped."
        )
    else:
        debrief = "The wait for the Sync Service did not end with the drain criterion met."
    return Point(
        "drain_after_restart",
        "The drain held on counters read after the restart",
        4 if ok else 0,
        4,
        debrief,
        grading.BACKUP_WAIT,
    )


def _grade(record: RunRecord, facts: LabFacts) -> list[Point]:
    return [
        grading.finished(record, 3, grading.BACKUP_SYNC),
        _drained_after_restart(record),
        grading.within_time(record, TARGET_SECONDS),
    ]


BROKER_RESTART_MID_DRAIN = Scenario(
    id="broker-restart-mid-drain",
    title="The broker restarted mid-drain (counters reset)",
    ticket=(
        "CHG-1057: take tonight's backup of the Sync Service. Users are still working, and "
        "the middleware team announced a rolling restart of ActiveMQ 'some time this "
        "evening'. The set must restore to a Sync DB that tracked the repository backup."
    ),
    difficulty=2,
    runbook=backup_steps.RUNBOOK,
    setup=_setup,
    grade=_grade,
    faults=(
        Fault(
            backup_steps.WAIT,
            StepState.RUNNING,
            "the broker is restarted as the wait for the drain begins (its counters start at zero)",
            restart_broker,
        ),
    ),
    target_seconds=TARGET_SECONDS,
    situation=f"the repository makes {FLOWING_RATE:g} events a second after a busy afternoon; "
    "a fault waits",
)
