"""A broker that refuses the purge (the hardened `current` flavour): the restore clears
through a STOMP window it opens, and closes it again."""

from __future__ import annotations

from syncwizard.config import Profile
from syncwizard.lab import standin
from syncwizard.lab.generator import generate
from syncwizard.lab.layout import CURRENT, LabLayout
from syncwizard.runbook.journal import RunRecord
from syncwizard.runbook.restore import step_names as restore_steps
from syncwizard.runbook.restore.stomp_window import RECORD as WINDOW
from syncwizard.train import grading
from syncwizard.train.model import LabFacts, Point, Scenario
from syncwizard.train.scenarios.common import take_backup

PENDING_RATE = 100.0
PENDING_SECONDS = 2.0
TARGET_SECONDS = 900.0


async def _setup(layout: LabLayout, profile: Profile) -> None:
    await take_backup(profile)
    standin.stop(layout)  # the Sync Service crashed after the backup
    await generate(layout, rate=PENDING_RATE, duration=PENDING_SECONDS, seed=21)


def window_closed(record: RunRecord, possible: int) -> Point:
    """The broker went back to how it shipped: the window the clear opened was closed."""
    opened = record.records.get(restore_steps.CLEAR, {}).get(WINDOW, {})
    closed = record.records.get(restore_steps.ORPHANS, {}).get(WINDOW, {})
    if not opened.get("opening"):
        ok = False
        debrief = (
            "No STOMP window was opened: the events were not taken into the archive over "
            "STOMP (the hardened broker has none and its Jolokia refuses the purge)."
        )
    elif closed.get("closed"):
        ok = True
        debrief = (
            "broker.stomp_open added a loopback STOMP connector for the clear and "
            "broker.stomp_close took it out again: the broker runs as it shipped."
        )
    else:
        ok = False
        debrief = (
            "The STOMP connector opened for the clear was left open: the broker no longer "
            "runs as it shipped, with a port its hardening had taken away. The step after "
            "the clear (orphaned queues) closes it; or run broker.stomp_close by hand."
        )
    return Point(
        "window_closed",
        "The STOMP window closed again",
        possible if ok else 0,
        possible,
        debrief,
        grading.RESTORE_EVENTS,
    )


def _grade(record: RunRecord, facts: LabFacts) -> list[Point]:
    return [
        grading.no_events_lost(record, 4),
        window_closed(record, 3),
        grading.databases_restored(record, 2),
        grading.no_drift(facts, 3),
        grading.gates_read(record, 2),
        grading.within_time(record, TARGET_SECONDS),
    ]


PURGE_REFUSED = Scenario(
    id="purge-refused",
    title="A broker that refuses the purge",
    ticket=(
        "INC-3391: the Sync Service crashed after last night's backup and its Sync DB is "
        "damaged; restore last night's set. The broker is the one Alfresco ships today "
        "(ActiveMQ 5.19+): only OpenWire, and its Jolokia policy refuses purge and "
        "removeQueue. Hundreds of events wait on the sync queue; none may be lost, and the "
        "broker must be left as it shipped."
    ),
    difficulty=3,
    runbook=restore_steps.RUNBOOK,
    setup=_setup,
    grade=_grade,
    target_seconds=TARGET_SECONDS,
    situation=(
        "last night's backup was taken; the Sync Service stand-in is stopped and "
        f"{PENDING_RATE * PENDING_SECONDS:,.0f} events wait on its queue; the broker is "
        "the hardened one (no STOMP, purge refused)"
    ),
    flavour=CURRENT,
)
