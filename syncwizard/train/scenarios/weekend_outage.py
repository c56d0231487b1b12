"""Restore after a weekend outage: a backlog on the queue, last night's set."""

from __future__ import annotations

from syncwizard.config import Profile
from syncwizard.lab import standin
from syncwizard.lab.backlog import make_backlog
from syncwizard.lab.layout import LabLayout
from syncwizard.runbook.journal import RunRecord
from syncwizard.train import grading
from syncwizard.train.model import LabFacts, Point, Scenario
from syncwizard.train.scenarios.common import take_backup

# The weekend's backlog, as the ticket says: the lab's backlog mode commits the changes in
# batches and publishes their events as fast as the broker takes them (~10 s here).
WEEKEND_BACKLOG = 100_000
TARGET_SECONDS = 900.0


async def _setup(layout: LabLayout, profile: Profile) -> None:
    await take_backup(profile)
    standin.stop(layout)  # the Sync Service went down on Friday night
    await make_backlog(layout, WEEKEND_BACKLOG, seed=12)


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
        "Service was down since Friday while the repository kept producing; "
        f"{WEEKEND_BACKLOG:,} events are pending on its queue. Restore last night's backup "
        "and bring Sync back in line, without losing track of what those events said."
    ),
    difficulty=2,
    runbook="restore",
    setup=_setup,
    grade=_grade,
    target_seconds=TARGET_SECONDS,
    situation=(
        "last night's backup was taken; the Sync Service stand-in is stopped and "
        f"{WEEKEND_BACKLOG:,} events wait on its queue"
    ),
)
