"""Fake outside systems for the backup: the TUI tests and the screenshots run the real
backup runbook (its steps, plans, checks, drain criterion and seal) over them.

`FakeBackup` is a small world and the test's remote control over it:
- a Sync Service whose health check answers with the demo sync GUID;
- a broker (`FakeJolokia`) whose sync queue holds P0 events at t0 and is consumed a few
  hundred events a look, 20 arriving meanwhile (none consumed without a consumer); its
  clock, and the databases', agree with this host's;
- two databases whose facts are made up and whose dumps are small real pg_dump archives
  (tests/fixtures/dumps, made by make.sh there) handed out table by table with
  pg_dump's progress, so the runbook's own checks (pg_restore --list, the rows against
  TABLE DATA, sha256) and the seal run on them as on any dump;
- the client tools, which are the machine's own (pg_dump and pg_restore 15).
A test can hold a step after its Nth progress report (`hold_at`), release it, make the
systems a step uses fail there (`fail`), or take the Sync Service's consumer away.
"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from support.fake_status import QUEUE, SYNC_ID, T0, TOPIC, health_report, report
from support.step_hold import StepHold

from syncwizard.clients.results import HealthReport, Progress, QueueStats, TopicStats
from syncwizard.config import Profile, Settings
from syncwizard.errors import SyncWizardError
from syncwizard.runbook import backupset
from syncwizard.runbook.backup.clocks import ClockReading
from syncwizard.runbook.backup.snapshot_dump import DumpPlan, SnapshotHook, iso
from syncwizard.runbook.backup.systems import BackupSystems, DatabaseProbeResult
from syncwizard.runbook.model import StepContext
from syncwizard.status import StatusReport
from syncwizard.tui.backup.launcher import BackupLauncher

RUN_ID = "backup-20260101T000000Z"
FAIL_AT = 3  # a failing step fails at its first look at a system after this many reports
P0 = 2_000  # events pending at t0
ENQUEUED_AT_T0 = 50_000
ARRIVING = 150  # events arriving between two looks at the queue (a busy repository)
CONSUMED = 300  # events the Sync Service consumes between two looks
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dumps"


@dataclasses.dataclass(frozen=True)
class Table:
    name: str
    rows: int
    size: int  # bytes of its compressed data file, as pg_dump reports them


REPOSITORY_TABLES = (
    Table("public.alf_access_control_entry", 48_210, 412_331),
    Table("public.alf_node", 1_204_777, 31_873_922),
    Table("public.alf_node_properties", 3_109_402, 58_102_774),
    Table("public.alf_child_assoc", 1_198_330, 27_553_019),
    Table("public.alf_transaction", 251_611, 3_331_870),
)
REPOSITORY_VERSION = "23.2.1 (r4c3e8f1d-b12) - Enterprise"  # alf_applied_patch says
SYNC_TABLES = (
    Table("public.dbqueue", 1_822, 41_250),
    Table("public.events", 382_114, 9_827_101),
    Table("public.subscriptions", 212, 8_911),
)
DATABASES = {
    "repository_db": ("alfresco", REPOSITORY_TABLES),
    "sync_db": ("syncservice", SYNC_TABLES),
}
PG_DUMP_PREAMBLE = (
    "pg_dump: last built-in OID is 16383",
    "pg_dump: reading extensions",
    "pg_dump: reading schemas",
    "pg_dump: reading user-defined tables",
    "pg_dump: reading indexes",
    "pg_dump: saving encoding = UTF8",
)


def backup_reports(count: int = 16, *, start: float = T0 - 20) -> list[StatusReport]:
    """Polls during a backup: events come in at 20/s and the Sync Service takes 80/s."""
    reports = []
    for tick in range(count):
        enqueued = ENQUEUED_AT_T0 + 20 * tick
        dequeued = ENQUEUED_AT_T0 - P0 + 80 * tick
        reports.append(
            report(start + tick, pending=enqueued - dequeued, enqueued=enqueued, dequeued=dequeued)
        )
    return reports


class FakeBackup(StepHold):
    """The world the backup runs against, and the test's hold on it (module docstring)."""

    def __init__(
        self,
        settings: Settings,
        backup_dir: Path,
        *,
        run_id: str | None = None,
        hold_at: Mapping[str, int | Iterable[int]] | None = None,
        fail: Mapping[str, SyncWizardError] | None = None,
        no_consumer: bool = False,
        pause: float = 0.0,
        drain_timeout: float = 1800.0,
        shared: bool = False,
    ) -> None:
        self.settings = settings
        self.backup_dir = backup_dir
        self.run_id = run_id
        super().__init__(hold_at, fail, fail_at=FAIL_AT)
        self.pause = pause  # seconds between two progress reports of a dump
        self.drain_timeout = drain_timeout  # a failing wait gives up after this
        self.shared = shared  # the Sync Service keeps its tables in the repository DB
        self.queue = FakeQueue(consumers=0 if no_consumer else 1)
        self.cancelled: list[str] = []  # steps whose dump saw the cancellation

    # --- the profile and the launcher -----------------------------------------------------

    def profile(self) -> Profile:
        """The demo profile, backing up into `backup_dir`, looking at the queue every 50 ms
        and taking the first drained look as final (no second look some seconds later)."""
        backup = dataclasses.replace(
            self.settings.profile.backup,
            dir=str(self.backup_dir),
            drain_interval=0.05,
            drain_confirm=0.0,
            drain_timeout=self.drain_timeout,
        )
        profile = self.settings.profile
        sync_db = profile.repository_db if self.shared else profile.sync_db
        return dataclasses.replace(profile, backup=backup, sync_db=sync_db)

    def systems(self, profile: Profile, broker_password: str | None) -> FakeBackupSystems:
        return FakeBackupSystems(self, profile)


class FakeBackupLauncher(BackupLauncher):
    """The real launcher over the fake world, with the world watching the engine."""

    def __init__(self, fake: FakeBackup, *, outside: str | None = None) -> None:
        super().__init__(fake.profile(), systems=fake.systems, run_id=fake.run_id)
        self.fake = fake
        self.outside = outside  # the repository DB's product, when backed up outside
        self.attested: list[float | None] = []  # what each start was given

    def repository_outside(self) -> str | None:
        return self.outside

    async def start(
        self, observers: Sequence[Any], confirm: Any, external_repository_at: float | None = None
    ) -> Any:
        self.attested.append(external_repository_at)
        return await super().start([self.fake.observe, *observers], confirm, external_repository_at)

    async def resume(self, record: Any, observers: Sequence[Any], confirm: Any) -> Any:
        return await super().resume(record, [self.fake.observe, *observers], confirm)


@dataclasses.dataclass
class FakeQueue:
    """The sync queue: P0 pending at t0, consumed between two looks while a consumer is on."""

    consumers: int = 1
    enqueued: int = ENQUEUED_AT_T0
    dequeued: int = ENQUEUED_AT_T0 - P0

    @property
    def pending(self) -> int:
        return self.enqueued - self.dequeued

    def look(self) -> QueueStats:
        stats = QueueStats(QUEUE, self.pending, self.enqueued, self.dequeued, 0, self.consumers)
        self.enqueued += ARRIVING
        if self.consumers:
            self.dequeued += min(CONSUMED, self.pending)
        return stats


class FakeJolokia:
    """The broker's Jolokia, as much of it as the backup reads."""

    def __init__(self, fake: FakeBackup) -> None:
        self.fake = fake

    async def find_sync_queue(self, sync_id: str, topic: str | None = None) -> str:
        await self.fake.checkpoint()
        return QUEUE

    async def list_queues(self) -> list[str]:
        return [QUEUE]

    async def read_stats(
        self, queue: str, topic: str | None
    ) -> tuple[QueueStats, TopicStats | None]:
        await self.fake.checkpoint()
        return self.fake.queue.look(), None

    async def oldest_pending_timestamp(self, queue: str) -> int | None:
        # Older than t0 until the P0 events pending at t0 are consumed (in order, here),
        # then one of those that arrived since: the count and the age drain it together.
        # Those are stamped a minute ahead, past any margin: the sets' runs read a clock
        # that creeps a microsecond a call (fake_sets.py), so "later" never comes by itself.
        if self.fake.queue.dequeued - (ENQUEUED_AT_T0 - P0) < P0:
            return int((T0 - 30) * 1000)
        return int((time.time() + 60) * 1000)

    async def dead_letters_from(self, queue: str, dlq: str = "ActiveMQ.DLQ") -> int:
        return 0

    async def aclose(self) -> None:
        pass


class FakeHealth:
    """A Sync Service node's health check, healthy."""

    url = "https://127.0.0.1:9090/alfresco/healthcheck"

    async def fetch(self) -> HealthReport:
        return health_report(time.time())

    async def aclose(self) -> None:
        pass


class FakeBackupSystems(BackupSystems):
    """The profile's systems, their clients replaced by the fakes above."""

    def __init__(self, fake: FakeBackup, profile: Profile) -> None:
        # Not BackupSystems.__init__: it would build the profile's real clients.
        self.fake = fake
        self.profile = profile
        self.broker_password = "fake-broker-password"
        self.health = [FakeHealth()]  # type: ignore[list-item]
        self.jolokia = FakeJolokia(fake)  # type: ignore[assignment]

    async def probe_database(self, role: str) -> DatabaseProbeResult:
        await self.fake.checkpoint()
        name, tables = DATABASES[role]
        data = sum(t.size for t in tables) // 4
        return DatabaseProbeResult(
            role=role,
            target=f"database {name!r} on 127.0.0.1:15432 as user 'alfresco'",
            name=name,
            server_version="15.18",
            server_major=15,
            size_bytes=data * 3,
            data_bytes=data,
            identity=("2026-01-01 00:00:00+00", "15432", name),
            sync_tables=(),
        )

    async def repository_version(self) -> str | None:
        return REPOSITORY_VERSION

    async def sync_objects(self, role: str) -> dict[str, list[list[str]]]:
        """The Sync Service's tables in the shared database (only asked when shared)."""
        return {"tables": [t.name.split(".", 1) for t in SYNC_TABLES], "sequences": []}

    async def database_clock(self, role: str) -> ClockReading:
        now = time.time()  # every fake host's clock agrees with this one
        return ClockReading(f"the {role} server's clock", now, now, now)

    async def broker_clock(self) -> ClockReading:
        now = time.time()
        return ClockReading("the broker's clock", now, now, now)

    async def dump(
        self, plan: DumpPlan, ctx: StepContext, *, at_snapshot: SnapshotHook | None = None
    ) -> dict[str, Any]:
        """pg_dump's progress table by table, then the fixture archive of the role."""
        fake = self.fake
        name, tables = DATABASES[plan.role]
        if fake.shared:  # both parts are of the repository database
            name = DATABASES["repository_db"][0]
        snapshot_at = T0 + (3 if plan.role == "repository_db" else 95)
        ctx.record(  # as the real dump does, once its snapshot is exported
            f"{plan.role}_snapshot",
            {"snapshot_at": snapshot_at, "snapshot_at_iso": iso(snapshot_at)},
        )
        extra = await at_snapshot(snapshot_at) if at_snapshot else None
        partial = plan.out_path.with_name(plan.out_path.name + backupset.PARTIAL_SUFFIX)
        total = sum(t.rows for t in tables)
        try:
            partial.mkdir()  # pg_dump's folder, filled as it goes
            for line in PG_DUMP_PREAMBLE:
                ctx.log(line)
            done = written = 0
            for number, table in enumerate(tables):
                line = f'pg_dump: dumping contents of table "{table.name}"'
                ctx.log(line)
                half = table.rows // 2
                ctx.progress(
                    f"{plan.role} dump: data, {done + half:,} rows, {table.name}",
                    Progress(
                        "pg_dump",
                        "data",
                        table.name,
                        written + table.size // 2,
                        done + half,
                        total,
                        (line,),
                        12.0 + 9 * number,
                    ),
                )
                if fake.pause:
                    await asyncio.sleep(fake.pause)
                await fake.checkpoint()
                done, written = done + table.rows, written + table.size
            shutil.copytree(FIXTURES / f"{plan.role}.dump", partial, dirs_exist_ok=True)
            partial.replace(plan.out_path)
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                fake.cancelled.append(fake.step or plan.role)
            shutil.rmtree(partial, ignore_errors=True)  # as the real dump does
            raise
        return {
            "path": plan.out_path.name,
            "roles": list(plan.roles),
            "database": name,
            "server": f"database {name!r} on 127.0.0.1:15432 as user 'alfresco'",
            "server_version": "15.18",
            "tool_major": 15,
            "format": plan.fmt,
            "jobs": plan.jobs if plan.fmt == "directory" else 1,
            "compress": plan.compress,
            "snapshot_at": snapshot_at,
            "snapshot_at_iso": iso(snapshot_at),
            "started_at": snapshot_at,
            "finished_at": snapshot_at + 41,
            "size_bytes": sum(f.stat().st_size for f in plan.out_path.iterdir()),
            "row_counts": {t.name: t.rows for t in tables},
            "at_snapshot": extra,
        }

    async def aclose(self) -> None:
        pass


__all__ = ["RUN_ID", "SYNC_ID", "TOPIC", "FakeBackup", "FakeBackupLauncher", "backup_reports"]
