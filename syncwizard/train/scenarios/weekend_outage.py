"""Restore after a weekend outage: a backlog on the queue, last night's set."""

from __future__ import annotations

from syncwizard.config import Profile
from syncwizard.lab import standin
from syncwizard.lab.generator import generate
from syncwizard.lab.layout import LabLayout
from syncwizard.runbook.journal import RunRecord
from syncwizard.train import grading
from syncwizard.train.model import LabFacts, Point, Scenario
from syncwizard.train.scenarios.common import take_backup

# The weekend's backlog: 100,000 in the ticket's world, scaled to what the lab makes in
# seconds; the grading does not depend on the number.
WEEKEND_EVENTS_RATE = 100.0
WEEKEND_EVENTS_SECONDS = 5.0
TARGET_SECONDS = 900.0


async def _setup(layout: LabLayout, profile: Profile) -> None:
    await take_backup(profile)
    standin.stop(layout)  # the Sync Service went down on Friday night
    await generate(layout, rate=WEEKEND_EVENTS_RATE, duration=WEEKEND_EVENTS_SECONDS, seed=12)


def _grade(record: RunRecord, facts: LabFacts) -> list[Point]:
    return [
        grading.no_events_lost(record, 4),
        grading.databases_restored(record, 3),
        grading.recover_removed(record, 2),
        grading.no_drift(facts, 3),
        grading.gates_read(record, 2),
        grading.within_time(record, TARGET_SECONDS),
    ]


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
    setup=_setup,
    grade=_grade,
    target_seconds=TARGET_SECONDS,
    situation=(
        "last night's backup was taken; the Sync Service stand-in is stopped and "
        f"{WEEKEND_EVENTS_RATE * WEEKEND_EVENTS_SECONDS:,.0f} events wait on its queue"
    ),
)
