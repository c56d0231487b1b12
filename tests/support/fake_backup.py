"""A scripted backup for the TUI tests and the screenshots: real steps, fake actions.

`FakeBackup` takes the real backup runbook's five steps (titles, whys, plans,
dependencies) and swaps each action for a quick script that emits the same
kinds of events as the real one: pgtools.Progress and pg_dump output lines for
the dumps, drain.DrainStatus for the wait, a sealed set with a manifest. The
steps run through the real Engine and journal (under SYNCWIZARD_STATE_DIR), so
resuming, cancelling and gates behave as they do for a real run. A test can
hold a step mid-way (`hold_at`), release it, make it fail, or put a gate on it.
Nothing here talks to a network.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from support.fake_status import QUEUE, SYNC_ID, T0, TOPIC, report

from syncwizard.clients.pgtools import Progress
from syncwizard.config import Settings
from syncwizard.errors import SyncWizardError
from syncwizard.runbook import backupset
from syncwizard.runbook.backup.drain import P0_CONSUMED, DrainStatus
from syncwizard.runbook.backup.runbook import (
    PREFLIGHT,
    REPOSITORY,
    SEAL,
    SYNC,
    WAIT,
    BackupOptions,
    BackupSteps,
)
from syncwizard.runbook.backup.snapshot_dump import iso
from syncwizard.runbook.engine import Engine
from syncwizard.runbook.journal import Journal, RunRecord, new_run_id, runs_dir
from syncwizard.runbook.model import (
    Confirm,
    Gate,
    Observer,
    Outputs,
    Runbook,
    StepContext,
)
from syncwizard.status import StatusReport
from syncwizard.tui.backup.launcher import abandon_run, find_unfinished_backup, read_backup_set

RUN_ID = "backup-20260101T000000Z"
FAIL_AT = 3  # a failing step fails after this many progress reports (or at its end)
P0 = 2_000  # events pending at t0 in the scripted wait
ENQUEUED_AT_T0 = 50_000


@dataclasses.dataclass(frozen=True)
class Table:
    name: str
    rows: int
    size: int  # bytes of its compressed data file


REPOSITORY_TABLES = (
    Table("public.alf_access_control_entry", 48_210, 412_331),
    Table("public.alf_node", 1_204_777, 31_873_922),
    Table("public.alf_node_properties", 3_109_402, 58_102_774),
    Table("public.alf_child_assoc", 1_198_330, 27_553_019),
    Table("public.alf_transaction", 251_611, 3_331_870),
)
SYNC_TABLES = (
    Table("public.dbqueue", 1_822, 41_250),
    Table("public.events", 382_114, 9_827_101),
    Table("public.subscriptions", 212, 8_911),
)
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


class FakeBackup:
    """The five backup steps with scripted actions; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        backup_dir: Path,
        *,
        run_id: str | None = None,
        hold_at: Mapping[str, int | Iterable[int]] | None = None,
        fail: Mapping[str, SyncWizardError] | None = None,
        gate_on: str | None = None,
        no_consumer: bool = False,
        write_files: bool = True,
        pause: float = 0.0,
    ) -> None:
        self.settings = settings
        self.backup_dir = backup_dir
        self.run_id = run_id
        # step -> the progress reports (counted from 1) after which it waits for release()
        self.hold_at: dict[str, set[int]] = {
            step: {points} if isinstance(points, int) else set(points)
            for step, points in (hold_at or {}).items()
        }
        self.fail = dict(fail or {})
        self.gate_on = gate_on
        self.no_consumer = no_consumer
        self.write_files = write_files
        self.pause = pause  # seconds between two progress reports (0: as fast as possible)
        self.calls: list[str] = []  # the actions run, in order
        self.holding: str | None = None
        self.cancelled: list[str] = []  # steps whose action saw the cancellation
        self.manifest: dict[str, Any] | None = None
        self._release: dict[tuple[str, int], asyncio.Event] = {}
        self._holding_at: tuple[str, int] | None = None

    # --- control from a test --------------------------------------------------------------

    def release(self) -> None:
        """Let the holding step go on."""
        if self._holding_at is not None:
            self._release.setdefault(self._holding_at, asyncio.Event()).set()

    async def _maybe_hold(self, step_id: str, report: int) -> None:
        """After progress report number `report` of a step: pause, hold, or fail there."""
        if self.pause:
            await asyncio.sleep(self.pause)
        if report in self.hold_at.get(step_id, ()):
            self.holding, self._holding_at = step_id, (step_id, report)
            try:
                await self._release.setdefault((step_id, report), asyncio.Event()).wait()
            finally:
                self.holding, self._holding_at = None, None
        if report == FAIL_AT:  # midway, as a database that goes away mid-dump does
            self._raise_if_failing(step_id)

    # --- the runbook ----------------------------------------------------------------------

    def options(self) -> BackupOptions:
        return BackupOptions.from_settings(
            dataclasses.replace(self.settings.profile.backup, dir=str(self.backup_dir))
        )

    def runbook(self, set_dir: Path) -> Runbook:
        steps = BackupSteps(self.settings.profile, None, self.options(), set_dir)
        real = steps.runbook()
        actions = {
            PREFLIGHT: self._preflight(set_dir),
            REPOSITORY: self._dump(REPOSITORY, "repository_db", REPOSITORY_TABLES, set_dir),
            WAIT: self._wait,
            SYNC: self._dump(SYNC, "sync_db", SYNC_TABLES, set_dir),
            SEAL: self._seal(set_dir),
        }
        return Runbook(
            name=real.name,
            aclose=steps.systems.aclose,
            steps=tuple(
                dataclasses.replace(
                    step,
                    action=actions[step.id],
                    precondition=None,
                    verification=None,
                    gate=self._gate if step.id == self.gate_on else None,
                )
                for step in real.steps
            ),
        )

    async def _gate(self, ctx: StepContext) -> Gate:
        return Gate(
            title="Overwrite the database alfresco?",
            consequences="Every table of the database alfresco on 127.0.0.1:15432 is dropped "
            "and loaded again from the backup set: changes made since the backup are lost.",
            token="alfresco",
        )

    def _preflight(self, set_dir: Path):  # type: ignore[no-untyped-def]
        async def preflight(ctx: StepContext) -> Outputs:
            self.calls.append(PREFLIGHT)
            ctx.progress("reading the health check and the broker")
            await self._maybe_hold(PREFLIGHT, 1)
            ctx.progress("connecting to the databases")
            await self._maybe_hold(PREFLIGHT, 2)
            self._raise_if_failing(PREFLIGHT)
            if self.write_files:
                set_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            return {
                "sync_id": SYNC_ID,
                "queue": QUEUE,
                "topic": TOPIC,
                "consumers": 1,
                "databases": {},
                "shared_database": False,
                "shared_reason": "",
                "backup_set": str(set_dir),
                "warnings": [],
                "summary": f"sync id {SYNC_ID}, 1 consumer on the sync queue",
            }

        return preflight

    def _raise_if_failing(self, step_id: str) -> None:
        if step_id in self.fail:
            raise self.fail[step_id]

    def _dump(self, step_id: str, role: str, tables: Sequence[Table], set_dir: Path):  # type: ignore[no-untyped-def]
        name = f"{role}.dump"
        snapshot_at = T0 + (3 if role == "repository_db" else 95)
        total_rows = sum(t.rows for t in tables)

        async def dump(ctx: StepContext) -> Outputs:
            self.calls.append(step_id)
            partial = set_dir / (name + backupset.PARTIAL_SUFFIX)
            ctx.record(
                f"{role}_snapshot",
                {"snapshot_at": snapshot_at, "snapshot_at_iso": iso(snapshot_at)},
            )
            try:
                if self.write_files:
                    partial.mkdir(parents=True, exist_ok=True)
                for line in PG_DUMP_PREAMBLE:
                    ctx.log(line)
                done, written = 0, 0
                for number, table in enumerate(tables):
                    line = f'pg_dump: dumping contents of table "{table.name}"'
                    ctx.log(line)
                    half = table.rows // 2
                    ctx.progress(
                        f"{role} dump: data, {done + half:,} rows, {table.name}",
                        Progress(
                            "pg_dump",
                            "data",
                            table.name,
                            written + table.size // 2,
                            done + half,
                            total_rows,
                            (line,),
                            12.0 + 9 * number,
                        ),
                    )
                    await self._maybe_hold(step_id, number + 1)
                    done, written = done + table.rows, written + table.size
                self._raise_if_failing(step_id)
            except BaseException as exc:
                if isinstance(exc, asyncio.CancelledError):
                    self.cancelled.append(step_id)
                shutil.rmtree(partial, ignore_errors=True)  # as the real step does
                raise
            files = self._write_dump(set_dir, name, tables, partial)
            dump_info = {
                "path": name,
                "roles": [role],
                "database": "alfresco" if role == "repository_db" else "syncservice",
                "format": "directory",
                "jobs": 2,
                "compress": "1",
                "snapshot_at": snapshot_at,
                "snapshot_at_iso": iso(snapshot_at),
                "size_bytes": sum(f["size"] for f in files),
                "row_counts": {t.name: t.rows for t in tables},
                "files": files,
                "toc_entries": 40 + len(tables),
            }
            size = dump_info["size_bytes"] / 1e6
            label = "repository DB" if role == "repository_db" else "Sync DB"
            return {
                "dump": dump_info,
                "t0": snapshot_at,
                "t0_iso": iso(snapshot_at),
                "queue_at_t0": {"pending": P0, "dequeued": ENQUEUED_AT_T0 - P0}
                if role == "repository_db"
                else None,
                "summary": f"{label}: {size:,.1f} MB, {total_rows:,} rows in {len(tables)} "
                f"tables, snapshot at {iso(snapshot_at)}",
            }

        return dump

    def _write_dump(
        self, set_dir: Path, name: str, tables: Sequence[Table], partial: Path
    ) -> list[dict[str, Any]]:
        """The dump's files: written small (with their real sizes recorded only when not
        written), so a written set verifies against its own manifest."""
        contents = {f"{name}/toc.dat": b"PGDMP fake toc\n"}
        for number, table in enumerate(tables, start=3001):
            contents[f"{name}/{number}.dat.gz"] = f"rows of {table.name}\n".encode()
        sizes = {f"{name}/toc.dat": 48_211} | {
            f"{name}/{n}.dat.gz": t.size for n, t in enumerate(tables, start=3001)
        }
        files = []
        for relative, data in contents.items():
            digest = hashlib.sha256(data).hexdigest()
            size = len(data) if self.write_files else sizes[relative]
            files.append({"path": relative, "size": size, "sha256": digest})
        if self.write_files:
            for relative, data in contents.items():
                target = partial / relative.split("/", 1)[1]
                target.write_bytes(data)
            os.replace(partial, set_dir / name)
        return files

    async def _wait(self, ctx: StepContext) -> Outputs:
        self.calls.append(WAIT)
        t0 = T0 + 3
        status = None
        for number, consumed in enumerate((0, 400, 820, 1_200, P0, P0)):
            final = number == 5
            pending = P0 - consumed + 20 * number if not final else 0
            consumers = 0 if self.no_consumer else 1
            problems: tuple[str, ...] = ()
            if self.no_consumer:
                problems = (
                    f"no consumer is attached to {QUEUE}: the Sync Service is not consuming. "
                    "Check that it runs (its log, `syncwizard status`) and that its "
                    "messaging.broker settings point at this broker.",
                )
            status = DrainStatus(
                at=T0 + 84 + 2 * number,
                elapsed=41.0 + 2 * number,
                timeout=1800.0,
                clause=P0_CONSUMED if consumed >= P0 else None,
                ready=consumed >= P0,
                confirmed=final,
                pending=pending,
                consumed=consumed,
                p0=P0,
                consumers=consumers,
                problems=problems,
            )
            ctx.progress(status.text, status)
            await self._maybe_hold(WAIT, number + 1)
        self._raise_if_failing(WAIT)
        assert status is not None
        return {
            "mode": "drain",
            "t0": t0,
            "clause": status.clause,
            "drained_at": status.at,
            "drained_at_iso": iso(status.at),
            "queue_at_drain": status.as_json(),
            "counters_reset": False,
            "notes": [],
            "summary": status.headline,
        }

    def _seal(self, set_dir: Path):  # type: ignore[no-untyped-def]
        async def seal(ctx: StepContext) -> Outputs:
            self.calls.append(SEAL)
            dumps = [ctx.results[s]["dump"] for s in (REPOSITORY, SYNC)]
            for dump in dumps:
                ctx.progress(f"checking {dump['path']} (pg_restore --list, sha256)")
                await self._maybe_hold(SEAL, 1)
            self._raise_if_failing(SEAL)
            files = [entry for dump in dumps for entry in dump["files"]]
            self.manifest = self._manifest(ctx, dumps, files)
            if self.write_files:
                backupset.write_manifest(set_dir, self.manifest)
            total = sum(entry["size"] for entry in files)
            return {
                "manifest": str(set_dir / backupset.MANIFEST_NAME),
                "backup_set": str(set_dir),
                "files": len(files),
                "bytes": total,
                "summary": f"sealed {set_dir}: {len(files)} files, {total / 1e6:,.1f} MB, "
                "manifest.json written",
            }

        return seal

    def _manifest(
        self, ctx: StepContext, dumps: list[dict[str, Any]], files: list[dict[str, Any]]
    ) -> dict[str, Any]:
        moments = {PREFLIGHT: (0, 2), REPOSITORY: (2, 43), WAIT: (43, 94), SYNC: (94, 103)}
        moments[SEAL] = (103, 109)
        return {
            "format": backupset.MANIFEST_FORMAT,
            "version": backupset.MANIFEST_VERSION,
            "tool": {"name": "syncwizard", "version": "test"},
            "run_id": ctx.run_id,
            "profile": self.settings.profile.name,
            "created_at": iso(T0 + 109),
            "sync_id": SYNC_ID,
            "queue": QUEUE,
            "shared_database": False,
            "t0": {"at": iso(T0 + 3), "source": "repository dump's snapshot"},
            "wait": {
                k: v for k, v in ctx.results[WAIT].items() if k not in ("queue_at_drain", "summary")
            },
            "steps": {
                step: {"started_at": iso(T0 + a), "finished_at": iso(T0 + b), "outcome": ""}
                for step, (a, b) in moments.items()
            },
            "dumps": [{k: v for k, v in d.items() if k != "files"} for d in dumps],
            "files": files,
            "total_bytes": sum(entry["size"] for entry in files),
        }


class FakeBackupLauncher:
    """A RunLauncher over a FakeBackup: the real Engine and journal, scripted steps."""

    def __init__(self, fake: FakeBackup) -> None:
        self.fake = fake
        self.engines: list[Engine] = []

    def find_unfinished(self) -> RunRecord | None:
        return find_unfinished_backup()

    def abandon(self, record: RunRecord, reason: str) -> None:
        abandon_run(record, reason)

    async def read_set(self, set_dir: Path) -> dict[str, Any]:
        if self.fake.write_files:
            return await read_backup_set(set_dir)
        if self.fake.manifest is None:
            raise SyncWizardError(f"{set_dir} holds no manifest.json", system="config")
        return self.fake.manifest

    async def step_titles(self, record: RunRecord) -> dict[str, str]:
        runbook = self.fake.runbook(self.fake.backup_dir / record.run_id)
        if runbook.aclose is not None:
            await runbook.aclose()
        return {step.id: step.title for step in runbook.steps}

    async def start(self, observers: Sequence[Observer], confirm: Confirm) -> Engine:
        run_id = base = self.fake.run_id or new_run_id("backup")
        number = 1
        while (runs_dir() / run_id).exists():  # two runs within one second
            number += 1
            run_id = f"{base}-{number}"
        set_dir = self.fake.backup_dir / run_id
        journal = Journal.create(runs_dir() / run_id)
        engine = Engine(
            self.fake.runbook(set_dir), journal, run_id, observers=observers, confirm=confirm
        )
        engine.start(
            {
                "profile": self.fake.settings.profile.name,
                "backup_set": str(set_dir),
                "options": self.fake.options().as_json(),
                "pid": os.getpid(),
            }
        )
        self.engines.append(engine)
        return engine

    async def resume(
        self, record: RunRecord, observers: Sequence[Observer], confirm: Confirm
    ) -> Engine:
        previous = record.status()
        journal = Journal.open(record.run_dir)
        runbook = self.fake.runbook(Path(record.header["backup_set"]))
        engine = Engine.resume(runbook, record, journal, observers=observers, confirm=confirm)
        await engine.recheck()
        engine.announce_resume(
            f"resuming run {record.run_id} at step {record.stopped_at!r} (it was {previous})"
        )
        self.engines.append(engine)
        return engine
