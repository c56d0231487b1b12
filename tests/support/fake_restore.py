"""A scripted restore for the TUI tests and the screenshots: the runbook's steps, fake actions.

`FakeRestore` has the restore runbook's steps (ids, titles and whys from
runbook/restore/step_names.py) with quick scripted actions, run through the real Engine
and journal (under SYNCWIZARD_STATE_DIR): gates, failures, resuming and the journal
behave as for a real run. The steps around the broker and the repository (nothing
still arriving, the clear, the repository's start) are the runbook's own code over a
fake broker (`FakeBroker`), so their texts, gates and counts are the product's. A
test can hold a step mid-way (`hold_at`), make it fail, make the repository still
produce (`producing`), or make the Sync Service share the repository DB. Nothing
here talks to a network.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from support.fake_backup import REPOSITORY_TABLES, SYNC_TABLES, Table
from support.fake_status import QUEUE, SYNC_ID, T0, TOPIC

from syncwizard.clients.event_archive_writer import ArchiveAppender
from syncwizard.clients.event_consumer import ClearCounts, ClearResult
from syncwizard.clients.pgtools import Progress
from syncwizard.clients.repository import READY_PATH, ReadyAnswer
from syncwizard.clients.results import CommandResult, QueueStats
from syncwizard.config import RepositorySettings, Settings
from syncwizard.errors import SyncWizardError
from syncwizard.runbook.backup.snapshot_dump import iso
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
from syncwizard.runbook.restore.choices import RestoreChoices
from syncwizard.runbook.restore.clear import ClearSteps
from syncwizard.runbook.restore.queue_steps import QueueSteps
from syncwizard.runbook.restore.repository_step import RepositorySteps
from syncwizard.runbook.restore.state import RestoreState
from syncwizard.runbook.restore.step_names import TITLES, WHY
from syncwizard.tui.backup.launcher import abandon_run
from syncwizard.tui.restore import text as rt
from syncwizard.tui.restore.launcher import find_unfinished_restore
from syncwizard.tui.runbook_text import short_path

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
REPOSITORY = RepositorySettings(
    stop="systemctl stop alfresco",
    start="systemctl start alfresco",
    ready_url=f"http://acs.example.org:8080{READY_PATH}",
    quiet_window=3.0,
)
ARRIVING = 7  # events a look while the fake repository still produces
FakeChoices = RestoreChoices  # the runbook's own


@dataclass(frozen=True)
class FakeSetListing:
    """A set as runbook.restore_sets.SetListing lists it."""

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


def event_message(number: int) -> tuple[dict[str, str], bytes]:
    """One event as the broker delivers it: headers and body."""
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
    return headers, body.encode()


def event_line(number: int) -> str:
    """One archived event as the archive holds it."""
    headers, body = event_message(number)
    return json.dumps({"headers": headers, "body": body.decode()}, separators=(",", ":"))


class FakeCommand:
    """A service's stop/start commands that succeed at once."""

    def __init__(self, fake: FakeRestore, name: str) -> None:
        self.fake, self.name = fake, name

    async def stop(self) -> CommandResult:
        self.fake.producing = False
        return CommandResult(f"systemctl stop {self.name}", 0, "", 0.4)

    async def start(self) -> CommandResult:
        return CommandResult(f"systemctl start {self.name}", 0, "", 0.6)


class FakeBroker:
    """The systems the runbook's queue and repository steps talk to, scripted: a queue of
    `fake.events` pending events that the clear takes into a real archive file."""

    def __init__(self, fake: FakeRestore) -> None:
        self.fake = fake
        self.pending = fake.events
        self.enqueued = 25_000 + fake.events
        self.dequeued = 25_000
        self.repository = FakeCommand(fake, "alfresco")

    async def queue_exists(self, queue: str) -> bool:
        return True

    async def queue_stats(self, queue: str) -> QueueStats:
        return QueueStats(queue, self.pending, self.enqueued, self.dequeued, 0, 0)

    def _arrive(self, count: int) -> None:
        self.pending += count
        self.enqueued += count

    async def arrivals(
        self, queue: str, topic: str | None, window: float, on_look: Callable[[int], None]
    ) -> int:
        arrived = 0
        for _ in range(3):
            await asyncio.sleep(0)
            if self.fake.producing:
                self._arrive(ARRIVING)
                arrived += ARRIVING
            on_look(arrived)
        return arrived

    async def clear_into_archive(
        self,
        queue: str,
        path: Path,
        *,
        until: Callable[[ClearCounts], Awaitable[bool]],
        on_progress: Callable[[ClearCounts], None],
    ) -> ClearResult:
        appender = ArchiveAppender(path)
        chunk, removed, look = max(self.pending // 4, 1), 0, 0
        try:
            while True:
                take = min(chunk, self.pending)
                for _ in range(take):
                    appender.add(*event_message(appender.count))
                appender.sync()
                self.pending -= take
                self.dequeued += take
                removed += take
                look += 1
                counts = ClearCounts(appender.count, appender.written, 0, removed, 1.5 * look)
                on_progress(counts)
                if self.fake.producing:
                    self._arrive(ARRIVING)
                if await until(counts):
                    return ClearResult(counts)
                await self.fake._report(rt.CLEAR_EVENTS, look)
        finally:
            appender.close()

    async def purge(self, queue: str) -> None:
        self.dequeued += self.pending
        self.pending = 0

    async def delete_topic_and_queue(self, queue: str, topic: str | None) -> dict[str, bool]:
        return {"queue_gone": True, "topic_gone": True}

    async def repository_ready(self) -> ReadyAnswer:
        return ReadyAnswer(True, "HTTP 200")


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
        producing: bool = False,
        hold_at: Mapping[str, int | Iterable[int]] | None = None,
        fail: Mapping[str, SyncWizardError] | None = None,
        sets: Sequence[FakeSetListing] | None = None,
    ) -> None:
        self.settings = settings
        self.backup_dir = backup_dir
        self.run_id = run_id
        self.events = events
        self.shared = shared
        self.producing = producing  # the repository still produces until it is stopped
        self.broker = FakeBroker(self)
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

    def runbook(self, set_dir: Path, choices: FakeChoices, run_dir: Path) -> Runbook:
        return Runbook("restore", tuple(FakeSteps(self, set_dir, choices, run_dir).steps()))


def _run_dir(ctx: StepContext) -> Path:
    return runs_dir() / ctx.run_id


class FakeSteps:
    """One run's steps (they close over its set folder and choices)."""

    def __init__(
        self, fake: FakeRestore, set_dir: Path, choices: FakeChoices, run_dir: Path
    ) -> None:
        self.fake = fake
        self.set_dir = set_dir
        self.choices = choices
        profile = replace(fake.settings.profile, repository=REPOSITORY)
        state = RestoreState(
            profile=profile,
            set_dir=set_dir,
            manifest={"sync_id": SYNC_ID, "queue": QUEUE, "topic": TOPIC},
            run_dir=run_dir,
            choices=choices,
            systems=fake.broker,  # type: ignore[arg-type]
        )
        self.queue = QueueSteps(state)
        self.clearing = ClearSteps(state)
        self.repository = RepositorySteps(state)

    def steps(self) -> list[Step]:
        f = self
        return [
            Step(rt.VERIFY_SET, TITLES[rt.VERIFY_SET], WHY[rt.VERIFY_SET], f.verify,
                 plan=f.plan_verify),
            Step(rt.PREFLIGHT, TITLES[rt.PREFLIGHT], WHY[rt.PREFLIGHT], f.preflight,
                 depends_on=(rt.VERIFY_SET,), plan=f.plan_preflight),
            Step(rt.STOP_SERVICES, TITLES[rt.STOP_SERVICES], WHY[rt.STOP_SERVICES], f.stop,
                 gate=f.gate_stop, depends_on=(rt.PREFLIGHT,), plan=f.plan_stop),
            Step(rt.CHECK_QUIET, TITLES[rt.CHECK_QUIET], WHY[rt.CHECK_QUIET], f.check_quiet,
                 depends_on=(rt.PREFLIGHT,), plan=f.queue.plan_quiet),
            Step(rt.CLEAR_EVENTS, TITLES[rt.CLEAR_EVENTS], WHY[rt.CLEAR_EVENTS], f.clear,
                 gate=f.clearing.gates, depends_on=(rt.CHECK_QUIET,), plan=f.clearing.plan),
            Step(rt.RESTORE_REPOSITORY, TITLES[rt.RESTORE_REPOSITORY],
                 WHY[rt.RESTORE_REPOSITORY], f.restore("repository_db", REPOSITORY_TABLES),
                 depends_on=(rt.CLEAR_EVENTS,), plan=f.plan_restore("repository_db")),
            Step(rt.SWAP_REPOSITORY, TITLES[rt.SWAP_REPOSITORY], WHY[rt.SWAP_REPOSITORY],
                 f.swap("repository_db"), gate=f.gate_swap("repository_db"),
                 depends_on=(rt.RESTORE_REPOSITORY,), plan=f.plan_swap("repository_db")),
            Step(rt.RESTORE_SYNC, TITLES[rt.RESTORE_SYNC], WHY[rt.RESTORE_SYNC],
                 f.restore("sync_db", SYNC_TABLES), depends_on=(rt.SWAP_REPOSITORY,),
                 plan=f.plan_restore("sync_db")),
            Step(rt.SWAP_SYNC, TITLES[rt.SWAP_SYNC], WHY[rt.SWAP_SYNC], f.swap("sync_db"),
                 gate=f.gate_swap("sync_db"), depends_on=(rt.RESTORE_SYNC,),
                 plan=f.plan_swap("sync_db")),
            Step(rt.START_REPOSITORY, TITLES[rt.START_REPOSITORY], WHY[rt.START_REPOSITORY],
                 f.start_repository, gate=f.repository.gate, depends_on=(rt.SWAP_SYNC,),
                 plan=f.repository.plan),
            Step(rt.START_RECOVER, TITLES[rt.START_RECOVER], WHY[rt.START_RECOVER],
                 f.start_recover, gate=f.gate_recover, depends_on=(rt.START_REPOSITORY,),
                 plan=f.plan_recover),
            Step(rt.PLAIN_RESTART, TITLES[rt.PLAIN_RESTART], WHY[rt.PLAIN_RESTART],
                 f.plain_restart, depends_on=(rt.START_RECOVER,), plan=f.plan_plain_restart),
            Step(rt.REPORT, TITLES[rt.REPORT], WHY[rt.REPORT], f.report,
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
            "queue_exists": True,
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

    async def check_quiet(self, ctx: StepContext) -> Outputs:
        self.fake._begin(rt.CHECK_QUIET, self.choices)
        self.fake._raise_if_failing(rt.CHECK_QUIET)
        return await self.queue.check_quiet(ctx)

    async def clear(self, ctx: StepContext) -> Outputs:
        self.fake._begin(rt.CLEAR_EVENTS, self.choices)  # a failure comes mid-clear
        return await self.clearing.clear(ctx)

    async def start_repository(self, ctx: StepContext) -> Outputs:
        self.fake._begin(rt.START_REPOSITORY, self.choices)
        self.fake._raise_if_failing(rt.START_REPOSITORY)
        return await self.repository.start(ctx)

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
        ctx.record("started", {"at": T0 + 7240, "command": RECOVER_COMMAND, "exit_code": 0})
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
        runbook = self.fake.runbook(self.fake.backup_dir, FakeChoices(), record.run_dir)
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
        runbook = self.fake.runbook(set_dir, choices, runs_dir() / run_id)
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
        runbook = self.fake.runbook(Path(record.header["backup_set"]), choices, record.run_dir)
        engine = Engine.resume(runbook, record, journal, observers=observers, confirm=confirm)
        engine.announce_resume(
            f"resuming run {record.run_id} at step {record.stopped_at!r} (it was {previous})"
        )
        self.engines.append(engine)
        return engine

    async def drop_aside(self, run_id: str, role: str) -> None:
        self.fake._raise_if_failing(f"drop_aside:{role}")
        self.fake.dropped.append((run_id, role))
