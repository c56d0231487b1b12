"""mariadb-dump/mysqldump of one database, in one consistent snapshot, with progress.

`--single-transaction` reads every InnoDB table in one snapshot taken as the tool starts
(t0 is recorded just before). Its output passes through here on its way to
`<name>.partial`: the rows are counted as they go by (`mysql_rows`), which gives the
progress against information_schema's row estimates and, at the end, the exact row count
of every table in the snapshot, for the manifest. The file is renamed into place only when
the tool exited 0 and wrote its closing comment; a failure or cancel kills the tool's
process group and removes the partial file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from syncwizard.clients.mysql_conn import (
    DUMPERS,
    KEPT_LINES,
    MySQLTarget,
    connection_args,
    kill_group,
    option_file,
    tool_error,
    tool_path,
)
from syncwizard.clients.mysql_facts import database_facts, server_facts
from syncwizard.clients.mysql_rows import RowCounter
from syncwizard.clients.results import Progress
from syncwizard.errors import SyncWizardError
from syncwizard.paths import fsync_dir

CHUNK = 1 << 20
REPORT_INTERVAL = 0.5

ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class MySQLDumpResult:
    path: Path
    started_at: float  # time.time() as the tool started: the snapshot's time (t0)
    finished_at: float
    size_bytes: int
    server_version: str
    flavour: str  # "mariadb" or "mysql"
    row_counts: dict[str, int]  # exact, per table, in the snapshot
    rows_estimate: int  # information_schema's, before the dump


def dump_argv(target: MySQLTarget, options: Path) -> list[str]:
    """The dump's command line; the password is in the option file only."""
    return [
        str(tool_path(DUMPERS)),
        *connection_args(target, options),
        "--single-transaction",  # one consistent snapshot, no table locks (InnoDB)
        "--quick",  # row by row, not each table in memory
        "--no-tablespaces",  # MySQL 8 wants the PROCESS right for them; Alfresco has none
        "--hex-blob",  # binary columns as 0x literals: no quoting questions
        "--default-character-set=utf8mb4",
        "--comments",  # the closing `-- Dump completed` tells a whole dump from a cut one
        "--verbose",  # stderr says which table it is on
        target.database,
    ]


CHILD_TOOL = "mysql-dump"  # a step's "child" record of a dump tool, for kill_orphan


def kill_orphan(pid: int, database: str) -> bool:
    """Kill a dump tool left running by a killed syncwizard (its process group), if `pid`
    still is mariadb-dump/mysqldump of `database`. True if one was killed."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    args = [arg for arg in cmdline if arg]
    if not args or args[0].rsplit(b"/", 1)[-1] not in {d.encode() for d in DUMPERS}:
        return False
    if args[-1] != database.encode():
        return False
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        with contextlib.suppress(OSError):
            if "State:\tZ" in Path(f"/proc/{pid}/status").read_text():
                break
        time.sleep(0.05)
    return True


def _partial(path: Path) -> Path:
    return path.with_name(path.name + ".partial")


async def dump(
    target: MySQLTarget,
    out_path: Path,
    *,
    on_progress: ProgressCallback | None = None,
    on_started: Callable[[int], None] | None = None,
) -> MySQLDumpResult:
    """Dump `target.database` to `out_path` (plain SQL). `on_started(pid)` is told the tool's
    pid as soon as it runs (a resumed step kills an orphan by it)."""
    server = await server_facts(target)
    facts = await database_facts(target)
    if not facts.exists:
        raise SyncWizardError(
            f"there is no database {target.database!r} on {target.where}",
            hint="check the database name in the profile",
            system=target.system,
        )
    partial = _partial(out_path)
    partial.unlink(missing_ok=True)
    counter = RowCounter()
    started_mono = time.monotonic()
    lines: list[str] = []
    kept: list[str] = []

    def report(phase: str) -> None:
        if on_progress is not None:
            on_progress(
                Progress(
                    tool="mariadb-dump",
                    phase=phase,
                    current_object=counter.current,
                    bytes_written=counter.bytes,
                    tuples_done=counter.rows,
                    tuples_total=facts.rows_estimate,
                    lines=tuple(lines),
                    elapsed=time.monotonic() - started_mono,
                )
            )
            lines.clear()

    with option_file(target) as options:
        started_at = time.time()
        proc = await asyncio.create_subprocess_exec(
            *dump_argv(target, options),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
            limit=CHUNK,
        )
        if on_started is not None:
            on_started(proc.pid)
        assert proc.stdout is not None and proc.stderr is not None
        stderr = proc.stderr

        async def read_stderr() -> None:
            async for raw in stderr:
                line = raw.decode(errors="replace").rstrip()
                lines.append(line)
                kept.append(line)
                del kept[:-KEPT_LINES]

        errors = asyncio.create_task(read_stderr())
        done = False
        try:
            report("starting")
            last = time.monotonic()
            with partial.open("wb") as out:
                while chunk := await proc.stdout.read(CHUNK):
                    out.write(chunk)
                    counter.feed(chunk)
                    if time.monotonic() - last >= REPORT_INTERVAL:
                        report("data")
                        last = time.monotonic()
                counter.finish()
                out.flush()
                os.fsync(out.fileno())
            await proc.wait()
            await errors
            if proc.returncode != 0:
                raise tool_error("the dump", target, "\n".join(kept), proc.returncode or 0)
            if not counter.completed:
                raise SyncWizardError(
                    f"the dump of {target.where} ended without its closing line: it is cut",
                    hint="see the server's error log; run the backup again",
                    system=target.system,
                )
            os.replace(partial, out_path)
            fsync_dir(out_path.parent)
            done = True
        finally:
            if not done:
                await asyncio.shield(kill_group(proc))
                errors.cancel()
                partial.unlink(missing_ok=True)
    report("done")
    return MySQLDumpResult(
        path=out_path,
        started_at=started_at,
        finished_at=time.time(),
        size_bytes=out_path.stat().st_size,
        server_version=server.version,
        flavour=server.flavour,
        row_counts=dict(counter.counts),
        rows_estimate=facts.rows_estimate,
    )
