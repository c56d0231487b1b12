"""Fake outside systems for the restore: the TUI tests and the screenshots run the real
restore runbook (its steps, plans, gates, checks and report) over them.

`FakeRestore` is a small world and the test's remote control over it:
- backup sets on disk, taken by the real backup runbook (tests/support/fake_sets.py);
- a Sync Service and a repository that the service commands stop and start: the health
  check refuses while the Sync Service is down and, after a start, answers more checks
  healthy at each look until all are and its consumer is back on the queue (or, with
  `never_healthy`, its event lag stays too high); its process (found by the profile's pid
  file) holds -Drecover in its command line after the recover start, and after the plain
  restart too with `option_kept` (a start configuration that stores it); with
  `ignores_stop` its stop command exits 0 but it keeps running; with `session_left` a
  client keeps a session on the repository database after the stop (the repository's own
  sessions are not counted: the `producing` repository publishes on, unseen there); with
  `other_nodes_up` the profile's other cluster nodes answer and no stop reaches them;
- a broker (`FakeJolokia`) whose sync queue holds `events` pending events, which the clear
  takes into a real archive file; with `producing`, the repository's stop command returns
  but the repository keeps running and publishing (a unit that is not the one running, a
  stop that timed out) until it is stopped a second time;
- a database server whose databases the restore creates, renames and drops (a catalog of
  names and oids), pg_restore's progress table by table;
- the client tools, which are the machine's own (pg_restore 15 lists the sets' archives).
A test can hold a step after its Nth progress report (`hold_at`), release it, and make
the systems a step uses fail there (`fail`; "drop_aside:<role>" for the summary's drop).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from support.fake_backup import DATABASES, REPOSITORY_VERSION
from support.fake_sets import SET_RUN_ID, write_demo_sets
from support.fake_status import QUEUE, SYNC_ID, T0, TOPIC, health_report
from support.step_hold import StepHold

from syncwizard.clients import pgadmin
from syncwizard.clients.event_archive_writer import ArchiveAppender
from syncwizard.clients.event_consumer import ClearCounts, ClearResult
from syncwizard.clients.repository import READY_PATH, ReadyAnswer
from syncwizard.clients.results import (
    CommandResult,
    HealthReport,
    Progress,
    QueueStats,
    Session,
    Subscriber,
    TopicStats,
    TopicSubscribers,
)
from syncwizard.clients.service import ServiceControl, ServiceProcess
from syncwizard.config import Profile, RepositorySettings, ServiceSettings, Settings
from syncwizard.errors import SyncWizardError
from syncwizard.runbook.engine import Engine
from syncwizard.runbook.model import (
    Confirm,
    EventKind,
    Observer,
    Outputs,
    StepContext,
    StepEvent,
    StepState,
)
from syncwizard.runbook.restore import database
from syncwizard.runbook.restore.choices import RestoreChoices
from syncwizard.runbook.restore.database import RestorePlan, SwapLook
from syncwizard.runbook.restore.mysql_database import MySQLPlan
from syncwizard.runbook.restore.systems import RestoreSystems
from syncwizard.tui.restore.launcher import RealRestoreLauncher

RUN_ID = "restore-20260101T020000Z"
FAIL_AT = 2  # a failing step fails at its first look at a system after this many reports
ARRIVING = 7  # events arriving between two looks while the repository still produces
EVENT_TYPES = ("NODEADDED", "NODEUPDATED", "NODEUPDATED", "NODEREMOVED")
PID_FILE = "/opt/alfresco-sync-service/syncservice.pid"
SYNC_SERVICE = ServiceSettings(
    stop="systemctl stop alfresco-sync",
    start="systemctl start alfresco-sync",
    start_with_recover='JAVA_OPTS="$SYNCWIZARD_RECOVER_OPTION" '
    "/opt/alfresco-sync-service/syncservice.sh start",
    watch_interval=0.05,
    pid_file=PID_FILE,
    down_timeout=0.3,
)
REPOSITORY = RepositorySettings(
    stop="systemctl stop alfresco",
    start="systemctl start alfresco",
    ready_url=f"http://acs.example.org:8080{READY_PATH}",
    quiet_window=1.0,
)
HEALTHY_AT_LOOK = 3  # after a start, the health check answers all healthy from this look
SERVER_FREE = 52_613_349_376


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


def _postgres(plan: RestorePlan | MySQLPlan) -> RestorePlan:
    """The fake database server is PostgreSQL (the MySQL/MariaDB restore runs on the lab's
    MariaDB in tests/integration)."""
    assert isinstance(plan, RestorePlan), "the fake restore systems model PostgreSQL only"
    return plan


@dataclasses.dataclass
class FakeDatabase:
    oid: int
    size_bytes: int
    sessions: int = 0


class FakeRestore(StepHold):
    """The world the restore runs against, and the test's hold on it (module docstring)."""

    def __init__(
        self,
        settings: Settings,
        backup_dir: Path | None = None,
        *,
        run_id: str | None = None,
        events: int = 240,
        shared: bool = False,
        producing: bool = False,
        never_healthy: bool = False,
        ignores_stop: bool = False,
        option_kept: bool = False,
        session_left: bool = False,
        other_nodes_up: bool = False,
        orphan: bool = False,
        hold_at: Mapping[str, int | Iterable[int]] | None = None,
        fail: Mapping[str, SyncWizardError] | None = None,
    ) -> None:
        self.settings = settings
        if backup_dir is None:
            backup_dir = Path(tempfile.mkdtemp(prefix="syncwizard-backups-"))
        self.backup_dir = backup_dir
        self.set_dir = write_demo_sets(backup_dir, shared=shared)
        self.run_id = run_id
        self.shared = shared
        self.producing = producing  # the repository still publishes events
        self._stop_ignored = False
        self.never_healthy = never_healthy  # after a start, its event lag stays too high
        self.sync_up = True
        self.ignores_stop = ignores_stop  # the Sync Service's stop command does not take
        self.option_kept = option_kept  # its plain start keeps -Drecover
        self.session_left = session_left  # a session on the repository DB stays
        self.other_nodes_up = other_nodes_up  # the profile's other_nodes answer, never stop
        self.orphan = orphan  # another installation's queue on the topic, nobody consuming
        self.process_visible = True  # False: the profile gives no way to find the process
        self.recover_in_args = False  # -Drecover in the running process's command line
        self.repository_up = True
        self.looks_since_start: int | None = None  # None: up since before the restore
        self.queue = FakeQueue(pending=events)
        self.databases = {
            name: FakeDatabase(16_384 + number, size_bytes=sum(t.size for t in tables) * 3,
                               sessions=2 - number)
            for number, (name, tables) in enumerate(DATABASES.values())
        }  # fmt: skip
        super().__init__(hold_at, fail, fail_at=FAIL_AT)
        self.seen: dict[str, dict[str, Any]] = {}  # step -> the choices it started with
        self.dropped: list[tuple[str, str]] = []  # (run id, role) of the old copies dropped
        self.choices: RestoreChoices | None = None  # the run's, once started
        self._next_oid = 20_000

    # --- control from a test --------------------------------------------------------------

    def observe(self, event: StepEvent) -> None:
        """An engine observer: the step hold's, and the choices each step started with."""
        super().observe(event)
        running = event.kind == EventKind.STATE and event.state == StepState.RUNNING
        if running and event.step_id and self.choices is not None:
            self.seen[event.step_id] = dataclasses.asdict(self.choices)

    async def checkpoint(self, what: str = "") -> None:
        """The step hold's, after a turn of the loop; `what` fails as the test said (the
        summary's drop of an old copy, "drop_aside:<role>", runs in no step)."""
        await asyncio.sleep(0)
        if what in self.fail:
            raise self.fail[what]
        await super().checkpoint()

    # --- the profile and the launcher -----------------------------------------------------

    def profile(self) -> Profile:
        """The demo profile with service commands, a readiness URL, quick looks at the
        health check while the Sync Service comes back (a one-second patience when it never
        will), and a one-second quiet window."""
        profile = self.settings.profile
        backup = dataclasses.replace(profile.backup, dir=str(self.backup_dir))
        repository_db, sync_db = (
            dataclasses.replace(settings, conninfo=f"{settings.conninfo} user=alfresco")
            for settings in (profile.repository_db, profile.sync_db)
        )
        return dataclasses.replace(
            profile,
            backup=backup,
            repository_db=repository_db,
            sync_db=repository_db if self.shared else sync_db,
            sync_service=dataclasses.replace(
                SYNC_SERVICE, healthy_timeout=1.0 if self.never_healthy else 600.0
            ),
            repository=REPOSITORY,
        )

    def systems(self, profile: Profile, broker_password: str | None) -> FakeRestoreSystems:
        return FakeRestoreSystems(self, profile)

    # --- what the services and the broker do ----------------------------------------------

    def health(self) -> HealthReport:
        if not self.sync_up:
            raise SyncWizardError(
                "https://127.0.0.1:9090/alfresco/healthcheck: connection refused",
                hint="is the Sync Service running?",
                system="health",
            )
        report = health_report(T0 + 7200)
        if self.looks_since_start is None:
            return report
        self.looks_since_start += 1
        if self.never_healthy:
            lagging = health_report(T0 + 7200, events_healthy=False, lag_seconds=9.0)
            return dataclasses.replace(lagging, http_status=500)
        if self.looks_since_start >= HEALTHY_AT_LOOK:
            self.queue.consumers = 1
            return report
        healthy = 3 * self.looks_since_start
        checks = tuple(
            check if number < healthy else dataclasses.replace(check, healthy=False,
                                                                 message="starting")
            for number, check in enumerate(report.checks)
        )  # fmt: skip
        return dataclasses.replace(report, http_status=500, checks=checks)

    def stopped(self, service: str) -> None:
        if service == "sync_service":
            if not self.ignores_stop:
                self.sync_up, self.queue.consumers = False, 0
        elif self.producing and not self._stop_ignored:
            self._stop_ignored = True  # the first stop does not take
        else:
            self.repository_up, self.producing = False, False

    def started(self, service: str, *, recover: bool = False) -> None:
        if service == "sync_service":
            if self.sync_up:
                return  # a start of a running unit does nothing
            self.sync_up, self.looks_since_start = True, 0
            self.recover_in_args = recover or self.option_kept
        else:
            self.repository_up = True

    def new_oid(self) -> int:
        self._next_oid += 1
        return self._next_oid


# A staging installation's queue, left behind when its set was restored here once.
ORPHAN_QUEUE = f"Consumer.7d3f9a2e-51c4-4b8e-9f06-2a8c1e5d4b73.{TOPIC}"


@dataclasses.dataclass
class FakeQueue:
    """The sync queue, with the topic feeding it."""

    pending: int
    enqueued: int = 0
    dequeued: int = 25_000
    consumers: int = 1
    topic_enqueued: int = 61_000

    def __post_init__(self) -> None:
        self.enqueued = self.dequeued + self.pending

    def arrive(self, count: int) -> None:
        self.pending += count
        self.enqueued += count
        self.topic_enqueued += count

    def take(self, count: int) -> None:
        self.pending -= count
        self.dequeued += count


class FakeJolokia:
    """The broker's Jolokia, as much of it as the restore reads and changes."""

    def __init__(self, fake: FakeRestore) -> None:
        self.fake = fake
        self.queues = [QUEUE]
        self.topics = [TOPIC]
        self.others: tuple[Subscriber, ...] = ()  # the topic's subscribers besides QUEUE
        if fake.orphan:
            self.others = (Subscriber(ORPHAN_QUEUE, "queue", consumers=0, pending=1_180),)

    async def list_queues(self) -> list[str]:
        return list(self.queues)

    async def list_topics(self) -> list[str]:
        return list(self.topics)

    async def find_sync_queue(self, sync_id: str, topic: str | None = None) -> str:
        await self.fake.checkpoint()
        if QUEUE not in self.queues:
            raise SyncWizardError(f"no queue of sync GUID {sync_id}", system="broker")
        return QUEUE

    async def read_stats(
        self, queue: str, topic: str | None
    ) -> tuple[QueueStats, TopicStats | None]:
        await self.fake.checkpoint()
        q = self.fake.queue
        if self.fake.producing:
            q.arrive(ARRIVING)
        stats = QueueStats(QUEUE, q.pending, q.enqueued, q.dequeued, 0, q.consumers)
        return stats, TopicStats(TOPIC, q.topic_enqueued) if topic else None

    async def topic_subscribers(self, topic: str, own_queue: str) -> TopicSubscribers:
        await self.fake.checkpoint()
        return TopicSubscribers(topic, self.others, sum(1 for s in self.others if s.consumers))

    async def purge(self, queue: str) -> None:
        await self.fake.checkpoint()
        self.fake.queue.take(self.fake.queue.pending)

    async def remove_queue(self, queue: str) -> None:
        self.queues.remove(queue)

    async def remove_topic(self, topic: str) -> None:
        self.topics.remove(topic)

    async def aclose(self) -> None:
        pass


class FakeService(ServiceControl):
    """A service's commands, carried out on the fake world at once."""

    def __init__(
        self, fake: FakeRestore, name: str, settings: ServiceSettings | RepositorySettings
    ):
        recover = settings.start_with_recover if isinstance(settings, ServiceSettings) else None
        super().__init__(name, stop=settings.stop, start=settings.start, start_with_recover=recover)
        self.fake = fake

    async def _ran(self, action: str) -> CommandResult:
        await self.fake.checkpoint()
        return CommandResult(self._template(action), 0, "", 0.4)

    async def stop(self) -> CommandResult:
        result = await self._ran("stop")
        self.fake.stopped(self.name)
        return result

    async def start(self) -> CommandResult:
        result = await self._ran("start")
        self.fake.started(self.name)
        return result

    async def start_with_recover(self, user: str, password: str) -> CommandResult:
        result = await self._ran("start_with_recover")
        self.fake.started(self.name, recover=True)
        return result


class FakeRestoreSystems(RestoreSystems):
    """The profile's systems, their clients replaced by the fakes above."""

    def __init__(self, fake: FakeRestore, profile: Profile) -> None:
        # Not RestoreSystems.__init__: it would build the profile's real clients.
        self.fake = fake
        self.profile = profile
        self.broker_password = "fake-broker-password"
        self.health = []
        self.jolokia = FakeJolokia(fake)  # type: ignore[assignment]
        self.sync_service = FakeService(fake, "sync_service", profile.sync_service)
        self.repository = FakeService(fake, "repository", profile.repository)

    async def aclose(self) -> None:
        pass

    # --- the Sync Service, the repository and the queue -----------------------------------

    async def health_reports(self) -> list[HealthReport]:
        await self.fake.checkpoint()
        return [self.fake.health()]

    async def recover_node_reports(self) -> list[HealthReport]:
        return await self.health_reports()

    async def health_answers(self) -> list[tuple[str, str]]:
        await self.fake.checkpoint()
        health = self.profile.health
        nodes = [health.url] if self.fake.sync_up else []
        nodes += list(health.other_nodes) if self.fake.other_nodes_up else []
        return [(url, "HTTP 200, healthy") for url in nodes]

    async def producers_on(self, topic: str) -> int | None:
        return 0

    async def repository_version(self) -> str | None:
        return REPOSITORY_VERSION

    async def repository_sessions(self) -> list[Session]:
        await self.fake.checkpoint()
        if not self.fake.session_left:
            return []
        return [Session(4321, "alfresco", "pgAdmin 4", "10.0.0.7", "idle")]

    def service_process(self) -> ServiceProcess | Literal[False] | None:
        if not self.fake.process_visible:
            return False
        if not self.fake.sync_up:
            return None
        held = ("its command line",) if self.fake.recover_in_args else ()
        return ServiceProcess(4242, f"pid file {PID_FILE}", held)

    async def repository_ready(self) -> ReadyAnswer | None:
        await self.fake.checkpoint()
        if self.fake.repository_up:
            return ReadyAnswer(True, "HTTP 200")
        return ReadyAnswer(False, "connection refused")

    async def probe_clear_channel(self) -> None:
        await self.fake.checkpoint()

    async def clear_into_archive(
        self,
        queue: str,
        path: Path,
        *,
        until: Callable[[ClearCounts], Awaitable[bool]],
        on_progress: Callable[[ClearCounts], None],
    ) -> ClearResult:
        """The queue's events into a real archive file, a quarter of them a round."""
        fake, q = self.fake, self.fake.queue
        appender = ArchiveAppender(path)
        chunk, removed, rounds = max(q.pending // 4, 1), 0, 0
        try:
            while True:
                take = min(chunk, q.pending)
                for _ in range(take):
                    appender.add(*event_message(appender.count))
                appender.sync()
                q.take(take)
                removed += take
                rounds += 1
                counts = ClearCounts(appender.count, appender.written, 0, removed, 1.5 * rounds)
                on_progress(counts)
                await fake.checkpoint()
                if fake.producing:
                    q.arrive(ARRIVING)
                if await until(counts):
                    return ClearResult(counts)
        finally:
            appender.close()

    # --- the database server --------------------------------------------------------------

    def _info(self, name: str) -> pgadmin.DatabaseInfo | None:
        db = self.fake.databases.get(name)
        if db is None:
            return None
        return pgadmin.DatabaseInfo(
            name, db.oid, "alfresco", "UTF8", "C.UTF-8", "C.UTF-8", "c", "", "pg_default",
            db.size_bytes,
        )  # fmt: skip

    def _sessions(self, name: str) -> list[Session]:
        db = self.fake.databases.get(name)
        count = db.sessions if db else 0
        return [
            Session(pid=4100 + n, user="alfresco", application="alfresco", client="127.0.0.1",
                    state="idle")
            for n in range(count)
        ]  # fmt: skip

    async def check_owners(self, plan: RestorePlan | MySQLPlan) -> None:
        _postgres(plan)
        await self.fake.checkpoint()  # the fake server has every role the sets need

    async def restore_target(self, role: str, name: str) -> pgadmin.RestoreTarget:
        await self.fake.checkpoint()
        return pgadmin.RestoreTarget(
            info=self._info(name),
            sessions=self._sessions(name),
            rights=pgadmin.RestoreRights("alfresco", False, True, True, True),
            free_bytes=SERVER_FREE,
            not_in_dump=[],
        )

    async def restore_into_scratch(
        self, plan: RestorePlan | MySQLPlan, ctx: StepContext
    ) -> Outputs:
        """pg_restore's progress table by table, then the scratch database in the catalog."""
        plan = _postgres(plan)
        fake = self.fake
        total = plan.total_rows
        done = written = 0
        ctx.record("creating_scratch", {"name": plan.scratch})
        for number, (table, rows) in enumerate(plan.row_counts.items(), start=1):
            line = f'pg_restore: processing data for table "{table}"'
            ctx.log(line)
            progress = Progress(
                "pg_restore", "data", table, written + 4096 * rows // 2, done + rows // 2,
                total, (line,), 8.0 * number,
            )  # fmt: skip
            ctx.progress(database.progress_text(plan.label, progress), progress)
            await fake.checkpoint()
            done, written = done + rows, written + 4096 * rows
        oid = fake.new_oid()
        size = fake.databases.get(plan.live, FakeDatabase(0, written)).size_bytes
        fake.databases[plan.scratch] = FakeDatabase(oid, size)
        ctx.record("restored", {"scratch": plan.scratch, "oid": oid})
        return database.restored_outputs(
            plan, scratch_oid=oid, owner="alfresco", no_owner=False, dropped_leftovers=[],
            seconds=41.0,
        )  # fmt: skip

    async def look_before_swap(self, plan: RestorePlan | MySQLPlan) -> SwapLook:
        plan = _postgres(plan)
        await self.fake.checkpoint()
        return SwapLook(
            live=self._info(plan.live),
            sessions=self._sessions(plan.live),
            scratch=self._info(plan.scratch),
        )

    async def swap(self, plan: RestorePlan | MySQLPlan, ctx: StepContext) -> Outputs:
        """End the sessions, rename the live database aside and the scratch one in."""
        plan = _postgres(plan)
        if swapped := ctx.records_of(plan.swap_step).get("swapped"):
            return dict(swapped)
        await self.fake.checkpoint()
        ctx.progress(f"ending the sessions on {plan.live}")
        await self.fake.checkpoint()
        databases = self.fake.databases
        live = databases.pop(plan.live)
        terminated, live.sessions = live.sessions, 0
        databases[plan.aside] = live
        databases[plan.live] = databases.pop(plan.scratch)
        outputs = database.swap_outputs(plan, plan.aside, terminated)
        ctx.record("swapped", outputs)
        return outputs

    async def verify_swapped(
        self, plan: RestorePlan | MySQLPlan, ctx: StepContext, outputs: Outputs
    ) -> None:
        live = self.fake.databases.get(plan.live)
        restored = ctx.results.get(plan.restore_step, {}).get("scratch_oid")
        if live is None or live.oid != restored:
            raise SyncWizardError(f"{plan.live!r} is no longer the restored database")

    async def drop_aside(self, role: str, aside: str) -> bool:
        await self.fake.checkpoint(f"drop_aside:{role}")
        return self.fake.databases.pop(aside, None) is not None


class FakeRestoreLauncher(RealRestoreLauncher):
    """The real launcher over the fake world, with the world watching the engine."""

    def __init__(self, fake: FakeRestore) -> None:
        super().__init__(fake.profile(), systems=fake.systems, run_id=fake.run_id)
        self.fake = fake

    async def start(
        self,
        set_dir: Path,
        choices: RestoreChoices,
        observers: Sequence[Observer],
        confirm: Confirm,
    ) -> Engine:
        self.fake.choices = choices
        return await super().start(set_dir, choices, [self.fake.observe, *observers], confirm)

    async def resume(
        self,
        record: Any,
        choices: RestoreChoices,
        observers: Sequence[Observer],
        confirm: Confirm,
    ) -> Engine:
        self.fake.choices = choices
        return await super().resume(record, choices, [self.fake.observe, *observers], confirm)

    async def drop_aside(self, run_id: str, role: str) -> None:
        await super().drop_aside(run_id, role)
        self.fake.dropped.append((run_id, role))


__all__ = ["RUN_ID", "SET_RUN_ID", "SYNC_ID", "FakeRestore", "FakeRestoreLauncher"]
