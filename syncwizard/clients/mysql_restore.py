"""Restoring a MySQL/MariaDB dump beside the live database, and verifying it.

`restore_beside` creates `<live>__restore_<run>` (the live one's character set and
collation), sends the dump into it with the client, and compares the exact row count of
every table with the counts recorded at dump time; the live database is not touched
(except on the drop-first path, which empties it first, by design). A kill -9 at any point
leaves the live database as it was; the resumed step kills the orphaned client by its
recorded pid, drops the half-filled scratch database it created, and starts again.

The facts worth keeping across a crash go to a `Journal` (the runbook's step context
records them the same way): `child` (the loading client's pid), `creating_scratch`,
`live` (its character set, collation and tables) and `restored`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from syncwizard.clients import lifeline
from syncwizard.clients.dbnames import aside_name, scratch_name
from syncwizard.clients.lifeline import tied
from syncwizard.clients.mysql_conn import (
    CLIENTS,
    KEPT_LINES,
    MySQLTarget,
    client_argv,
    ident,
    kill_group,
    option_file,
    run_sql,
    tool_error,
    tool_path,
)
from syncwizard.clients.mysql_facts import DatabaseFacts, database_facts
from syncwizard.clients.mysql_rows import RowCounter
from syncwizard.clients.results import Progress
from syncwizard.errors import SyncWizardError

Mode = Literal["side_by_side", "drop_first"]
CHUNK = 1 << 20
REPORT_INTERVAL = 0.5
ProgressCallback = Callable[[Progress], None]


class Journal(Protocol):
    """Facts kept across a crash: what `StepContext.record`/`records_of` do for a step."""

    def record(self, name: str, data: Mapping[str, Any]) -> None: ...

    def records(self) -> Mapping[str, Mapping[str, Any]]: ...


@dataclass(frozen=True)
class MySQLRestorePlan:
    target: MySQLTarget  # the live database, as the profile reaches it
    dump: Path
    row_counts: Mapping[str, int] = field(hash=False)  # recorded at dump time, per table
    scratch: str
    aside: str
    mode: Mode = "side_by_side"

    @property
    def live(self) -> str:
        return self.target.database

    @property
    def label(self) -> str:
        return f"{self.target.system or 'database'} {self.live!r}"

    @classmethod
    def for_run(
        cls,
        target: MySQLTarget,
        dump: Path,
        row_counts: Mapping[str, int],
        run_id: str,
        mode: Mode = "side_by_side",
    ) -> MySQLRestorePlan:
        # The names the PostgreSQL restore uses (<live>__restore_<run>, <live>__before_<run>),
        # which fit MySQL's 64 characters too.
        return cls(
            target=target,
            dump=dump,
            row_counts=dict(row_counts),
            scratch=scratch_name(target.database, run_id),
            aside=aside_name(target.database, run_id),
            mode=mode,
        )


# --- an orphaned client ---------------------------------------------------------------------


def kill_orphan_load(pid: int, scratch: str) -> bool:
    """Kill the process group of `pid` if it still is a client loading into `scratch`
    (left running by a kill -9 of the wizard). True if one was killed."""
    loading = f"--database={scratch}".encode()
    return lifeline.kill_orphan(pid, CLIENTS, lambda args: loading in args)


# --- small statements ---------------------------------------------------------------------------


async def drop_database(target: MySQLTarget, name: str) -> None:
    await run_sql(
        target,
        f"DROP DATABASE IF EXISTS {ident(name)};",
        database="",
        timeout=0,
        what=f"dropping {name!r}",
    )


async def create_like(target: MySQLTarget, name: str, like: DatabaseFacts) -> None:
    spec = ""
    if like.charset:
        spec += f" CHARACTER SET {like.charset}"
    if like.collation:
        spec += f" COLLATE {like.collation}"
    await run_sql(
        target, f"CREATE DATABASE {ident(name)}{spec};", database="", what=f"creating {name!r}"
    )


async def exact_counts(target: MySQLTarget, database: str, tables: list[str]) -> dict[str, int]:
    """SELECT COUNT(*) of each table (one client run; a missing table is left out)."""
    facts = await database_facts(target, database)
    present = [t for t in tables if t in facts.table_names]
    if not present:
        return {}
    union = "\nUNION ALL ".join(
        f"SELECT {i}, COUNT(*) FROM {ident(database)}.{ident(t)}" for i, t in enumerate(present)
    )
    rows = await run_sql(target, union + ";", database="", timeout=0, what="counting rows")
    return {present[int(r[0] or 0)]: int(r[1] or 0) for r in rows}


def mismatches(expected: Mapping[str, int], found: Mapping[str, int]) -> list[str]:
    problems = []
    for table, rows in sorted(expected.items()):
        got = found.get(table)
        if got is None:
            problems.append(f"{table} is missing (the dump has {rows:,} rows)")
        elif got != rows:
            problems.append(f"{table} has {got:,} rows, the dump {rows:,}")
    return problems


# --- loading ---------------------------------------------------------------------------------


LOAD_POLL = 0.1  # s between two looks at how far the client has read
LOAD_READ = 256 << 10  # read and counted at a time, then the event loop's turn


async def load(
    target: MySQLTarget,
    database: str,
    dump: Path,
    *,
    expected_rows: int | None = None,
    on_progress: ProgressCallback | None = None,
    on_started: Callable[[int], None] | None = None,
) -> RowCounter:
    """Send `dump` to the client connected to `database`; progress against `expected_rows`.

    The client reads the file itself, on its stdin, as `mariadb db < dump.sql` would: no
    copy through the wizard. The wizard counts the file's rows behind the client, up to
    where the client has read (its stdin's offset in /proc/<pid>/fdinfo/0), so the
    progress says how far the load is; and to the end once the client is done."""
    counter = RowCounter()
    started = time.monotonic()
    kept: list[str] = []

    def report(phase: str) -> None:
        if on_progress is not None:
            on_progress(
                Progress(
                    tool=tool_path(CLIENTS).name,
                    phase=phase,
                    current_object=counter.current,
                    bytes_written=counter.bytes,
                    tuples_done=counter.rows,
                    tuples_total=expected_rows,
                    lines=tuple(kept[-3:]),
                    elapsed=time.monotonic() - started,
                )
            )

    with option_file(target) as options, dump.open("rb") as source:
        proc = await asyncio.create_subprocess_exec(
            *tied(client_argv(target, options, database=database)),  # dies with the wizard
            stdin=source,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        if on_started is not None:
            on_started(proc.pid)
        assert proc.stderr is not None
        stderr = proc.stderr

        async def read_stderr() -> None:
            async for raw in stderr:
                kept.append(raw.decode(errors="replace").rstrip())
                del kept[:-KEPT_LINES]

        errors = asyncio.create_task(read_stderr())
        exited = asyncio.ensure_future(proc.wait())
        done = False
        try:
            report("starting")
            size = os.fstat(source.fileno()).st_size
            last = time.monotonic()
            while not exited.done():
                await asyncio.wait({exited}, timeout=LOAD_POLL)
                await _count_up_to(counter, source.fileno(), _read_offset(proc.pid, size))
                if time.monotonic() - last >= REPORT_INTERVAL:
                    report("data")
                    last = time.monotonic()
            await errors
            if proc.returncode != 0:
                raise tool_error(
                    f"loading {dump.name}",
                    target.on(database),
                    "\n".join(kept),
                    proc.returncode or 0,
                )
            await _count_up_to(counter, source.fileno(), size)
            counter.finish()
            done = True
        finally:
            exited.cancel()
            if not done:
                await asyncio.shield(kill_group(proc))
                errors.cancel()
    report("done")
    return counter


def _read_offset(pid: int, size: int) -> int:
    """How far the client has read its stdin; where that cannot be seen (no /proc), the
    whole file: the rows are then counted ahead of the load."""
    try:
        with open(f"/proc/{pid}/fdinfo/0", "rb") as info:
            for line in info:
                if line.startswith(b"pos:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return size


async def _count_up_to(counter: RowCounter, fd: int, offset: int) -> None:
    """Count the file's rows up to `offset`, a few MB between two turns of the event loop
    (the TUI's)."""
    while counter.bytes < offset:
        chunk = os.pread(fd, min(LOAD_READ, offset - counter.bytes), counter.bytes)
        if not chunk:
            break
        counter.feed(chunk)
        await asyncio.sleep(0)


# --- the step ------------------------------------------------------------------------------------


async def _clear_leftovers(plan: MySQLRestorePlan, journal: Journal) -> list[str]:
    records = journal.records()
    child = records.get("child")
    if child and child.get("database") == plan.scratch:
        kill_orphan_load(int(child["pid"]), plan.scratch)
    existing = await database_facts(plan.target, plan.scratch)
    if not existing.exists:
        return []
    if records.get("creating_scratch", {}).get("name") != plan.scratch:
        raise SyncWizardError(
            f"{plan.label}: a database named {plan.scratch!r} already exists and this run "
            "did not create it",
            hint=f"look at it; drop it (DROP DATABASE `{plan.scratch}`) if it is not "
            "needed, then run this step again",
            system=plan.target.system,
        )
    await drop_database(plan.target, plan.scratch)
    return [plan.scratch]


async def _live(plan: MySQLRestorePlan, journal: Journal) -> DatabaseFacts:
    """The live database's facts, recorded the first time (on the drop-first path it is
    empty on a resume)."""
    recorded = journal.records().get("live")
    live = await database_facts(plan.target)
    if recorded is None:
        journal.record(
            "live",
            {"charset": live.charset, "collation": live.collation, "tables": live.table_names},
        )
        return live
    return DatabaseFacts(
        name=plan.live,
        exists=live.exists,
        charset=str(recorded["charset"]),
        collation=str(recorded["collation"]),
        tables=live.tables,
        views=live.views,
        triggers=live.triggers,
        routines=live.routines,
    )


async def empty_live(plan: MySQLRestorePlan, live: DatabaseFacts) -> None:
    """The drop-first path: drop every table of the live database (the database itself
    stays, with its character set and the grants on it)."""
    if not live.tables:
        return
    drops = ", ".join(f"{ident(plan.live)}.{ident(t)}" for t in live.table_names)
    await run_sql(
        plan.target,
        f"SET SESSION FOREIGN_KEY_CHECKS = 0;\nDROP TABLE {drops};",
        database="",
        timeout=0,
        what=f"emptying {plan.live!r} (the drop-first path)",
    )


async def restore_beside(
    plan: MySQLRestorePlan,
    journal: Journal,
    *,
    on_progress: ProgressCallback | None = None,
    log: Callable[[str], None] = lambda _line: None,
) -> dict[str, Any]:
    """Restore the dump into the scratch database and verify every table's row count.
    On any failure the scratch database is dropped."""
    started = time.monotonic()
    dropped = await _clear_leftovers(plan, journal)
    for name in dropped:
        log(f"dropped {name!r}, a half-restored scratch database of an interrupted attempt")
    live = await _live(plan, journal)
    if not live.exists:
        raise SyncWizardError(
            f"{plan.label}: there is no database {plan.live!r} to restore beside",
            hint="create it (empty), with the character set Alfresco needs, and run again",
            system=plan.target.system,
        )
    if plan.mode == "drop_first" and live.tables:
        journal.record("dropping_live", {"name": plan.live, "tables": live.table_names})
        await empty_live(plan, live)
        log(f"dropped the {len(live.tables)} tables of {plan.live!r}: the drop-first path")
    journal.record("creating_scratch", {"name": plan.scratch})
    await create_like(plan.target, plan.scratch, live)
    done = False
    try:
        counter = await load(
            plan.target,
            plan.scratch,
            plan.dump,
            expected_rows=sum(plan.row_counts.values()),
            on_progress=on_progress,
            on_started=lambda pid: journal.record("child", {"pid": pid, "database": plan.scratch}),
        )
        counts = await exact_counts(plan.target, plan.scratch, sorted(plan.row_counts))
        if problems := mismatches(plan.row_counts, counts):
            raise SyncWizardError(
                f"{plan.label}: the restored database does not match the dump: "
                + "; ".join(problems[:5])
                + f". The scratch database {plan.scratch!r} was dropped; {plan.live!r} is "
                "untouched",
                hint="the set may be damaged: verify it again or choose another set",
                system=plan.target.system,
            )
        done = True
    finally:
        if not done:
            with contextlib.suppress(SyncWizardError, OSError):
                await asyncio.shield(drop_database(plan.target, plan.scratch))
    seconds = time.monotonic() - started
    rows = sum(counts.values())
    outputs: dict[str, Any] = {
        "database": plan.live,
        "scratch": plan.scratch,
        "mode": plan.mode,
        "tables": sorted(counts),
        "rows": rows,
        "bytes": counter.bytes,
        "seconds": round(seconds, 2),
        "dropped_leftovers": dropped,
        "summary": f"restored {plan.dump.name} into {plan.scratch!r}: {rows:,} rows in "
        f"{len(counts)} tables, each as the dump's count says, in {seconds:,.1f} s",
    }
    journal.record("restored", outputs)
    return outputs
