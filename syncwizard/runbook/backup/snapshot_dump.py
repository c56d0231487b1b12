"""One database dump inside a snapshot of our own: t0, exact row counts, and pg_dump.

We open a REPEATABLE READ transaction, export its snapshot and hand it to pg_dump
(`--snapshot`), so the dump sees exactly what our transaction sees. That gives
t0 (the moment the snapshot was taken, which for pg_dump is the dump's START)
and exact per-table row counts of that snapshot, kept in the manifest so a restore
can be checked. A directory dump is written by pg_dump as plain text, which the wizard
compresses and counts as it is written (data_files.py): the database server does no
second scan, and the step takes less CPU than pg_dump compressing alone. A table whose
data file cannot be counted exactly, and every table of a custom-format dump, is counted
with `count(*)` in our snapshot. The transaction stays open until the counts are taken
(pg_dump's parallel workers import the snapshot too).

The waits are bounded, not the work: connecting and the snapshot's export get the
database's `timeout`, the row counts and pg_dump wait for a table lock at most its
`lock_timeout` (a lock wait that runs out is refused, naming who holds the lock),
while the counts and the dump themselves run as long as they need.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from syncwizard import units
from syncwizard.clients import lifeline
from syncwizard.clients.pglocks import LockWaitError, lock_holders, lock_wait_error, sql_name
from syncwizard.clients.pgtools import DumpFormat, PgDump, exact_pattern
from syncwizard.clients.postgres import (
    DEFAULT_LOCK_TIMEOUT,
    DEFAULT_TIMEOUT,
    answer_within,
    close_quietly,
    connect,
    describe_target,
    query_error,
    system_label,
)
from syncwizard.clients.results import Progress
from syncwizard.errors import SyncWizardError
from syncwizard.runbook import backupset
from syncwizard.runbook.backup.data_files import DataFiles, DataFilesResult, gzip_level
from syncwizard.runbook.model import RefusedError, StepContext

_USER_TABLES = """
SELECT c.oid, n.nspname, c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND c.relpersistence <> 't'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
ORDER BY 1, 2
"""
_FULL_DISK = ("No space left on device", "File too large", "Disk quota exceeded")
_GONE = (
    "terminating connection",
    "server closed the connection",
    "connection to server",
    "could not receive data",
    "the database system is shutting down",
)


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


Table = tuple[str, str]  # schema, name


@dataclass(frozen=True)
class DumpPlan:
    role: str  # "repository_db" or "sync_db" (the system named in errors)
    roles: tuple[str, ...]  # the databases this dump stands for (both, when they are shared)
    conninfo: str
    passfile: Path | None
    out_path: Path
    fmt: DumpFormat
    jobs: int
    compress: str | None
    timeout: float = DEFAULT_TIMEOUT  # to connect, and for each short query's answer
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT  # the longest wait for one table lock
    # A database shared by the repository and the Sync Service is dumped in two parts:
    # the repository's at t0 `without` the Sync Service's tables (and their sequences),
    # the Sync Service's after the wait, `only` its tables.
    only: tuple[Table, ...] = ()
    without: tuple[Table, ...] = ()

    def holds(self, table: Table) -> bool:
        """Whether this dump holds `table`'s rows."""
        if self.only:
            return table in self.only
        return table not in self.without

    def tool_patterns(self) -> tuple[list[str], list[str]]:
        """pg_dump's --table and --exclude-table patterns, each naming exactly one object."""
        return (
            [exact_pattern(*table) for table in self.only],
            [exact_pattern(*table) for table in self.without],
        )

    @property
    def compressed_by_us(self) -> bool:
        """A directory dump's data files are compressed by the wizard, not by pg_dump."""
        return self.fmt == "directory"

    def describe(self) -> str:
        parts = [f"pg_dump --format={self.fmt}"]
        if self.fmt == "directory" and self.jobs > 1:
            parts.append(f"--jobs={self.jobs}")
        how = ""
        if self.compressed_by_us:
            level = gzip_level(self.compress)
            how = (
                f"its data files gzipped by syncwizard as pg_dump writes them with "
                f"--compress=0, ISA-L level {level}; "
                if level
                else "its data files left plain, --compress=0; "
            )
        elif self.compress is not None:
            parts.append(f"--compress={self.compress}")
        if self.only:
            parts.append(f"of the Sync Service's {len(self.only)} tables only")
        elif self.without:
            parts.append(f"without the Sync Service's tables and sequences ({len(self.without)})")
        return (
            f"{' '.join(parts)} of the {describe_target(self.conninfo, self.role)} into "
            f"{self.out_path} ({how}written as {self.out_path.name}.partial and renamed when "
            "complete), inside a snapshot of our own, with every table's exact row count"
        )


def kill_orphan(pid: int, partial: str) -> bool:
    """Kill a pg_dump left running by a killed syncwizard (its whole process group), if that
    pid still is that pg_dump. True if one was killed."""
    return lifeline.kill_orphan(pid, {"pg_dump"}, lambda args: partial.encode() in b" ".join(args))


def remove_leftovers(out_path: Path) -> list[Path]:
    """Remove a dump and its `.partial` left by an interrupted attempt of the same step."""
    removed = []
    for path in (out_path, out_path.with_name(out_path.name + ".partial")):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
            removed.append(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
            removed.append(path)
    return removed


def _progress_text(label: str, progress: Progress) -> str:
    size = units.size(progress.bytes_written)
    if progress.tuples_total:
        percent = min(100, 100 * progress.tuples_done // max(progress.tuples_total, 1))
        rows = f"{progress.tuples_done:,} of ~{progress.tuples_total:,} rows ({percent}%)"
    else:
        rows = f"{progress.tuples_done:,} rows"
    where = f", {progress.current_object}" if progress.current_object else ""
    return f"{label} dump: {progress.phase}, {rows}, {size} written{where}"


def _line_with(markers: tuple[str, ...], text: str, lines: Iterable[str]) -> str | None:
    """`text` if it holds a marker, else the last of `lines` (the tool's output) that does."""
    if any(marker in text for marker in markers):
        return text
    return next((ln for ln in reversed(list(lines)) if any(m in ln for m in markers)), None)


def full_disk_error(
    exc: SyncWizardError, folder: Path, label: str, lines: Iterable[str] = ()
) -> SyncWizardError | None:
    """The dump's failure as a full backup folder, if the tool said so (pg_dump or
    mariadb-dump/mysqldump: the same words)."""
    full = _line_with(_FULL_DISK, exc.message, lines)
    if full is None:
        return None
    return SyncWizardError(
        f"the backup folder {folder} is full: the {label} dump could not be written "
        f"({full.strip()})",
        hint="free space there or set backup.dir to a bigger disk, then run `syncwizard "
        "backup` again: the run resumes at this step (the partial dump was removed)",
        system="backup_dir",
    )


def explain_failure(
    exc: SyncWizardError, plan: DumpPlan, lines: Iterable[str] = ()
) -> SyncWizardError:
    """The dump's failure in the admin's terms: a full disk, a database gone, or as it is.

    With parallel jobs the last error line is often "a worker process died unexpectedly":
    the cause is in an earlier line of the tool's output (`lines`).
    """
    label = system_label(plan.role)
    lines = list(lines)
    if isinstance(exc, LockWaitError):  # a wait that ran out, as the drain wait's: refused
        return RefusedError(
            exc.message,
            hint=f"{exc.hint}; then run `syncwizard backup` again: the run resumes at this "
            "step (the partial dump was removed)",
            system=exc.system,
        )
    if full := full_disk_error(exc, plan.out_path.parent, label, lines):
        return full
    if gone := _line_with(_GONE, exc.message, lines):
        return SyncWizardError(
            f"the {label} went away during the dump ({gone.strip()})",
            hint="check the database server and its log; when it is back, run `syncwizard "
            "backup` again: the run resumes at this step (the partial dump was removed)",
            system=plan.role,
        )
    return exc


async def user_tables(conn: psycopg.AsyncConnection[Any], plan: DumpPlan) -> dict[int, Table]:
    """Every table of the dump that holds rows of its own, by oid, in the snapshot of `conn`'s
    open transaction (the catalog alone: no table is read)."""
    try:
        cursor = await conn.execute(_USER_TABLES)
        rows = await cursor.fetchall()
    except psycopg.Error as exc:
        raise query_error(exc, plan.conninfo, system=plan.role) from exc
    return {int(oid): (schema, name) for oid, schema, name in rows if plan.holds((schema, name))}


async def count_rows(
    conn: psycopg.AsyncConnection[Any], plan: DumpPlan, tables: Iterable[Table] | None = None
) -> dict[str, int]:
    """The exact row count of `tables` (default: every user table), in the snapshot of
    `conn`'s open transaction. A count runs as long as it needs; its wait for a table's
    lock ends at the session's lock_timeout, with an error naming who holds the lock."""
    counts: dict[str, int] = {}
    table = ""
    try:
        # One core for the counts: they may run beside pg_dump.
        await conn.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        await conn.execute("SET LOCAL statement_timeout = 0")  # counting is work, not a wait
        if tables is None:
            tables = (await user_tables(conn, plan)).values()
        for schema, name in tables:
            table = sql_name(schema, name)
            query = sql.SQL("SELECT count(*) FROM ONLY {}").format(sql.Identifier(schema, name))
            row = await (await conn.execute(query)).fetchone()
            counts[f"{schema}.{name}"] = int(row[0]) if row else 0
    except psycopg.errors.LockNotAvailable as exc:
        holders = await lock_holders(
            plan.conninfo, [table], passfile=plan.passfile, system=plan.role, timeout=plan.timeout
        )
        raise lock_wait_error(
            [table],
            holders,
            plan.conninfo,
            system=plan.role,
            waiter="the exact row count",
            bound=plan.lock_timeout,
        ) from exc
    except psycopg.Error as exc:
        raise query_error(exc, plan.conninfo, system=plan.role) from exc
    return counts


async def counts_from_data_files(
    conn: psycopg.AsyncConnection[Any],
    plan: DumpPlan,
    in_files: DataFilesResult,
    tables: dict[int, Table],
    ctx: StepContext,
) -> dict[str, int]:
    """Every table's exact rows, once the directory dump is complete: what its data file
    holds, or, for a table without a data file that could be counted exactly, `count(*)`
    in the snapshot of `conn`'s transaction (still open)."""
    rows = in_files.rows
    toc = await backupset.list_archive(plan.out_path)
    counted = {oid: rows[dump_id] for dump_id, oid in toc.data_ids.items() if dump_id in rows}
    for dump_id, why in sorted(in_files.problems.items()):
        ctx.log(f"the rows of data file {dump_id} are counted in the snapshot instead: {why}")
    rest = [table for oid, table in tables.items() if oid not in counted]
    if rest:
        ctx.log(
            f"counting the rows of {len(rest)} table(s) without a counted data file in the "
            f"snapshot: {', '.join(sql_name(*table) for table in rest[:5])}"
        )
    in_snapshot = await count_rows(conn, plan, rest) if rest else {}
    return {
        f"{schema}.{name}": counted[oid] if oid in counted else in_snapshot[f"{schema}.{name}"]
        for oid, (schema, name) in tables.items()
    }


def _compressed_by(plan: DumpPlan) -> str:
    """Who compressed the dump's data, as the manifest says it."""
    if not plan.compressed_by_us:
        return "pg_dump"
    level = gzip_level(plan.compress)
    return f"syncwizard (ISA-L gzip level {level})" if level else "nobody (plain COPY text)"


SnapshotHook = Callable[[float], Awaitable[dict[str, Any] | None]]


async def dump_in_snapshot(
    plan: DumpPlan, ctx: StepContext, *, at_snapshot: SnapshotHook | None = None
) -> dict[str, Any]:
    """Dump `plan`'s database inside our own exported snapshot; return what the manifest keeps.

    `at_snapshot(t0)` runs while the dump does (e.g. the queue snapshot at t0); its result
    is returned as "at_snapshot".
    """
    label = system_label(plan.role)
    conn = await connect(
        plan.conninfo,
        passfile=plan.passfile,
        system=plan.role,
        timeout=plan.timeout,
        statement_timeout=plan.timeout,
        lock_timeout=plan.lock_timeout,
    )
    try:
        try:
            with answer_within(conn, plan.timeout):
                await conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                cursor = await conn.execute(
                    "SELECT pg_export_snapshot(), current_database(), "
                    "current_setting('server_version'), clock_timestamp()"
                )
                row = await cursor.fetchone()
                assert row is not None
                snapshot_id, dbname, version, server_time = row
        except (psycopg.Error, TimeoutError) as exc:
            raise query_error(
                exc,
                plan.conninfo,
                system=plan.role,
                what="the export of a snapshot",
                timeout=plan.timeout,
            ) from exc
        t0 = time.time()
        ctx.record(
            f"{plan.role}_snapshot",
            {"snapshot_at": t0, "snapshot_at_iso": iso(t0), "server_time": server_time.isoformat()},
        )
        dump = PgDump(
            plan.conninfo,
            plan.out_path,
            fmt=plan.fmt,
            jobs=plan.jobs,
            compress="0" if plan.compressed_by_us else plan.compress,
            snapshot=snapshot_id,
            tables=plan.tool_patterns()[0],
            exclude_tables=plan.tool_patterns()[1],
            sync=not plan.compressed_by_us,
            passfile=plan.passfile,
            system=plan.role,
            timeout=plan.timeout,
            lock_wait_timeout=plan.lock_timeout,
        )
        recorded_child = False
        recent: deque[str] = deque(maxlen=200)  # the tool's last lines, for explain_failure
        # A directory dump's data files are compressed and counted as pg_dump writes them,
        # followed from the moment pg_dump runs (its folder is then pg_dump's own), and
        # finished when it has succeeded, before its folder gets the dump's name.
        data_files = None
        in_files = DataFilesResult()
        if plan.compressed_by_us:
            data_files = DataFiles(dump.partial, gzip_level(plan.compress))

            async def finish_data_files() -> None:
                nonlocal in_files
                assert data_files is not None
                in_files = await asyncio.to_thread(data_files.finish)

            dump.before_rename = finish_data_files

        def on_progress(progress: Progress) -> None:
            nonlocal recorded_child
            if dump.pid is not None and not recorded_child:
                recorded_child = True  # so a resume after kill -9 can stop an orphaned pg_dump
                ctx.record("child", {"pid": dump.pid, "partial": str(dump.partial)})
                if data_files is not None:
                    data_files.start()
            for line in progress.lines:
                recent.append(line)
                ctx.log(line)
            ctx.progress(_progress_text(label, progress), progress)

        dump.on_progress = on_progress

        async def inside_snapshot() -> tuple[dict[int, Table], dict[str, int] | None, Any]:
            tables = await user_tables(conn, plan)
            counts = None  # a directory dump's: counted in its data files
            if data_files is None:
                counts = await count_rows(conn, plan, tables.values())
            extra = await at_snapshot(t0) if at_snapshot is not None else None
            return tables, counts, extra

        dump_task = asyncio.create_task(dump.run())
        side_task = asyncio.create_task(inside_snapshot())
        try:
            await asyncio.wait({dump_task, side_task}, return_when=asyncio.FIRST_EXCEPTION)
            for task in (dump_task, side_task):  # the dump's own error first
                if task.done() and not task.cancelled() and (error := task.exception()):
                    raise error
            result = await dump_task
            tables, counts, extra = await side_task
            if counts is None:
                counts = await counts_from_data_files(conn, plan, in_files, tables, ctx)
        except SyncWizardError as exc:
            raise explain_failure(exc, plan, [*recent, *dump.recent_lines]) from exc
        finally:
            for task in (dump_task, side_task):
                if not task.done():
                    task.cancel()
            await asyncio.gather(dump_task, side_task, return_exceptions=True)
            if data_files is not None:
                data_files.close()
    finally:
        await close_quietly(conn)
    return {
        "path": plan.out_path.name,
        "roles": list(plan.roles),
        "database": dbname,
        "server": describe_target(plan.conninfo, plan.role),
        "server_version": version.split()[0],
        "tool_major": result.tool_major,
        "format": plan.fmt,
        "jobs": plan.jobs if plan.fmt == "directory" else 1,
        "compress": plan.compress,
        "compressed_by": _compressed_by(plan),
        "snapshot_at": t0,
        "snapshot_at_iso": iso(t0),
        "started_at": result.started_at,
        "finished_at": result.finished_at,
        "size_bytes": result.size_bytes,
        "row_counts": counts,
        "at_snapshot": extra,
    }
