"""One small interface for a database the wizard backs up and restores: its facts, a dump
with progress, a restore beside the live database, the verification, and the swap.

Two engines satisfy it: PostgreSQL (pg_dump in our own snapshot, pg_restore into
`<db>__restore_<run>`, the databases renamed in one transaction) and MySQL/MariaDB
(mariadb-dump --single-transaction, the client into `<db>__restore_<run>`, every table
moved by one RENAME TABLE). The runbooks reach MySQL/MariaDB through MySQLEngine (the
backup's dump in backup/mysql_db.py, the restore's steps in restore/mysql_database.py)
and still call the PostgreSQL functions directly; both engines are checked against this
interface (tests/unit/test_dbengine.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from syncwizard import units
from syncwizard.clients import mysql_dump, mysql_restore, mysql_swap, postgres
from syncwizard.clients.mysql_conn import MySQLTarget
from syncwizard.clients.mysql_facts import database_facts as mysql_database_facts
from syncwizard.clients.mysql_facts import server_facts as mysql_server_facts
from syncwizard.clients.mysql_restore import MySQLRestorePlan
from syncwizard.clients.mysql_rows import DumpReading, read_dump
from syncwizard.clients.results import Progress
from syncwizard.errors import SyncWizardError
from syncwizard.runbook.backup.snapshot_dump import DumpPlan, SnapshotHook, dump_in_snapshot
from syncwizard.runbook.model import Outputs, StepContext
from syncwizard.runbook.restore import database as pg_restore
from syncwizard.runbook.restore.database import RestorePlan


@dataclass(frozen=True)
class EngineFacts:
    engine: str  # "postgresql", "mariadb" or "mysql"
    server_version: str
    database: str
    size_bytes: int


@runtime_checkable
class DatabaseEngine(Protocol):
    """What a backup's dump step and a restore's two database steps need of a database."""

    async def facts(self) -> EngineFacts: ...

    async def dump(self, ctx: StepContext) -> Outputs:
        """Dump with progress (ctx.progress); the outputs carry t0 and exact row counts."""
        ...

    async def restore_beside(self, ctx: StepContext) -> Outputs:
        """Into `<db>__restore_<run>`, verified table by table; resumable after a kill -9."""
        ...

    async def verify(self, ctx: StepContext) -> None:
        """The live database is the restored one (after the swap; also on a resume)."""
        ...

    async def swap(self, ctx: StepContext) -> Outputs:
        """The restored database into the live one's place, atomically; resumable."""
        ...


def _missing(what: str, engine: str) -> SyncWizardError:
    return SyncWizardError(
        f"this {engine} engine was made without {what}",
        hint="build it with the plan of the step that runs it",
        system="config",
    )


class PostgresEngine:
    """The PostgreSQL functions the runbooks call today, behind the interface."""

    def __init__(
        self, dump_plan: DumpPlan | None = None, restore_plan: RestorePlan | None = None
    ) -> None:
        self.dump_plan = dump_plan
        self.restore_plan = restore_plan

    def _restore(self) -> RestorePlan:
        if self.restore_plan is None:
            raise _missing("a restore plan", "PostgreSQL")
        return self.restore_plan

    async def facts(self) -> EngineFacts:
        plan = self.dump_plan or self._restore()
        found = await postgres.database_facts(
            plan.conninfo, passfile=plan.passfile, system=plan.role
        )
        return EngineFacts("postgresql", found.server_version, found.name, found.size_bytes)

    async def dump(self, ctx: StepContext) -> Outputs:
        if self.dump_plan is None:
            raise _missing("a dump plan", "PostgreSQL")
        return await dump_in_snapshot(self.dump_plan, ctx)

    async def restore_beside(self, ctx: StepContext) -> Outputs:
        return await pg_restore.restore_into_scratch(self._restore(), ctx)

    async def verify(self, ctx: StepContext) -> None:
        await pg_restore.verify_swapped(self._restore(), ctx, {})

    async def swap(self, ctx: StepContext) -> Outputs:
        return await pg_restore.swap(self._restore(), ctx)


class _StepJournal:
    """A step's records as the MySQL/MariaDB clients' Journal: what they record across a
    crash goes to the run's journal like a PostgreSQL step's."""

    def __init__(self, ctx: StepContext, step_id: str) -> None:
        self.ctx = ctx
        self.step_id = step_id

    def record(self, name: str, data: Mapping[str, Any]) -> None:
        self.ctx.record(name, data)

    def records(self) -> Mapping[str, Mapping[str, Any]]:
        return self.ctx.records_of(self.step_id)


async def read_back(ctx: StepContext, label: str, path: Path) -> DumpReading:
    """The finished dump read once: its exact rows per table (the snapshot's: the manifest
    records them, the restore checks them) and its sha256, with progress."""
    loop = asyncio.get_running_loop()
    size = path.stat().st_size
    last = 0.0

    def on_read(done: int) -> None:  # in the reading thread
        nonlocal last
        if time.monotonic() - last >= mysql_dump.REPORT_INTERVAL:
            last = time.monotonic()
            said = f"{label}: read back for its exact rows and sha256, "
            said += f"{units.size(done)} of {units.size(size)}"
            loop.call_soon_threadsafe(ctx.progress, said)

    reading = await asyncio.to_thread(read_dump, path, on_read)
    rows = sum(reading.counts.values())
    ctx.progress(
        f"{label}: {rows:,} rows in {len(reading.counts)} tables, read back with its sha256"
    )
    if not reading.completed:  # the tool's closing line was seen before the rename
        raise SyncWizardError(
            f"{path} changed after it was written: it no longer ends with the tool's closing line",
            hint="check what else writes to the backup folder; run the backup again",
            system="backup_dir",
        )
    return reading


def _progress(ctx: StepContext, label: str) -> mysql_dump.ProgressCallback:
    def report(progress: Progress) -> None:
        rows = progress.rows_done
        if progress.tuples_total:
            share = min(100, 100 * progress.tuples_done // max(progress.tuples_total, 1))
            rows += f" of about {progress.tuples_total:,} rows ({share}%)"
        else:
            rows += " rows"
        where = f", {progress.current_object}" if progress.current_object else ""
        ctx.progress(
            f"{label}: {progress.phase}, {rows}, {units.size(progress.bytes_written)}{where}",
            progress,
        )

    return report


class MySQLEngine:
    """MySQL/MariaDB through the clients/mysql_* modules. `restore_step` and `swap_step`
    name the steps whose records a resume reads (as RestorePlan's do)."""

    def __init__(
        self,
        target: MySQLTarget,
        *,
        out_path: Path | None = None,
        restore_plan: MySQLRestorePlan | None = None,
        restore_step: str = "",
        swap_step: str = "",
        at_snapshot: SnapshotHook | None = None,
    ) -> None:
        self.target = target
        self.out_path = out_path
        # Run beside the dump from the moment the tool starts (its snapshot's time, t0);
        # its result is the dump's "at_snapshot" output (the backup's queue at t0).
        self.at_snapshot = at_snapshot
        self.restore_plan = restore_plan
        self.restore_step = restore_step
        self.swap_step = swap_step

    def _restore(self) -> MySQLRestorePlan:
        if self.restore_plan is None:
            raise _missing("a restore plan", "MySQL/MariaDB")
        return self.restore_plan

    async def facts(self) -> EngineFacts:
        server = await mysql_server_facts(self.target)
        found = await mysql_database_facts(self.target)
        return EngineFacts(server.flavour, server.version, found.name, found.size_bytes)

    async def dump(self, ctx: StepContext) -> Outputs:
        if self.out_path is None:
            raise _missing("an output path", "MySQL/MariaDB")
        label = f"{self.target.system or 'database'} dump"
        hook = self.at_snapshot
        beside: asyncio.Task[dict[str, Any] | None] | None = None

        def started(pid: int) -> None:
            nonlocal beside
            at = time.time()
            # So a resume after a kill -9 stops the orphaned tool (mysql_dump.kill_orphan).
            ctx.record("child", {"pid": pid, "tool": mysql_dump.CHILD_TOOL})
            if hook is not None:
                beside = asyncio.ensure_future(hook(at))

        try:
            result = await mysql_dump.dump(
                self.target,
                self.out_path,
                on_progress=_progress(ctx, label),
                on_started=started,
            )
            # While the queue waits for its count at t0 + margin: the dump read back.
            reading = await read_back(ctx, label, result.path)
            extra = await beside if beside is not None else None
        finally:
            if beside is not None and not beside.done():
                beside.cancel()
                await asyncio.gather(beside, return_exceptions=True)
        return {
            "at_snapshot": extra,
            "file": result.path.name,
            "t0": result.started_at,
            "finished_at": result.finished_at,
            "size_bytes": reading.size,  # as read and hashed
            "server_version": result.server_version,
            "flavour": result.flavour,
            "row_counts": reading.counts,
            "rows_estimate": result.rows_estimate,
            "sha256": reading.sha256,
        }

    async def restore_beside(self, ctx: StepContext) -> Outputs:
        plan = self._restore()
        return await mysql_restore.restore_beside(
            plan,
            _StepJournal(ctx, self.restore_step),
            on_progress=_progress(ctx, f"{plan.label} restore"),
            log=ctx.log,
        )

    async def verify(self, ctx: StepContext) -> None:
        plan = self._restore()
        found = await mysql_restore.exact_counts(plan.target, plan.live, sorted(plan.row_counts))
        if problems := mysql_restore.mismatches(plan.row_counts, found):
            raise SyncWizardError(
                f"{plan.label} is no longer the restored database: " + "; ".join(problems[:5]),
                hint="something changed it since the swap; start the restore again",
                system=plan.target.system,
            )

    async def swap(self, ctx: StepContext) -> Outputs:
        plan = self._restore()
        restored = ctx.records_of(self.restore_step).get("restored")
        return await mysql_swap.swap(plan, _StepJournal(ctx, self.swap_step), restored=restored)
