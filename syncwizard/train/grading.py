"""The graded points scenarios share, each from a step of Alfresco's procedure.

Every point reads only the run's journal (its RunRecord) and the lab's state, so the same
run and lab give the same grade. The procedure's steps are quoted from Alfresco's "Backing
up and restoring the Sync Service" (Sync Service 3.x/4.x).
"""

from __future__ import annotations

from typing import Any

from syncwizard.lab import postgres
from syncwizard.lab.layout import LabLayout
from syncwizard.runbook.backup import step_names as backup_steps
from syncwizard.runbook.journal import JOURNAL_NAME, RunRecord, read_entries
from syncwizard.runbook.model import EventKind, StepState
from syncwizard.runbook.restore import step_names as restore_steps
from syncwizard.train.model import LabFacts, Point

BACKUP_REPOSITORY = "Backup, step 1: back up the repository database (before the Sync DB)"
BACKUP_WAIT = (
    "Backup, steps 2-3: wait until the Sync Service has tracked the repository backup "
    "(Messages Dequeued == Number Of Pending Messages on Consumer.<guid>.<topic>)"
)
BACKUP_SYNC = "Backup, step 4: back up the Sync Service database"
RESTORE_EVENTS = (
    "Restore, step 1: remove the undelivered events of Consumer.<guid>.<topic> "
    "(or delete the virtual topic and its queue)"
)
RESTORE_QUIET = (
    "Restore, step 1 (before 2.1): remove the undelivered events of Consumer.<guid>.<topic> "
    "once nothing arrives any more: what a still-running repository adds after the clear "
    "belongs to a database the restore is about to replace"
)
RESTORE_DATABASES = "Restore, steps 2.1-2.2: restore the repository DB, then the Sync DB"
RESTORE_RECOVER = (
    "Restore, step 2.3: restart the Sync Service with -Drecover=<repo admin>:<password>, "
    "which brings it in line with the repository during bootstrap"
)
RESTORE_AVAILABLE = (
    "Restore, step 2.3: the Sync Service ensures that it and the repository are in sync "
    "during bootstrap, before becoming available for requests (its health check healthy, "
    "a consumer on Consumer.<guid>.<topic>)"
)


def lab_facts(layout: LabLayout) -> LabFacts:
    return LabFacts(drift=postgres.node_drift(layout))


def seconds_taken(record: RunRecord) -> float:
    return max(0.0, record.last_at - record.started_at)


def done(record: RunRecord, step: str) -> bool:
    return record.states.get(step) == StepState.DONE


def _entries(record: RunRecord) -> list[dict[str, Any]]:
    try:
        return read_entries(record.run_dir / JOURNAL_NAME)
    except OSError:
        return []


def step_errors(record: RunRecord, step: str) -> list[dict[str, Any]]:
    """The error of every failed attempt of `step`, oldest first, read from the run's
    journal: the RunRecord keeps only the last one, and forgets it once a retry succeeded,
    while grading asks what the attempts before met."""
    return [
        dict(entry.get("error") or {})
        for entry in _entries(record)
        if entry.get("kind") == EventKind.STATE
        and entry.get("step") == step
        and entry.get("state") == StepState.FAILED
    ]


def step_records(record: RunRecord, step: str, name: str) -> list[dict[str, Any]]:
    """Every record `name` of `step`, oldest first, read from the run's journal (the
    RunRecord keeps the last of each name)."""
    return [
        dict(entry.get("data") or {})
        for entry in _entries(record)
        if entry.get("kind") == EventKind.RECORD
        and entry.get("step") == step
        and entry.get("message") == name
    ]


def finished(record: RunRecord, possible: int, procedure: str) -> Point:
    ok = record.outcome == "finished"
    return Point(
        "finished",
        "The run finished",
        possible if ok else 0,
        possible,
        "Every step of the runbook is done."
        if ok
        else f"The run ended {record.status()}, at the step {record.stopped_at or '?'}.",
        procedure,
    )


def no_drift(facts: LabFacts, possible: int) -> Point:
    drift = facts.drift
    return Point(
        "drift",
        "Repository and Sync DB agree at the end",
        possible if drift.in_sync else 0,
        possible,
        "The Sync DB tracks every live node of the repository and nothing else."
        if drift.in_sync
        else f"At grading, {drift.sentence}: Sync clients would see stale or ghost files.",
        RESTORE_RECOVER,
    )


def within_time(record: RunRecord, target: float) -> Point:
    taken = seconds_taken(record)
    ok = taken <= target
    return Point(
        "time",
        f"Done within {target:.0f} s",
        1 if ok else 0,
        1,
        f"The run took {taken:.0f} s "
        + ("(within the target)." if ok else f"(the target is {target:.0f} s)."),
        "The whole procedure: the Sync Service is down or stale while it runs.",
    )


def drain_criterion(record: RunRecord, possible: int) -> Point:
    result = record.results.get(backup_steps.WAIT, {})
    mode = result.get("mode")
    ok = mode == "drain"
    if ok:
        debrief = f"The Sync DB was dumped once the drain criterion held: {result.get('clause')}."
    elif mode == "countdown":
        debrief = (
            "A countdown was used: nothing showed the Sync Service had tracked the repository "
            "backup before its database was dumped."
        )
    else:
        debrief = "The wait for the Sync Service did not end with the drain criterion met."
    return Point(
        "drain",
        "Waited for the drain, not a clock",
        possible if ok else 0,
        possible,
        debrief,
        BACKUP_WAIT,
    )


def no_sync_dump_behind_stall(record: RunRecord, possible: int) -> Point:
    dumped = done(record, backup_steps.SYNC)
    return Point(
        "no_stale_sync_dump",
        "No Sync DB backup behind a stalled consumer",
        0 if dumped else possible,
        possible,
        "The Sync DB was dumped while the consumer consumed nothing: the set's Sync DB misses "
        "changes its repository DB holds, and a restore from it starts with drift."
        if dumped
        else "The Sync DB was not dumped while the consumer was stalled: the set was not "
        "sealed and the stall could be investigated.",
        BACKUP_SYNC,
    )


def no_events_lost(record: RunRecord, possible: int) -> Point:
    result = record.results.get(restore_steps.CLEAR, {})
    given_up = int(result.get("given_up", 0))
    archived = int(result.get("archived", 0))
    ok = done(record, restore_steps.CLEAR) and given_up == 0
    if ok:
        debrief = f"{archived:,} undelivered event(s) were archived before leaving the queue."
    elif given_up:
        debrief = (
            f"{given_up:,} event(s) were given up without an archive: what they told is "
            "only recoverable by -Drecover, and no one can look at them afterwards."
        )
    else:
        debrief = "The undelivered events were not cleared."
    return Point(
        "events_lost",
        "No event lost",
        possible if ok else 0,
        possible,
        debrief,
        RESTORE_EVENTS,
    )


def sync_db_restored(record: RunRecord) -> bool:
    """The Sync DB put in place: by its own swap, or, where the Sync Service keeps its
    tables in the repository database (the current flavour), with the repository's (the
    Sync swap is skipped saying so)."""
    if done(record, restore_steps.SWAP_SYNC):
        return True
    skipped = record.states.get(restore_steps.SWAP_SYNC) == StepState.SKIPPED
    reason = str(record.results.get(restore_steps.SWAP_SYNC, {}).get("reason", ""))
    return skipped and "in the repository database" in reason


def databases_restored(record: RunRecord, possible: int) -> Point:
    ok = done(record, restore_steps.SWAP_REPOSITORY) and sync_db_restored(record)
    return Point(
        "databases",
        "Both databases restored, repository first",
        possible if ok else 0,
        possible,
        "The repository DB, then the Sync DB, were restored and put in place."
        if ok
        else "The databases were not both restored.",
        RESTORE_DATABASES,
    )


def recover_removed(record: RunRecord, possible: int) -> Point:
    result = record.results.get(restore_steps.PLAIN_RESTART, {})
    ok = done(record, restore_steps.PLAIN_RESTART) and bool(result.get("restarted"))
    return Point(
        "recover_removed",
        "-Drecover removed afterwards",
        possible if ok else 0,
        possible,
        "The Sync Service was restarted without -Drecover: the next restart will not "
        "reconcile again, and the admin password is gone from its arguments."
        if ok
        else "The Sync Service still runs with -Drecover in its arguments: the admin "
        "password is readable in its process list and a restart would recover again.",
        RESTORE_RECOVER,
    )


GATES = (
    "Every destructive step of the procedure (restore step 1's removal of the events, "
    "steps 2.1-2.2's restores): its gate states what it destroys; read it before confirming"
)
# The least a gate takes to read: its title and consequences, then each fact it shows
# (names, counts, sizes). A confirmation sooner than that was given without the facts.
READ_SECONDS = 1.0
READ_SECONDS_PER_FACT = 0.3


def reading_seconds(facts: int) -> float:
    return READ_SECONDS + READ_SECONDS_PER_FACT * facts


def _shown(gate: dict[str, object]) -> str:
    facts = gate.get("facts") or []
    rows = [f"{label}: {value}" for label, value in facts] if isinstance(facts, list) else []
    return f"'{gate.get('title')}'" + (f" (showing {'; '.join(rows[:3])})" if rows else "")


def gates_read(record: RunRecord, possible: int) -> Point:
    confirmed = [g for g in record.gates if g.get("confirmed")]
    hasty = [
        g
        for g in confirmed
        if float(g.get("seconds", 0.0)) < reading_seconds(len(g.get("facts") or []))
    ]
    if not confirmed:
        debrief = "No confirmation was given."
    elif not hasty:
        debrief = (
            f"Each of the {len(confirmed)} confirmation(s) stayed up long enough to read "
            "its facts before it was confirmed."
        )
    else:
        first = hasty[0]
        facts = len(first.get("facts") or [])
        debrief = (
            f"{len(hasty)} of {len(confirmed)} confirmation(s) came sooner than their facts "
            f"can be read. First: {_shown(first)} was confirmed after "
            f"{float(first.get('seconds', 0.0)):.1f} s; its {facts} fact(s) take "
            f"{reading_seconds(facts):.1f} s to read. A gate passed without its facts "
            "confirms whatever it happened to say."
        )
    return Point(
        "gates_read",
        "No gate passed without reading its facts",
        possible if confirmed and not hasty else 0,
        possible,
        debrief,
        GATES,
    )


# --- what the lab-fault scenarios grade (purge refused, full volume, cluster, corrupted set) --

BACKUP_DUMPS = (
    "Backup, steps 1 and 4: back up the repository DB, then the Sync DB, with the database "
    "vendor's tools (a dump is a backup once it is whole on disk, beside its partner)"
)
BACKUP_GUID = (
    "Backup, step 3: `guid` is the synchronization server id, from syncServiceIdCheck in the "
    "health check response: the queue to watch is Consumer.<guid>.<topic>, one per cluster"
)
RESTORE_FROM_SET = (
    "Restore, steps 2.1-2.2: restore the repository DB, then the Sync DB, with the vendor's "
    "tools, from one backup whose files are those that were backed up"
)
