"""The Sync Service never healthy after the -Drecover start: its Sync DB password was
rotated under it. The health check names databaseConnection; the fix is the role's password."""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from datetime import datetime

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from syncwizard.config import Profile
from syncwizard.lab import postgres
from syncwizard.lab.layout import LabLayout
from syncwizard.runbook.journal import RunRecord
from syncwizard.runbook.model import StepState
from syncwizard.runbook.restore import step_names as restore_steps
from syncwizard.runbook.restore.recover_watch import UNHEALTHY_SEEN
from syncwizard.train import grading
from syncwizard.train.model import Fault, LabFacts, Point, Scenario
from syncwizard.train.scenarios.common import take_backup

TARGET_SECONDS = 900.0
FAILING_CHECK = "databaseConnection"  # the health check component the fault breaks
# The stand-in's sessions (startup, recover, health probe, consumer) are named so.
STANDIN_SESSIONS = "syncwizard-standin%"
RECOVER_SESSION = "syncwizard-standin-recover"
# How long the fault waits for the -Drecover start: the step's gate is read and answered
# first, so as long as a trainee may take.
WAIT_FOR_RECOVER = TARGET_SECONDS
# How long after the rotation sessions that logged in before it are still looked for.
SWEEP_SECONDS = 5.0


async def _setup(layout: LabLayout, profile: Profile) -> None:
    await take_backup(profile)


def sync_role(layout: LabLayout) -> str:
    """The role the Sync Service reaches its tables as (its conninfo's user)."""
    return str(conninfo_to_dict(postgres.sync_conninfo(layout))["user"])


def _set_password(admin: psycopg.Connection, role: str, password: str) -> None:
    admin.execute(
        sql.SQL("ALTER ROLE {} PASSWORD {}").format(
            sql.Identifier(role), sql.Literal(postgres.scram_verifier(password))
        )
    )


def _recover_waits_on(admin: psycopg.Connection, holder_pid: int) -> bool:
    """Whether the stand-in's recover session waits for the lock `holder_pid` holds."""
    row = admin.execute(
        "SELECT 1 FROM pg_stat_activity WHERE application_name = %s "
        "AND %s = ANY(pg_blocking_pids(pid))",
        (RECOVER_SESSION, holder_pid),
    ).fetchone()
    return row is not None


def _end_sessions_before(admin: psycopg.Connection, role: str, rotated_at: datetime) -> None:
    """End the service's sessions (all but the recover's) that logged in with the old
    password."""
    admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE usename = %s AND application_name LIKE %s AND application_name <> %s "
        "AND backend_start < %s",
        (role, STANDIN_SESSIONS, RECOVER_SESSION, rotated_at),
    )


def _sync_db_as_superuser(layout: LabLayout) -> str:
    dbname = str(conninfo_to_dict(postgres.sync_conninfo(layout))["dbname"])
    return postgres.superuser_conninfo(layout, dbname)


def hold_recovery(layout: LabLayout) -> psycopg.Connection:
    """The fault's hold on the moment: `sync_recovery` locked against inserts in an open
    transaction, so the -Drecover start's reconcile, whenever it comes, waits on its first
    statement with its session open."""
    holder = psycopg.connect(_sync_db_as_superuser(layout))
    try:
        holder.execute("LOCK TABLE sync_recovery IN SHARE ROW EXCLUSIVE MODE")
    except psycopg.Error:
        holder.close()
        raise
    return holder


def rotate_when_recovering(
    layout: LabLayout,
    holder: psycopg.Connection,
    wait: float = WAIT_FOR_RECOVER,
    sweep: float = SWEEP_SECONDS,
) -> bool:
    """A DBA's password rotation of the Sync DB role that nobody carried into the Sync
    Service's configuration, landing while the -Drecover start reconciles: the recover
    goes on over the session it has open, and every connection the recovered service
    opens after it (its consumer's, its health check's) is refused.

    Once the reconcile waits on `holder`'s lock, the new password is committed (every
    login from then on is refused), then the service's other sessions are ended and the
    lock released. PostgreSQL shows a session in pg_stat_activity only some moments after
    its login, so for `sweep` seconds more any session that logged in before the rotation
    is ended as it shows. True once rotated; False if no recover came within `wait`
    seconds (the trainee stopped before the start): then nothing is changed. Closes
    `holder`."""
    role = sync_role(layout)
    deadline = time.monotonic() + wait
    with holder, psycopg.connect(_sync_db_as_superuser(layout), autocommit=True) as admin:
        while not _recover_waits_on(admin, holder.info.backend_pid):
            if time.monotonic() >= deadline:
                holder.rollback()
                return False
            time.sleep(0.05)
        _set_password(admin, role, secrets.token_urlsafe(24))
        row = admin.execute("SELECT clock_timestamp()").fetchone()
        assert row is not None
        rotated_at: datetime = row[0]
        _end_sessions_before(admin, role, rotated_at)
        holder.commit()  # the recover goes on over its open session
        swept_until = time.monotonic() + sweep
        while time.monotonic() < swept_until:
            time.sleep(0.05)
            _end_sessions_before(admin, role, rotated_at)
    return True


def rotate_sync_password(
    layout: LabLayout, wait: float = WAIT_FOR_RECOVER, sweep: float = SWEEP_SECONDS
) -> bool:
    """`hold_recovery`, then `rotate_when_recovering`."""
    return rotate_when_recovering(layout, hold_recovery(layout), wait, sweep)


def _rotate_quietly(layout: LabLayout, holder: psycopg.Connection) -> None:
    # A `lab reset` meanwhile drops the database under the waiting sessions: the fault
    # is then moot, and says nothing over the trainee's terminal.
    with contextlib.suppress(psycopg.Error):
        rotate_when_recovering(layout, holder)


def rotate_at_the_recover(layout: LabLayout) -> None:
    """The fault: armed once the repository is running on its restored database (the step
    before the -Drecover start, whose credentials and gate the trainee answers next). The
    hold is taken before this returns; the rotation waits in the background."""
    try:
        holder = hold_recovery(layout)
    except psycopg.Error:
        return  # no restored Sync DB to hold (the lab was reset meanwhile): moot
    threading.Thread(
        target=_rotate_quietly, args=(layout, holder), name="rotate-sync-password", daemon=True
    ).start()


def restore_sync_password(layout: LabLayout) -> None:
    """The fix the debrief names: the role gets back the password the Sync Service's
    configuration holds (in the lab, its pgpass file). The running service reconnects by
    itself: no restart, no second -Drecover."""
    role = sync_role(layout)
    with psycopg.connect(postgres.superuser_conninfo(layout), autocommit=True) as admin:
        _set_password(admin, role, postgres.read_pgpass_passwords(layout)[role])


def unhealthy_failures(record: RunRecord) -> list[str]:
    """The recover step's failures that named the failing health check."""
    return [
        str(error.get("message", ""))
        for error in grading.step_errors(record, restore_steps.RECOVER)
        if error.get("system") == "health" and FAILING_CHECK in str(error.get("message", ""))
    ]


def unhealthy_seen(record: RunRecord) -> list[str]:
    """What the failing check said each time a watch after the -Drecover start saw it fail
    (also when it was put right before the watch ended)."""
    return [
        str(seen["checks"][FAILING_CHECK].get("message", ""))
        for seen in grading.step_records(record, restore_steps.RECOVER, UNHEALTHY_SEEN)
        if FAILING_CHECK in (seen.get("checks") or {})
    ]


def _unhealthy_named(record: RunRecord) -> Point:
    stopped, seen = unhealthy_failures(record), unhealthy_seen(record)
    return Point(
        "unhealthy_named",
        "The failing health check was seen and named",
        2 if stopped or seen else 0,
        2,
        f"The run did not declare the restore done: the watch after the -Drecover start "
        f"timed out and said which check failed and why ({FAILING_CHECK}: the Sync DB "
        "refused the service's password). The recover itself had run: only the database "
        "connection was broken."
        if stopped
        else f"The watch after the -Drecover start saw {FAILING_CHECK} fail ({seen[0]}) and "
        "went on watching rather than declaring the restore done: the Sync DB refused the "
        "service's password. The recover itself had run: only the database connection was "
        "broken."
        if seen
        else f"No watch after a -Drecover start saw {FAILING_CHECK} fail.",
        grading.RESTORE_AVAILABLE,
    )


def _fixed(record: RunRecord) -> Point:
    stopped = bool(unhealthy_failures(record))
    ok = (stopped or bool(unhealthy_seen(record))) and grading.done(record, restore_steps.RECOVER)
    return Point(
        "fixed",
        "The cause was fixed and the service became healthy",
        4 if ok else 0,
        4,
        "The Sync DB role's password was rotated by a DBA and the Sync Service's configuration "
        "still held the old one. Once the role had the configured password again (or the "
        "configuration the new one), the service reconnected by itself; "
        + (
            "the step, run again, only watched (no second start) and saw it healthy with a "
            "consumer on its queue."
            if stopped
            else "the watch, still running, saw it healthy with a consumer on its queue."
        )
        if ok
        else "The Sync Service was left unhealthy: its health check said "
        f"{FAILING_CHECK} (password authentication failed for the Sync DB role). Give the "
        "role back the password the service's configuration holds (as the database's "
        "superuser: ALTER ROLE sync PASSWORD '...'; in the lab the configured one is on the "
        "sync line of its pgpass file), or put the new one in the service's configuration and "
        "restart it; then run the step again: it watches the same start.",
        grading.RESTORE_AVAILABLE,
    )


def _grade(record: RunRecord, facts: LabFacts) -> list[Point]:
    return [
        _unhealthy_named(record),
        _fixed(record),
        grading.recover_removed(record, 2),
        grading.no_drift(facts, 3),
        grading.gates_read(record, 2),
        grading.within_time(record, TARGET_SECONDS),
    ]


NEVER_HEALTHY_AFTER_RECOVER = Scenario(
    id="never-healthy-after-recover",
    title="The Sync Service never healthy after the recover start",
    ticket=(
        "INC-3455: after tonight's storage migration the Sync DB lost its last hours of "
        "tracking. Restore last night's backup of the repository and the Sync Service. The "
        "DBA team is doing its quarterly credential rotation on the database server tonight."
    ),
    difficulty=3,
    runbook=restore_steps.RUNBOOK,
    setup=_setup,
    grade=_grade,
    faults=(
        Fault(
            restore_steps.START_REPOSITORY,
            StepState.DONE,
            "the Sync DB role's password is rotated while the -Drecover start reconciles "
            "(the Sync Service's configuration keeps the old one)",
            rotate_at_the_recover,
        ),
    ),
    target_seconds=TARGET_SECONDS,
    situation="last night's backup was taken; a fault waits for the -Drecover start",
)
