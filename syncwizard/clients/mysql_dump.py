"""mariadb-dump/mysqldump of one database, in one consistent snapshot, with progress.

`--single-transaction` reads every InnoDB table in one snapshot taken as the tool starts
(t0 is recorded just before). The tool writes `<name>.partial` itself, as it does for an
admin; the wizard starts the file's disk writes as it grows and shows progress against
information_schema's row estimates, the rows written so far estimated from samples of the
file (`mysql_rows.RowEstimate`). Nothing else reads the file while the tool runs: its CPU
is the dump's (bench/README.md). The exact row count of every table in the snapshot,
for the manifest, comes from one read of the finished file that also takes its sha256
(`mysql_rows.read_dump`, run by the caller). The file is renamed into place only when the
tool exited 0 and wrote its closing comment; a failure or cancel kills the tool's process
group and removes the partial file.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from syncwizard.clients import lifeline
from syncwizard.clients.lifeline import tied
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
from syncwizard.clients.mysql_rows import DONE_MARKER, RowEstimate
from syncwizard.clients.results import Progress
from syncwizard.errors import SyncWizardError
from syncwizard.paths import fsync_dir

REPORT_INTERVAL = 0.5
POLL = 0.02  # s between two looks at the file while the tool writes it
WRITEBACK_STEP = 8 << 20
TAIL = 4096  # the end of the file, where the closing comment is
# --verbose: `-- Retrieving table structure for table alf_node...` as it starts a table
_TABLE = re.compile(r"^-- Retrieving table structure for table (.+?)\.\.\.$")

ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class MySQLDumpResult:
    path: Path
    started_at: float  # time.time() as the tool started: the snapshot's time (t0)
    finished_at: float
    size_bytes: int
    server_version: str
    flavour: str  # "mariadb" or "mysql"
    rows_estimate: int  # information_schema's, before the dump
    rows_written: int  # estimated from samples of the file (`mysql_rows.read_dump`: exact)


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
    return lifeline.kill_orphan(pid, DUMPERS, lambda args: args[-1] == database.encode())


def _partial(path: Path) -> Path:
    return path.with_name(path.name + ".partial")


class _Writeback:
    """Starts the disk writes of what is in the file as it grows (Linux's
    sync_file_range(SYNC_FILE_RANGE_WRITE): no wait), so the fsync at the end finds
    little left to write: without it the fsync of a 500 MB dump took 0.2 s, 5% of the
    dump. Where the call is missing, nothing happens early and the fsync does it all."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.started = 0
        self._call = _sync_file_range()

    def push(self, written: int) -> None:
        if self._call is not None and written - self.started >= WRITEBACK_STEP:
            self._call(self.fd, self.started, written - self.started, _SYNC_FILE_RANGE_WRITE)
            self.started = written


_SYNC_FILE_RANGE_WRITE = 2


def _sync_file_range() -> Callable[[int, int, int, int], int] | None:
    try:
        import ctypes  # only here: most of the wizard never needs it

        call = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    call.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    call.restype = ctypes.c_int
    return call


async def _follow(
    file_fd: int,
    proc: asyncio.subprocess.Process,
    estimate: RowEstimate,
    report: Callable[[], None],
) -> None:
    """Until the tool has exited: start the disk writes of the file as it grows, estimate
    its rows from a sample of each POLL's growth, report every REPORT_INTERVAL. The tool
    writes the file itself, as it does for an admin: the wizard never stands in its way."""
    writeback = _Writeback(file_fd)
    exited = asyncio.ensure_future(proc.wait())
    last = time.monotonic()
    try:
        while not exited.done():
            await asyncio.wait({exited}, timeout=POLL)
            size = os.fstat(file_fd).st_size
            writeback.push(size)
            estimate.grown_to(file_fd, size)
            if time.monotonic() - last >= REPORT_INTERVAL:
                report()
                last = time.monotonic()
    finally:
        exited.cancel()


def _ends_whole(fd: int) -> bool:
    """Whether the file ends with the tool's closing comment (a cut dump does not)."""
    size = os.fstat(fd).st_size
    tail = os.pread(fd, min(size, TAIL), max(0, size - TAIL))
    return (b"\n" + DONE_MARKER) in tail


_ERRNO = re.compile(r"\b(?:Got errno|Errcode:) (\d+)\b")


def with_strerror(line: str) -> str:
    """The tool's line, with what its errno means: `mariadb-dump: Got errno 28 on write`
    says no more than that (28 is ENOSPC, a full disk)."""
    found = _ERRNO.search(line)
    if found is None:
        return line
    meaning = os.strerror(int(found.group(1)))
    return line if meaning in line else f"{line} ({meaning})"


def _sync(fd: int, path: Path) -> None:
    """fsync the dump: a disk that filled up may say so only now."""
    try:
        os.fsync(fd)
    except OSError as exc:
        raise SyncWizardError(
            f"the dump {path} could not be written to disk: {exc.strerror or exc}",
            hint="free space there, then run it again (the partial dump is removed)",
            system="backup_dir",
        ) from exc


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
    estimate = RowEstimate()
    current = ""
    started_mono = time.monotonic()
    lines: list[str] = []
    kept: list[str] = []

    def report(phase: str) -> None:
        if on_progress is not None:
            on_progress(
                Progress(
                    tool="mariadb-dump",
                    phase=phase,
                    current_object=current,
                    bytes_written=estimate.size,
                    tuples_done=estimate.rows,
                    tuples_total=facts.rows_estimate,
                    lines=tuple(lines),
                    elapsed=time.monotonic() - started_mono,
                    estimated=True,
                )
            )
            lines.clear()

    with option_file(target) as options, partial.open("w+b") as out:  # w+: samples read
        started_at = time.time()
        proc = await asyncio.create_subprocess_exec(
            *tied(dump_argv(target, options)),  # dies with the wizard: no orphan snapshot
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        assert proc.stderr is not None
        stderr = proc.stderr

        async def read_stderr() -> None:
            nonlocal current
            async for raw in stderr:
                line = with_strerror(raw.decode(errors="replace").rstrip())
                if table := _TABLE.match(line):
                    current = table.group(1)
                lines.append(line)
                kept.append(line)
                del kept[:-KEPT_LINES]

        errors = asyncio.create_task(read_stderr())
        done = False
        try:
            if on_started is not None:
                on_started(proc.pid)
            report("starting")
            await _follow(out.fileno(), proc, estimate, lambda: report("data"))
            await errors
            if proc.returncode != 0:
                raise tool_error("the dump", target, "\n".join(kept), proc.returncode or 0)
            _sync(out.fileno(), partial)
            if not _ends_whole(out.fileno()):
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
        rows_estimate=facts.rows_estimate,
        rows_written=estimate.rows,
    )
