"""A scripted restore for the TUI tests and the screenshots: the contract's steps, fake actions.

`FakeRestore` has the restore runbook's twelve steps (ids, titles, gates,
choices, outputs and PROGRESS details as notes/restore-api.md has them) with
quick scripted actions, run through the real Engine and journal (under
SYNCWIZARD_STATE_DIR): gates, failures, resuming and the journal behave as for
a real run. A test can hold a step mid-way (`hold_at`), make it fail, or make
the Sync Service share the repository DB. Nothing here talks to a network.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from syncwizard.clients.pgtools import Progress
from syncwizard.config import Settings
from syncwizard.errors import SyncWizardError
from syncwizard.runbook.engine import Engine
from syncwizard.runbook.journal import Journal, RunRecord, new_run_id, runs_dir
from syncwizard.runbook.model import (
    Confirm,
    Gate,
    Observer,
    Outputs,
    RefusedError,
    Runbook,
    SkipStep,
    Step,
    StepContext,
)
from syncwizard.runbook.snapshot_dump import iso
from syncwizard.tui import restore_text as rt
from syncwizard.tui.backup_launcher import abandon_run
from syncwizard.tui.backup_text import short_path
from syncwizard.tui.fake import QUEUE, SYNC_ID, T0, TOPIC
from syncwizard.tui.fake_backup import REPOSITORY_TABLES, SYNC_TABLES, Table
from syncwizard.tui.restore_launcher import find_unfinished_restore

RUN_ID = "restore-20260101T020000Z"
SET_RUN_ID = "backup-20260101T000000Z"
FAIL_AT = 2  # a failing step with progress fails after this many reports
REPOSITORY_DB, SYNC_DB = "alfresco", "syncservice"
START_COMMAND = "systemctl start alfresco-sync"
RECOVER_COMMAND = (
    'env JAVA_OPTS="$SYNCWIZARD_RECOVER_OPTION" /opt/alfresco-sync-service/syncservice.sh start'
)
HEALTH_CHECKS = (
    "activeMQConnection",
    "databaseConnection",
    "deadlocks",
    "eventsHealthCheck",
    "minimumClientVersion",
    "repositoryConnection",
    "syncServiceIdCheck",
    "versionCheck",
)
EVENT_TYPES = ("NODEADDED", "NODEUPDATED", "NODEUPDATED", "NODEREMOVED")


@dataclass
class FakeChoices:
    """The contract's RestoreChoices."""

    events_action: Literal["purge", "delete"] | None = None
    recover_user: str | None = None
    recover_password: str | None = field(default=None, repr=False)
    plain_restart: bool | None = None


@dataclass(frozen=True)
class FakeSetListing:
    """The contract's SetListing."""

    path: Path
    run_id: str
    created_at: str
    sync_id: str
    tool_version: str
    total_bytes: int
    dumps: list[dict[str, Any]]
    sealed: bool
    problem: str


@dataclass(frozen=True)
class FakeRecoverWatch:
    """What the recover watch reports: each health check, consumers, seconds left."""

    checks: tuple[tuple[str, bool | None, str], ...]
    consumers: int
    seconds_left: float
    elapsed: float


def demo_sets(backup_dir: Path) -> list[FakeSetListing]:
    """Four sets, newest first: two sealed, one without a manifest, one out of order."""

    def dumps(at: float) -> list[dict[str, Any]]:
        return [
            {
                "path": "repository_db.dump",
                "roles": ["repository_db"],
                "database": REPOSITORY_DB,
                "size_bytes": 121_279_916,
                "format": "directory",
                "snapshot_at_iso": iso(at + 3),
            },
            {
                "path": "sync_db.dump",
                "roles": ["sync_db"],
                "database": SYNC_DB,
                "size_bytes": 9_877_262,
                "format": "directory",
                "snapshot_at_iso": iso(at + 95),
            },
        ]

    def listing(run_id: str, at: float, sealed: bool = True, problem: str = "") -> FakeSetListing:
        return FakeSetListing(
            path=backup_dir / run_id,
            run_id=run_id,
            created_at=iso(at + 109),
            sync_id=SYNC_ID,
            tool_version="0.4.0",
            total_bytes=131_157_178 if sealed else 0,
            dumps=dumps(at) if sealed or problem else [],
            sealed=sealed,
            problem=problem,
        )

    day = 86_400.0
    return [
        listing(
            "backup-20260101T030000Z",
            T0 + 3 * 3600,
            sealed=False,
            problem="no manifest.json (the backup did not finish: its dumps were never sealed)",
        ),
        listing(SET_RUN_ID, T0),
        listing(
            "backup-20251231T000000Z",
            T0 - day,
            problem="the Sync DB dump (00:00:03 UTC) "
            "was not taken after the repository dump (00:01:35 UTC)",
        ),
        listing("backup-20251230T000000Z", T0 - 2 * day),
    ]


def event_line(number: int) -> str:
    """One archived event as the STOMP archive writes it (headers and body)."""
    node = uuid.uuid5(uuid.NAMESPACE_URL, f"node-{number % 977}")
    event = uuid.uuid5(uuid.NAMESPACE_URL, f"event-{number}")
    millis = int((T0 + 60) * 1000) + number * 37
    body = json.dumps(
        {
            "id": str(event),
            "type": EVENT_TYPES[number % len(EVENT_TYPES)],
            "nodeId": str(node),
            "name": f"doc-{number}.txt",
            "timestamp": millis,
        },
        separators=(",", ":"),
    )
    headers = {
        # As ActiveMQ writes them: producer id, session -1 (a STOMP producer), sequence.
        "message-id": f"ID:mq-lab-40519-1767225600000-3:5:-1:1:{number + 1}",
        "destination": f"/queue/{QUEUE}",
        "timestamp": str(millis),
        "persistent": "true",
    }
    return json.dumps({"headers": headers, "body": body}, separators=(",", ":"))


class FakeRestore:
    """The restore steps with scripted actions; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        backup_dir: Path,
        *,
        run_id: str | None = None,
        events: int = 240,
        shared: bool = False,
        incomplete: bool = False,
        hold_at: Mapping[str, int | Iterable[int]] | None = None,
        fail: Mapping[str, SyncWizardError] | None = None,
        sets: Sequence[FakeSetListing] | None = None,
    ) -> None:
        self.settings = settings
        self.backup_dir = backup_dir
        self.run_id = run_id
        self.events = events
        self.shared = shared
        self.incomplete = incomplete
        self.hold_at: dict[str, set[int]] = {
            step: {points} if isinstance(points, int) else set(points)
            for step, points in (hold_at or {}).items()
        }
        self.fail = dict(fail or {})
        self.sets = list(sets) if sets is not None else demo_sets(backup_dir)
        self.calls: list[str] = []  # the actions run, in order
        self.seen: dict[str, dict[str, Any]] = {}  # step -> the choices it saw
        self.dropped: list[tuple[str, str]] = []  # (run id, role) of drop_aside calls
        self.holding: str | None = None
        self._release: dict[tuple[str, int], asyncio.Event] = {}
        self._holding_at: tuple[str, int] | None = None

    # --- control from a test --------------------------------------------------------------

    def release(self) -> None:
        if self._holding_at is not None:
            self._release.setdefault(self._holding_at, asyncio.Event()).set()

    async def _report(self, step_id: str, number: int) -> None:
        """After progress report `number` of a step: hold there, or fail there."""
        await asyncio.sleep(0)
        if number in self.hold_at.get(step_id, ()):
            self.holding, self._holding_at = step_id, (step_id, number)
            try:
                await self._release.setdefault((step_id, number), asyncio.Event()).wait()
            finally:
                self.holding, self._holding_at = None, None
        if number == FAIL_AT:
            self._raise_if_failing(step_id)

    def _raise_if_failing(self, step_id: str) -> None:
        if step_id in self.fail:
            raise self.fail[step_id]

    def _begin(self, step_id: str, choices: FakeChoices) -> None:
        self.calls.append(step_id)
        self.seen[step_id] = {
            "events_action": choices.events_action,
            "recover_user": choices.recover_user,
            "recover_password": choices.recover_password,
            "plain_restart": choices.plain_restart,
        }

    # --- the runbook ----------------------------------------------------------------------

    def runbook(self, set_dir: Path, choices: FakeChoices) -> Runbook:
        return Runbook("restore", tuple(FakeSteps(self, set_dir, choices).steps()))


def _run_dir(ctx: StepContext) -> Path:
    return runs_dir() / ctx.run_id


class FakeSteps:
    """One run's steps (they close over its set folder and choices)."""

    def __init__(self, fake: FakeRestore, set_dir: Path, choices: FakeChoices) -> None:
        self.fake = fake
        self.set_dir = set_dir
        self.choices = choices

    def steps(self) -> list[Step]:
        f = self
        return [
            Step(rt.VERIFY_SET, "Verify the backup set", WHY[rt.VERIFY_SET], f.verify,
                 plan=f.plan_verify),
            Step(rt.PREFLIGHT, "Preflight", WHY[rt.PREFLIGHT], f.preflight,
                 depends_on=(rt.VERIFY_SET,), plan=f.plan_preflight),
            Step(rt.STOP_SERVICES, "Stop the Sync Service and the repository",
                 WHY[rt.STOP_SERVICES], f.stop, gate=f.gate_stop, depends_on=(rt.PREFLIGHT,),
                 plan=f.plan_stop),
            Step(rt.ARCHIVE_EVENTS, "Archive the pending events", WHY[rt.ARCHIVE_EVENTS],
                 f.archive, depends_on=(rt.PREFLIGHT,), plan=f.plan_archive),
            Step(rt.CLEAR_EVENTS, "Purge the queue / Delete topic and queue",
                 WHY[rt.CLEAR_EVENTS], f.clear, gate=f.gate_clear,
                 depends_on=(rt.ARCHIVE_EVENTS,), plan=f.plan_clear),
            Step(rt.RESTORE_REPOSITORY, "Restore the repository DB (into a scratch DB)",
                 WHY[rt.RESTORE_REPOSITORY], f.restore("repository_db", REPOSITORY_TABLES),
                 depends_on=(rt.CLEAR_EVENTS,), plan=f.plan_restore("repository_db")),
            Step(rt.SWAP_REPOSITORY, "Put the restored repository DB in place",
                 WHY[rt.SWAP_REPOSITORY], f.swap("repository_db"),
                 gate=f.gate_swap("repository_db"), depends_on=(rt.RESTORE_REPOSITORY,),
                 plan=f.plan_swap("repository_db")),
            Step(rt.RESTORE_SYNC, "Restore the Sync DB", WHY[rt.RESTORE_SYNC],
                 f.restore("sync_db", SYNC_TABLES), depends_on=(rt.SWAP_REPOSITORY,),
                 plan=f.plan_restore("sync_db")),
            Step(rt.SWAP_SYNC, "Put the restored Sync DB in place", WHY[rt.SWAP_SYNC],
                 f.swap("sync_db"), gate=f.gate_swap("sync_db"), depends_on=(rt.RESTORE_SYNC,),
                 plan=f.plan_swap("sync_db")),
            Step(rt.START_RECOVER, "Start the Sync Service with -Drecover",
                 WHY[rt.START_RECOVER], f.start_recover, gate=f.gate_recover,
                 depends_on=(rt.SWAP_SYNC,), plan=f.plan_recover),
            Step(rt.PLAIN_RESTART, "Restart without recover (offered)", WHY[rt.PLAIN_RESTART],
                 f.plain_restart, depends_on=(rt.START_RECOVER,), plan=f.plan_plain_restart),
            Step(rt.REPORT, "Summary and report", WHY[rt.REPORT], f.report,
                 depends_on=(rt.START_RECOVER,), plan=f.plan_report),
        ]  # fmt: skip

    # --- verify_set and preflight ---------------------------------------------------------

    def plan_verify(self, ctx: StepContext) -> str:
        return (
            f"Reads {self.set_dir}/manifest.json, checks the sha256 of its 10 files "
            "(131 MB) and that the Sync DB dump was taken after the repository dump. "
            "Nothing is changed."
        )

    async def verify(self, ctx: StepContext) -> Outputs:
        self.fake._begin(rt.VERIFY_SET, self.choices)
        for number, name in enumerate(("repository_db.dump", "sync_db.dump"), start=1):
            ctx.progress(f"checking {name} (sha256)")
            await self.fake._report(rt.VERIFY_SET, number)
        self.fake._raise_if_failing(rt.VERIFY_SET)
        shared = self.fake.shared
        return {
            "set_dir": str(self.set_dir),
            "set_run_id": SET_RUN_ID,
            "created_at": iso(T0 + 109),
            "sync_id": SYNC_ID,
            "shared_database": shared,
            "dumps": [{"path": "repository_db.dump", "roles": ["repository_db"]}]
            + ([] if shared else [{"path": "sync_db.dump", "roles": ["sync_db"]}]),
            "files_checked": 10,
            "bytes_checked": 131_157_178,
            "summary": f"set {SET_RUN_ID}: 10 files, 125.1 MiB, every checksum matches",
        }

    def plan_preflight(self, ctx: StepContext) -> str:
        return (
            "Reads the health check, the sync queue and both target databases (size, who is "
            "connected, free room for a second copy). Nothing is changed."
        )

    async def preflight(self, ctx: StepContext) -> Outputs:
        self.fake._begin(rt.PREFLIGHT, self.choices)
        ctx.progress("reading the health check, the broker and the databases")
        await self.fake._report(rt.PREFLIGHT, 1)
        self.fake._raise_if_failing(rt.PREFLIGHT)
        return {
            "sync_id": SYNC_ID,
            "set_sync_id": SYNC_ID,
            "sync_id_differs": False,
            "queue": QUEUE,
            "topic": TOPIC,
            "consumers": 1,
            "databases": {
                "repository_db": {"name": REPOSITORY_DB, "size_bytes": 130_023_424,
                                  "connections": 2},
                "sync_db": {"name": SYNC_DB, "size_bytes": 10_502_144, "connections": 1},
            },
            "room": {
                "repository_db": {"free_bytes": 52_613_349_376, "needed_bytes": 130_023_424,
                                  "mode": "side_by_side"},
                "sync_db": {"free_bytes": 52_613_349_376, "needed_bytes": 10_502_144,
                            "mode": "side_by_side"},
            },
            "warnings": [],
            "summary": "sync GUID as in the set; room for side-by-side restores; "
            "3 sessions on the two databases",
        }  # fmt: skip

    # --- stop, archive, clear -------------------------------------------------------------

    def plan_stop(self, ctx: StepContext) -> str:
        return (
            "Runs `systemctl stop alfresco-sync`, then `systemctl stop alfresco`, and checks "
            "that no consumer is left on the sync queue."
        )

    async def gate_stop(self, ctx: StepContext) -> Gate:
        return Gate(
            title="Stop the Sync Service and the repository?",
            consequences="Users cannot reach Alfresco, and desktop sync stops, until the "
            "restore has started them again.",
            token="stop",
            facts=(
                ("Sync Service", "systemctl stop alfresco-sync"),
                ("Repository", "systemctl stop alfresco"),
                ("Consumers now", "1 on the sync queue"),
            ),
            undo="Starting them again undoes this.",
        )

    async def stop(self, ctx: StepContext) -> Outputs:
        self.fake._begin(rt.STOP_SERVICES, self.choices)
        ctx.log("systemctl stop alfresco-sync")
        ctx.progress("stopping the Sync Service")
        await self.fake._report(rt.STOP_SERVICES, 1)
        ctx.log("systemctl stop alfresco")
        self.fake._raise_if_failing(rt.STOP_SERVICES)
        return {
            "stopped": [
                {"what": "sync_service", "command": "systemctl stop alfresco-sync", "exit_code": 0},
                {"what": "repository", "command": "systemctl stop alfresco", "exit_code": 0},
            ],
            "consumers_after": 0,
            "summary": "Sync Service and repository stopped; no consumer on the sync queue",
        }

    def plan_archive(self, ctx: StepContext) -> str:
        return (
            f"Browses every pending event of {QUEUE} over STOMP (nothing is consumed) into "
            f"{short_path(_run_dir(ctx))}/events.jsonl, then checks the count against QueueSize."
        )

    async def archive(self, ctx: StepContext) -> Outputs:
        self.fake._begin(rt.ARCHIVE_EVENTS, self.choices)
        total = self.fake.events
        written = total - 17 if self.fake.incomplete else total
        name = "events.incomplete.jsonl" if self.fake.incomplete else "events.jsonl"
        path = _run_dir(ctx) / name
        chunk = max(total // 4, 1)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            for number in range(written):
                handle.write(event_line(number) + "\n")
                if (number + 1) % chunk == 0:
                    ctx.progress(f"{number + 1:,} events archived", number + 1)
                    await self.fake._report(rt.ARCHIVE_EVENTS, (number + 1) // chunk)
        self.fake._raise_if_failing(rt.ARCHIVE_EVENTS)
        complete = not self.fake.incomplete
        reason = "" if complete else "the STOMP link dropped after 223 events (no browser: end)"
        return {
            "archive": str(path),
            "count": written,
            "complete": complete,
            "reason": reason,
            "queue_size": total,
            "matches": written == total,
            "summary": f"{written:,} events archived"
            + (", the count matches QueueSize" if complete else f" of {total:,}: INCOMPLETE"),
        }

    def plan_clear(self, ctx: StepContext) -> str:
        action = self.choices.events_action
        if action == "delete":
            return f"Removes the queue {QUEUE} and the topic {TOPIC} over Jolokia, then checks "
            "that both are gone."
        return (
            f"Purges {QUEUE} over Jolokia (or, if you choose so, deletes the topic and queue), "
            "then checks that nothing is pending."
        )

    async def gate_clear(self, ctx: StepContext) -> tuple[Gate, ...]:
        archived = ctx.results.get(rt.ARCHIVE_EVENTS, {})
        pending = int(archived.get("queue_size", 0))
        delete = self.choices.events_action == "delete"
        facts: tuple[tuple[str, str], ...] = (
            ("Queue", QUEUE),
            ("Pending events", f"{pending:,}"),
            ("Archived to", short_path(str(archived.get("archive", "")))),
        )
        if delete:
            facts += (("Topic", TOPIC),)
        gates = [
            Gate(
                title="Delete the virtual topic and its queue?" if delete else "Purge the queue?",
                consequences=(rt.DELETE_CONSEQUENCE if delete else rt.PURGE_CONSEQUENCE),
                token=SYNC_ID[:8],
                facts=facts,
            )
        ]
        if not archived.get("complete", True):
            gates.append(
                Gate(
                    title="The archive is incomplete: clear the queue anyway?",
                    consequences=f"Only {archived.get('count', 0):,} of {pending:,} pending "
                    f"events are in the archive ({archived.get('reason')}); the others are "
                    "lost for good.",
                    token="incomplete",
                    facts=(("Not archived", f"{pending - int(archived.get('count', 0)):,}"),),
                )
            )
        return tuple(gates)

    async def clear(self, ctx: StepContext) -> Outputs:
        self.fake._begin(rt.CLEAR_EVENTS, self.choices)
        action = self.choices.events_action
        if action is None:
            raise RefusedError(
                "Purge the queue / Delete topic and queue: no choice was made (events_action)",
                hint="choose purge or delete first; nothing was done",
            )
        ctx.record("choice", {"action": action})
        ctx.progress("purging the queue" if action == "purge" else "removing the queue and topic")
        await self.fake._report(rt.CLEAR_EVENTS, 1)
        self.fake._raise_if_failing(rt.CLEAR_EVENTS)
        cleared = int(ctx.results.get(rt.ARCHIVE_EVENTS, {}).get("queue_size", 0))
        done = "purged" if action == "purge" else "deleted with its topic"
        return {
            "action": action,
            "queue": QUEUE,
            "topic": TOPIC,
            "cleared": cleared,
            "verified": True,
            "summary": f"queue {done}: {cleared:,} events removed, verified",
        }

    # --- restores and swaps ---------------------------------------------------------------

    def _skip_if_shared(self, role: str) -> None:
        if role == "sync_db" and self.fake.shared:
            raise SkipStep(
                f"the Sync Service shares the repository database {REPOSITORY_DB}; "
                "its restore covered the Sync tables",
                {"shared": True},
            )

    def plan_restore(self, role: str):  # type: ignore[no-untyped-def]
        database = REPOSITORY_DB if role == "repository_db" else SYNC_DB

        def plan(ctx: StepContext) -> str:
            if role == "sync_db" and rt.shared_database(ctx.results):
                return "Nothing: the repository restore covered the Sync tables."
            return (
                f"pg_restore --jobs=2 of {role}.dump into the scratch database "
                f"{database}__restore_{ctx.run_id[-8:]}, then compares its tables and row "
                f"counts with the manifest. {database} itself is not touched."
            )

        return plan

    def restore(self, role: str, tables: Sequence[Table]):  # type: ignore[no-untyped-def]
        step_id = rt.RESTORE_REPOSITORY if role == "repository_db" else rt.RESTORE_SYNC
        database = REPOSITORY_DB if role == "repository_db" else SYNC_DB
        total = sum(t.rows for t in tables)

        async def restore(ctx: StepContext) -> Outputs:
            self.fake._begin(step_id, self.choices)
            self._skip_if_shared(role)
            done = 0
            for number, table in enumerate(tables, start=1):
                line = f'pg_restore: processing data for table "{table.name}"'
                ctx.log(line)
                ctx.progress(
                    f"{role} restore: data, {done + table.rows // 2:,} rows, {table.name}",
                    Progress("pg_restore", "data", table.name, table.size // 2,
                             done + table.rows // 2, total, (line,), 8.0 * number),
                )  # fmt: skip
                await self.fake._report(step_id, number)
                done += table.rows
            self.fake._raise_if_failing(step_id)
            scratch = f"{database}__restore_{ctx.run_id[-8:]}"
            return {
                "database": database,
                "scratch": scratch,
                "mode": "side_by_side",
                "tables": len(tables),
                "rows": total,
                "seconds": 41.0,
                "summary": f"{scratch}: {len(tables)} tables, {total:,} rows, as the manifest",
            }

        return restore

    def plan_swap(self, role: str):  # type: ignore[no-untyped-def]
        database = REPOSITORY_DB if role == "repository_db" else SYNC_DB

        def plan(ctx: StepContext) -> str:
            if role == "sync_db" and rt.shared_database(ctx.results):
                return "Nothing: the repository swap put the Sync tables in place."
            return (
                f"Terminates the sessions on {database}, renames it to "
                f"{database}__before_{ctx.run_id}, and renames the restored scratch "
                f"database to {database}."
            )

        return plan

    def gate_swap(self, role: str):  # type: ignore[no-untyped-def]
        database = REPOSITORY_DB if role == "repository_db" else SYNC_DB

        async def gate(ctx: StepContext) -> Gate | None:
            if role == "sync_db" and self.fake.shared:
                return None
            facts = ctx.results.get(rt.PREFLIGHT, {}).get("databases", {}).get(role, {})
            size = int(facts.get("size_bytes", 0))
            return Gate(
                title=f"Replace the database {database}?",
                consequences=f"Its sessions are terminated and it is renamed aside; the "
                f"restored copy takes its place. Changes made since the backup are gone from "
                f"{database} (the old copy stays until you drop it).",
                token=database,
                facts=(
                    ("Database", f"{database} on 127.0.0.1:15432"),
                    ("Size", f"{size / 1024 / 1024:.1f} MiB"),
                    ("Connected", "alfresco from 127.0.0.1 (pid 4100, idle)"),
                    ("Kept aside as", f"{database}__before_{ctx.run_id}"),
                ),
                undo=f"Until {database}__before_{ctx.run_id} is dropped, renaming it back "
                "undoes this.",
            )

        return gate

    def swap(self, role: str):  # type: ignore[no-untyped-def]
        step_id = rt.SWAP_REPOSITORY if role == "repository_db" else rt.SWAP_SYNC
        database = REPOSITORY_DB if role == "repository_db" else SYNC_DB

        async def swap(ctx: StepContext) -> Outputs:
            self.fake._begin(step_id, self.choices)
            self._skip_if_shared(role)
            aside = f"{database}__before_{ctx.run_id}"
            ctx.progress(f"terminating the sessions on {database}")
            await self.fake._report(step_id, 1)
            self.fake._raise_if_failing(step_id)
            ctx.record("swapped", {"database": database, "aside": aside})
            return {
                "database": database,
                "aside": aside,
                "terminated": 1,
                "summary": f"{database} is the restored copy; the old one is {aside}",
            }

        return swap

    # --- the recover start ----------------------------------------------------------------

    def plan_recover(self, ctx: StepContext) -> str:
        return (
            f"Runs `{RECOVER_COMMAND}` with the recover option (repository admin user and "
            "password) in its environment, then watches until every health check is healthy "
            "and a consumer is attached to the sync queue (at most 10 min)."
        )

    async def gate_recover(self, ctx: StepContext) -> Gate:
        return Gate(
            title="Start the Sync Service with -Drecover?",
            consequences="The Sync Service compares its database with the repository and "
            "reconciles every difference; desktop clients resynchronise what changed.",
            token="recover",
            facts=(
                ("Command", RECOVER_COMMAND),
                ("Repository user", str(self.choices.recover_user or "")),
            ),
        )

    async def start_recover(self, ctx: StepContext) -> Outputs:
        self.fake._begin(rt.START_RECOVER, self.choices)
        if not self.choices.recover_user or not self.choices.recover_password:
            raise RefusedError(
                "Start the Sync Service with -Drecover: no repository admin user or password",
                hint="enter them when asked; nothing was started",
            )
        ctx.log(RECOVER_COMMAND)
        for number in range(1, 5):
            healthy = min(number * 2 + 1, len(HEALTH_CHECKS))
            checks = tuple(
                (name, index < healthy, "" if index < healthy else "starting")
                for index, name in enumerate(HEALTH_CHECKS)
            )
            watch = FakeRecoverWatch(
                checks, 1 if number >= 4 else 0, 600.0 - 5 * number, 5.0 * number
            )
            ctx.progress(rt.watch_headline(watch), watch)
            await self.fake._report(rt.START_RECOVER, number)
        self.fake._raise_if_failing(rt.START_RECOVER)
        return {
            "command": RECOVER_COMMAND,
            "exit_code": 0,
            "healthy_at": iso(T0 + 7260),
            "consumers": 1,
            "health": {name: True for name in HEALTH_CHECKS},
            "persistent_note": "The start command passes the recover option only through "
            "$SYNCWIZARD_RECOVER_OPTION: nothing persists, no change is needed.",
            "summary": "healthy after 20 s: 8 of 8 checks, 1 consumer on the sync queue",
        }

    def plan_plain_restart(self, ctx: StepContext) -> str:
        return f"If you choose it: stops the Sync Service and starts it with `{START_COMMAND}`."

    async def plain_restart(self, ctx: StepContext) -> Outputs:
        self.fake._begin(rt.PLAIN_RESTART, self.choices)
        if self.choices.plain_restart is None:
            raise RefusedError(
                "Restart without recover: no choice was made (plain_restart)",
                hint="choose Restart or Skip first; nothing was done",
            )
        if not self.choices.plain_restart:
            raise SkipStep("you chose not to restart", {"summary": "skipped (chosen)"})
        ctx.progress("restarting the Sync Service")
        await self.fake._report(rt.PLAIN_RESTART, 1)
        self.fake._raise_if_failing(rt.PLAIN_RESTART)
        return {"exit_code": 0, "healthy_at": iso(T0 + 7300), "summary": "restarted; healthy"}

    def plan_report(self, ctx: StepContext) -> str:
        return f"Writes {short_path(_run_dir(ctx))}/report.md (no secret in it)."

    async def report(self, ctx: StepContext) -> Outputs:
        self.fake._begin(rt.REPORT, self.choices)
        self.fake._raise_if_failing(rt.REPORT)
        path = _run_dir(ctx) / "report.md"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(f"# Restore {ctx.run_id}\n\nRestored {SET_RUN_ID}.\n")
        return {"report": str(path), "summary": f"report written: {path}"}


WHY = {
    rt.VERIFY_SET: "A restore is only as good as its set: every file is checked against the "
    "manifest's sha256, and the Sync DB dump must have been taken after the repository dump "
    "(else the Sync DB would know of nodes the repository lacks).",
    rt.PREFLIGHT: "What will be touched is read before anything is: the target databases and "
    "who is connected, the room for a second copy, the queue, and whether the set's sync GUID "
    "is the one the Sync Service reports now.",
    rt.STOP_SERVICES: "Recommended: a live Sync Service still works through up to 3000 "
    "prefetched events after a purge, and a live repository keeps producing events while its "
    "database is replaced.",
    rt.ARCHIVE_EVENTS: "The events pending now are copied to the run folder before anything is "
    "purged, so nothing is lost for good; the archive's count is checked against QueueSize.",
    rt.CLEAR_EVENTS: "The pending events describe changes the restored databases do not have; "
    "the recover start reconciles instead. Look through them below, then choose.",
    rt.RESTORE_REPOSITORY: "The dump goes into a scratch database first and is verified "
    "(tables and row counts against the manifest) before the live database is touched.",
    rt.SWAP_REPOSITORY: "Only now is the live database replaced, by two renames: the old one "
    "stays aside until you drop it from the summary.",
    rt.RESTORE_SYNC: "As for the repository: into a scratch database, verified, before the "
    "live Sync DB is touched.",
    rt.SWAP_SYNC: "The restored Sync DB takes the place of the live one; the old one stays "
    "aside until you drop it.",
    rt.START_RECOVER: "With -Drecover the Sync Service compares its database with the "
    "repository and reconciles what the restore and the purge left out. It needs a repository "
    "admin user.",
    rt.PLAIN_RESTART: "If the start command keeps its options (a persistent JAVA_OPTS), the "
    "recover option would run again at every start; a plain restart makes sure it does not.",
    rt.REPORT: "A Markdown report of the run for the change ticket: timeline, what was purged "
    "and where its archive is, sizes, checksums, health at the end. No secret in it.",
}


class FakeRestoreLauncher:
    """A RestoreLauncher over a FakeRestore: the real Engine and journal, scripted steps."""

    def __init__(self, fake: FakeRestore) -> None:
        self.fake = fake
        self.engines: list[Engine] = []
        self.choices: list[FakeChoices] = []

    def find_unfinished(self) -> RunRecord | None:
        return find_unfinished_restore()

    def abandon(self, record: RunRecord, reason: str) -> None:
        abandon_run(record, reason)

    async def step_titles(self, record: RunRecord) -> dict[str, str]:
        runbook = self.fake.runbook(self.fake.backup_dir, FakeChoices())
        return {step.id: step.title for step in runbook.steps}

    async def list_sets(self) -> list[Any]:
        return list(self.fake.sets)

    async def make_choices(self) -> FakeChoices:
        choices = FakeChoices()
        self.choices.append(choices)
        return choices

    async def start(
        self, set_dir: Path, choices: Any, observers: Sequence[Observer], confirm: Confirm
    ) -> Engine:
        run_id = base = self.fake.run_id or new_run_id("restore")
        number = 1
        while (runs_dir() / run_id).exists():
            number += 1
            run_id = f"{base}-{number}"
        journal = Journal.create(runs_dir() / run_id)
        runbook = self.fake.runbook(set_dir, choices)
        engine = Engine(runbook, journal, run_id, observers=observers, confirm=confirm)
        engine.start(
            {
                "profile": self.fake.settings.profile.name,
                "backup_set": str(set_dir),
                "pid": os.getpid(),
            }
        )
        self.engines.append(engine)
        return engine

    async def resume(
        self, record: RunRecord, choices: Any, observers: Sequence[Observer], confirm: Confirm
    ) -> Engine:
        previous = record.status()
        journal = Journal.open(record.run_dir)
        runbook = self.fake.runbook(Path(record.header["backup_set"]), choices)
        engine = Engine.resume(runbook, record, journal, observers=observers, confirm=confirm)
        engine.announce_resume(
            f"resuming run {record.run_id} at step {record.stopped_at!r} (it was {previous})"
        )
        self.engines.append(engine)
        return engine

    async def drop_aside(self, run_id: str, role: str) -> None:
        self.fake._raise_if_failing(f"drop_aside:{role}")
        self.fake.dropped.append((run_id, role))
