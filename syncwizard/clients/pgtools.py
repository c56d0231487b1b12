"""pg_dump and pg_restore as watched child processes (asyncio subprocesses).

A run reports `Progress` as it goes: the `--verbose` lines of the tool (the
object it is on), the size of the output so far, and the rows copied, read from
`pg_stat_progress_copy` (PostgreSQL 14+) on a separate connection. The
password reaches the child only through its environment (`PGPASSWORD`, or
`PGPASSFILE`); its command line carries the conninfo without it. A dump is
written as `<name>.partial` and renamed when pg_dump succeeds; a failed or
cancelled run kills the child's whole process group and removes the partial
output.

The waits are bounded, not the work: the child connects within the timeout
(`PGCONNECT_TIMEOUT`) and notices a vanished server by TCP keepalives, pg_dump waits
for a table lock at most `lock_wait_timeout` (then the error names who holds it), and
each query of the monitor connection is answered within the timeout. The data
transfer itself runs as long as it needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import shutil
import signal
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import psycopg
from psycopg.conninfo import make_conninfo

from syncwizard.clients.lifeline import tied
from syncwizard.clients.pglocks import lock_holders, lock_wait_error, lock_wait_relations
from syncwizard.clients.postgres import (
    DEFAULT_LOCK_TIMEOUT,
    DEFAULT_TIMEOUT,
    close_quietly,
    connect,
    connect_seconds,
    fetch_all,
    link_bounds,
    parse_conninfo,
    server_major,
    split_password,
    system_label,
)
from syncwizard.clients.results import Progress
from syncwizard.errors import SyncWizardError
from syncwizard.paths import fsync_dir

BINDIR_ENV = "SYNCWIZARD_PG_BINDIR"
PG_LIB_DIR = Path("/usr/lib/postgresql")
POLL_INTERVAL = 0.5
KEPT_LINES = 20  # stderr lines kept for an error message

DumpFormat = Literal["directory", "custom"]


@dataclass(frozen=True)
class DumpResult:
    path: Path
    format: DumpFormat
    started_at: float  # time.time() as pg_dump started: the dump's snapshot time (t0)
    finished_at: float
    size_bytes: int
    server_version: str
    tool_major: int


@dataclass(frozen=True)
class RestoreResult:
    archive: Path
    started_at: float
    finished_at: float
    server_version: str
    tool_major: int


ProgressCallback = Callable[[Progress], None]


# --- finding the tools and their versions --------------------------------------------------


def tool_path(tool: str, bindir: Path | None = None) -> Path:
    """The tool: in `bindir`, else `$SYNCWIZARD_PG_BINDIR`, else PATH, else the newest
    `/usr/lib/postgresql/<N>/bin`."""
    chosen = bindir or (Path(os.environ[BINDIR_ENV]) if os.environ.get(BINDIR_ENV) else None)
    if chosen is not None:
        candidate = chosen / tool
        if os.access(candidate, os.X_OK):
            return candidate
        raise SyncWizardError(
            f"{tool} not found in {chosen} (the PostgreSQL client tool path)",
            hint=f"point it at a folder holding {tool}, e.g. /usr/lib/postgresql/<version>/bin",
            system="config",
        )
    if found := shutil.which(tool):
        return Path(found)
    installed = _installed_bindirs()
    if installed and os.access(installed[-1] / tool, os.X_OK):
        return installed[-1] / tool
    raise SyncWizardError(
        f"{tool} (PostgreSQL client tools) is not installed or not on PATH",
        hint=f"install it (apt-get install postgresql-client) or set {BINDIR_ENV} to its folder",
        system="config",
    )


def _installed_bindirs() -> list[Path]:
    dirs = [d for d in PG_LIB_DIR.glob("*/bin") if d.parent.name.isdigit()]
    return sorted(dirs, key=lambda d: int(d.parent.name))


_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")


def parse_tool_major(version_text: str) -> int:
    """`pg_dump (PostgreSQL) 15.13 (Debian ...)` -> 15; `9.6.24` -> 9, like `server_major`."""
    match = _VERSION.search(version_text)
    if match is None:
        raise ValueError(f"not a PostgreSQL tool version: {version_text.strip()!r}")
    return int(match.group(1))


async def tool_major(tool: str = "pg_dump", *, bindir: Path | None = None) -> int:
    """The major version of a client tool, from `<tool> --version`."""
    path = tool_path(tool, bindir)
    try:
        proc = await asyncio.create_subprocess_exec(
            str(path),
            "--version",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(proc.communicate(), 10)
    except (OSError, TimeoutError) as exc:
        raise SyncWizardError(
            f"could not run `{path} --version`: {exc}",
            hint=f"check that {path} is a working PostgreSQL {tool}",
            system="config",
        ) from exc
    text = output.decode(errors="replace")
    try:
        return parse_tool_major(text)
    except ValueError:
        raise SyncWizardError(
            f"`{path} --version` printed {text.strip()[:80]!r}, "
            f"expected `{tool} (PostgreSQL) <version>`",
            hint=f"check that {path} is PostgreSQL's {tool}",
            system="config",
        ) from None


async def check_tool_version(
    tool: str, server_major_version: int, *, bindir: Path | None = None, system: str = ""
) -> int:
    """The tool's major version; a SyncWizardError if it is older than the server."""
    major = await tool_major(tool, bindir=bindir)
    if major < server_major_version:
        path = tool_path(tool, bindir)
        raise SyncWizardError(
            f"{tool} {major} ({path}) is older than the {system_label(system)} server "
            f"(PostgreSQL {server_major_version}); {tool} must be the server's major version "
            "or newer",
            hint=f"install postgresql-client-{server_major_version} (apt-get install "
            f"postgresql-client-{server_major_version}) or set {BINDIR_ENV} to "
            f"/usr/lib/postgresql/{server_major_version}/bin",
            system=system,
        )
    return major


# --- reading the tools' --verbose output ---------------------------------------------------

_TABLE_DATA = re.compile(r'(?:dumping contents of table|processing data for table) "([^"]+)"')
_CREATING = re.compile(r'creating (\w[\w ]*?) "([^"]+)"')
_ITEM = re.compile(r"launching item \d+ TABLE DATA (\S+)")


def object_of_line(line: str) -> tuple[str, str] | None:
    """(phase, object) a `--verbose` line says the tool is working on, if it says one."""
    if match := _TABLE_DATA.search(line):
        return "data", match.group(1)
    if match := _ITEM.search(line):
        return "data", match.group(1)
    if match := _CREATING.search(line):
        return "schema", f"{match.group(1)} {match.group(2)}"
    return None


# --- the run ------------------------------------------------------------------------------

_COPY_PROGRESS = """
SELECT p.relid, p.tuples_processed, p.bytes_processed
FROM pg_stat_progress_copy p JOIN pg_stat_activity a USING (pid)
WHERE a.application_name = %s
"""
_INDEX_PROGRESS = """
SELECT p.index_relid::regclass::text, p.relid::regclass::text, p.phase,
       p.blocks_done, p.blocks_total
FROM pg_stat_progress_create_index p JOIN pg_stat_activity a USING (pid)
WHERE a.application_name = %s
ORDER BY p.pid
"""
# What pg_restore builds after the data: its --verbose `creating <what> "<name>"` lines.
_POST_DATA = ("INDEX ", "CONSTRAINT ", "FK CONSTRAINT ", "TRIGGER ")
_ESTIMATED_ROWS = """
SELECT coalesce(sum(greatest(c.reltuples, 0)), 0)::bigint
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg_toast%'
"""
_run_ids = itertools.count(1)


@dataclass
class _Copied:
    """Rows and bytes of finished and running COPYs, by table oid."""

    tuples: dict[int, int] = field(default_factory=dict)
    bytes: dict[int, int] = field(default_factory=dict)

    def update(self, rows: list[tuple[int, int, int]]) -> None:
        for relid, tuples, nbytes in rows:
            self.tuples[relid] = max(self.tuples.get(relid, 0), tuples)
            self.bytes[relid] = max(self.bytes.get(relid, 0), nbytes)


class _ToolRun:
    """One pg_dump or pg_restore child: started, watched and, if need be, killed."""

    tool: str

    def __init__(
        self,
        conninfo: str,
        *,
        passfile: Path | None,
        bindir: Path | None,
        system: str,
        on_progress: ProgressCallback | None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.conninfo = conninfo
        self.passfile = passfile
        self.bindir = bindir
        self.system = system
        self.on_progress = on_progress
        self.timeout = timeout  # to connect, and for each answer on the monitor connection
        self.pid: int | None = None  # the child's pid (and process group) while it runs
        self.argv: list[str] = []  # what the child was started with: no password in it
        self.application_name = f"syncwizard-{self.tool}-{os.getpid()}-{next(_run_ids)}"
        self.server_version = ""
        self.tool_major = 0
        self._monitor: psycopg.AsyncConnection[Any] | None = None
        self._copied = _Copied()
        self._phase = "starting"
        self._current = ""
        self._new_lines: list[str] = []
        self._recent: list[str] = []
        self._tuples_total: int | None = None
        self._finished_rows = 0  # set when a dump has completed: all rows were copied
        self._started = time.monotonic()

    @property
    def recent_lines(self) -> tuple[str, ...]:
        """The tool's last stderr lines (the cause of a failure is often before the last)."""
        return tuple(self._recent)

    # The subclass says what to run and how big its output is.
    def _tool_args(self) -> list[str]:
        raise NotImplementedError

    def _bytes_so_far(self) -> int:
        raise NotImplementedError

    def child_connection(self) -> tuple[str, dict[str, str]]:
        """The conninfo for the child's argv (no password) and the environment carrying it:
        the password, and the connect timeout (`PGCONNECT_TIMEOUT`). TCP keepalives in the
        conninfo let the child notice a server that vanished mid-run."""
        without_password, password = split_password(self.conninfo, self.system)
        env = dict(os.environ)
        if password is not None:
            env["PGPASSWORD"] = password
        if self.passfile is not None:
            env["PGPASSFILE"] = str(self.passfile)
        env["PGCONNECT_TIMEOUT"] = str(connect_seconds(self.timeout))
        keepalives = link_bounds(parse_conninfo(without_password, self.system), self.timeout)
        keepalives.pop("connect_timeout", None)
        dsn = make_conninfo(without_password, application_name=self.application_name, **keepalives)
        return dsn, env

    async def _ask(self, query: str, params: tuple[Any, ...] | None, what: str) -> list[Any]:
        """The rows of a query on the monitor connection, answered within the timeout."""
        assert self._monitor is not None
        return await fetch_all(
            self._monitor,
            query,
            params,
            conninfo=self.conninfo,
            system=self.system,
            what=what,
            timeout=self.timeout,
        )

    async def _open_monitor(self) -> None:
        self._monitor = await connect(
            self.conninfo,
            passfile=self.passfile,
            system=self.system,
            timeout=self.timeout,
            statement_timeout=self.timeout,
        )
        ((version, version_num),) = await self._ask(
            "SELECT current_setting('server_version'), current_setting('server_version_num')::int",
            None,
            "the query for its version",
        )
        self.server_version = version.split()[0]
        self.tool_major = await check_tool_version(
            self.tool, server_major(version_num), bindir=self.bindir, system=self.system
        )

    async def _sample(self) -> None:
        if self._monitor is None:
            return
        try:
            rows = await self._ask(_COPY_PROGRESS, (self.application_name,), "a progress poll")
            self._copied.update(rows)
        except SyncWizardError:  # before PostgreSQL 14 too (no pg_stat_progress_copy)
            await self._close_monitor()  # progress is a nicety; the run goes on

    async def _close_monitor(self) -> None:
        monitor, self._monitor = self._monitor, None
        await close_quietly(monitor)

    def _report(self) -> None:
        lines, self._new_lines = tuple(self._new_lines), []
        if self.on_progress is None:
            return
        self.on_progress(
            Progress(
                tool=self.tool,
                phase=self._phase,
                current_object=self._current,
                bytes_written=self._bytes_so_far(),
                tuples_done=max(sum(self._copied.tuples.values()), self._finished_rows),
                tuples_total=self._tuples_total,
                lines=lines,
                elapsed=time.monotonic() - self._started,
            )
        )

    async def _read_stderr(self, stream: asyncio.StreamReader) -> None:
        while raw := await stream.readline():
            line = raw.decode(errors="replace").rstrip()
            self._new_lines.append(line)
            self._recent = [*self._recent[-(KEPT_LINES - 1) :], line]
            if (found := self._object_of(line)) and found[1] != self._current:
                self._phase, self._current = found
                self._report()

    def _object_of(self, line: str) -> tuple[str, str] | None:
        return object_of_line(line)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(POLL_INTERVAL)
            await self._sample()
            self._report()

    async def _execute(self) -> int:
        """Run the child to its end; kill its process group if we are cancelled."""
        dsn, env = self.child_connection()
        self.argv = [str(tool_path(self.tool, self.bindir)), *self._tool_args(), "--dbname", dsn]
        self._started = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            *tied(self.argv),  # dies with the wizard, even a killed one
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            start_new_session=True,  # its own process group: pg_dump -j forks workers
        )
        self.pid = proc.pid
        self._report()
        assert proc.stderr is not None
        reader = asyncio.create_task(self._read_stderr(proc.stderr))
        poller = asyncio.create_task(self._poll())
        try:
            await reader
            return await proc.wait()
        finally:
            if proc.returncode is None:
                await _kill_group(proc)
            for task in (reader, poller):
                task.cancel()
            await asyncio.gather(reader, poller, return_exceptions=True)
            self.pid = None

    def _failure(self, exit_code: int, what: str) -> SyncWizardError:
        errors = [line for line in self._recent if "error" in line.lower()]
        detail = (errors or self._recent or ["(no output)"])[-1]
        return SyncWizardError(
            f"{self.tool} {what} failed (exit status {exit_code}): {detail}",
            hint="the tool's last lines are in the log; fix the cause and run this step again",
            system=self.system,
        )


async def _kill_group(proc: asyncio.subprocess.Process) -> None:
    for sig, grace in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            await asyncio.wait_for(asyncio.shield(proc.wait()), grace)
            break
        except TimeoutError:
            continue
    # Workers of pg_dump -j may outlive the leader by a moment; the group goes too.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def _size_of(path: Path) -> int:
    if path.is_dir():
        return sum(entry.stat().st_size for entry in os.scandir(path) if entry.is_file())
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _disk_use(path: Path) -> int:
    """The bytes `path` (a file, or a folder's files) takes on disk: a file whose read part
    was punched out as it was compressed counts for what it still holds."""
    try:
        if path.is_dir():
            entries = [entry.stat() for entry in os.scandir(path) if entry.is_file()]
        else:
            entries = [path.stat()]
    except FileNotFoundError:
        return 0
    return sum(min(stat.st_size, stat.st_blocks * 512) for stat in entries)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def exact_pattern(schema: str, name: str) -> str:
    """A pg_dump `--table` pattern matching exactly one relation: both parts double-quoted
    (no case folding, no wildcards), a double quote inside written twice."""

    def quoted(part: str) -> str:
        return '"' + part.replace('"', '""') + '"'

    return f"{quoted(schema)}.{quoted(name)}"


class PgDump(_ToolRun):
    """pg_dump of one database to `out_path`, written as `<out_path>.partial` first.

    Without `sync`, pg_dump does not fsync what it wrote (--no-sync): `before_rename`, run
    when pg_dump has succeeded and before `<out_path>.partial` becomes `out_path`, then
    must (it is where a caller finishes what it does to the files, e.g. compress them).
    """

    tool = "pg_dump"

    def __init__(
        self,
        conninfo: str,
        out_path: Path,
        *,
        fmt: DumpFormat = "directory",
        jobs: int = 2,
        compress: str | None = None,
        snapshot: str | None = None,
        tables: Sequence[str] = (),
        exclude_tables: Sequence[str] = (),
        sync: bool = True,
        before_rename: Callable[[], Awaitable[None]] | None = None,
        passfile: Path | None = None,
        bindir: Path | None = None,
        system: str = "",
        on_progress: ProgressCallback | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        lock_wait_timeout: float = DEFAULT_LOCK_TIMEOUT,
    ) -> None:
        super().__init__(
            conninfo,
            passfile=passfile,
            bindir=bindir,
            system=system,
            on_progress=on_progress,
            timeout=timeout,
        )
        self.lock_wait_timeout = lock_wait_timeout  # seconds to wait for each table lock
        self.out_path = out_path
        self.partial = out_path.with_name(out_path.name + ".partial")
        self.fmt = fmt
        self.jobs = jobs
        self.compress = compress
        # An exported snapshot (pg_export_snapshot) of a transaction the caller keeps open:
        # the dump then sees exactly what that transaction sees.
        self.snapshot = snapshot
        # pg_dump patterns (see `exact_pattern`): only these tables, or all but those.
        self.tables = tuple(tables)
        self.exclude_tables = tuple(exclude_tables)
        self.sync = sync
        self.before_rename = before_rename

    def _tool_args(self) -> list[str]:
        args = ["--verbose", "--no-password", f"--format={self.fmt}", "--file", str(self.partial)]
        args.append(f"--lock-wait-timeout={max(1, round(self.lock_wait_timeout * 1000))}")
        if self.fmt == "directory" and self.jobs > 1:
            args.append(f"--jobs={self.jobs}")  # only the directory format dumps in parallel
        if self.compress is not None:
            args.append(f"--compress={self.compress}")
        if self.snapshot is not None:
            args.append(f"--snapshot={self.snapshot}")
        if not self.sync:
            args.append("--no-sync")
        args.extend(f"--table={pattern}" for pattern in self.tables)
        args.extend(f"--exclude-table={pattern}" for pattern in self.exclude_tables)
        return args

    def _bytes_so_far(self) -> int:
        return _disk_use(self.partial if self.partial.exists() else self.out_path)

    async def _lock_failure(self, relations: tuple[str, ...]) -> SyncWizardError:
        holders = await lock_holders(
            self.conninfo,
            relations,
            passfile=self.passfile,
            system=self.system,
            timeout=self.timeout,
        )
        return lock_wait_error(
            relations,
            holders,
            self.conninfo,
            system=self.system,
            waiter="pg_dump",
            bound=self.lock_wait_timeout,
        )

    async def run(self) -> DumpResult:
        if self.out_path.exists():
            raise SyncWizardError(
                f"{self.out_path} already exists; a dump never overwrites one",
                hint="choose another backup folder, or move the old dump away",
                system=self.system,
            )
        _remove(self.partial)  # left by an interrupted earlier run
        self.out_path.parent.mkdir(parents=True, exist_ok=True)
        done = False
        try:
            await self._open_monitor()
            ((estimate,),) = await self._ask(_ESTIMATED_ROWS, None, "the row estimate")
            self._tuples_total = estimate or None
            started_at = time.time()
            exit_code = await self._execute()
            if exit_code != 0:
                if relations := lock_wait_relations(self._recent):
                    raise await self._lock_failure(relations)
                raise self._failure(exit_code, "of the " + system_label(self.system))
            self._phase = "finishing"
            await self._sample()
            if self.before_rename is not None:
                await self.before_rename()
            os.rename(self.partial, self.out_path)
            fsync_dir(self.out_path.parent)
            done = True
            self._finished_rows = self._tuples_total or 0
        finally:
            await self._close_monitor()
            if not done:
                _remove(self.partial)
        self._phase, self._current = "done", ""
        self._report()
        return DumpResult(
            path=self.out_path,
            format=self.fmt,
            started_at=started_at,
            finished_at=time.time(),
            size_bytes=_size_of(self.out_path),
            server_version=self.server_version,
            tool_major=self.tool_major,
        )


class PgRestore(_ToolRun):
    """pg_restore of an archive (directory or custom format) into an existing database."""

    tool = "pg_restore"

    def __init__(
        self,
        conninfo: str,
        archive: Path,
        *,
        jobs: int = 2,
        single_transaction: bool = False,
        clean: bool = False,
        no_owner: bool = False,
        expected_rows: int | None = None,
        passfile: Path | None = None,
        bindir: Path | None = None,
        system: str = "",
        on_progress: ProgressCallback | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__(
            conninfo,
            passfile=passfile,
            bindir=bindir,
            system=system,
            on_progress=on_progress,
            timeout=timeout,
        )
        self.archive = archive
        self._tuples_total = expected_rows
        self._seen_data = False
        # One transaction is one session: pg_restore refuses --jobs with it.
        self.jobs = 1 if single_transaction else jobs
        self.single_transaction = single_transaction
        self.clean = clean
        self.no_owner = no_owner

    def _tool_args(self) -> list[str]:
        args = ["--verbose", "--no-password", "--exit-on-error"]
        if self.single_transaction:
            args.append("--single-transaction")
        elif self.jobs > 1:
            args.append(f"--jobs={self.jobs}")
        if self.clean:
            args += ["--clean", "--if-exists"]
        if self.no_owner:
            args.append("--no-owner")
        return [*args, str(self.archive)]

    def _bytes_so_far(self) -> int:
        return sum(self._copied.bytes.values())

    def _object_of(self, line: str) -> tuple[str, str] | None:
        found = object_of_line(line)
        if found is None:
            return None
        phase, name = found
        if phase == "data":
            self._seen_data = True
        elif self._seen_data and name.startswith(_POST_DATA):
            phase = "indexes"
        return phase, name

    async def _sample(self) -> None:
        await super()._sample()
        if self._monitor is None:
            return
        try:
            building = await self._ask(_INDEX_PROGRESS, (self.application_name,), "a progress poll")
        except SyncWizardError:
            await self._close_monitor()
            return
        if building:
            index, table, phase, done, total = building[0]
            share = f" {100 * done // total}%" if total else ""
            more = f" (+{len(building) - 1} more)" if len(building) > 1 else ""
            self._phase, self._current = (
                "indexes",
                f"index {index} on {table}: {phase}{share}{more}",
            )

    async def run(self) -> RestoreResult:
        if not self.archive.exists():
            raise SyncWizardError(
                f"the archive to restore, {self.archive}, does not exist",
                hint="choose a sealed backup set (its manifest lists the dumps)",
                system=self.system,
            )
        try:
            await self._open_monitor()
            started_at = time.time()
            exit_code = await self._execute()
            if exit_code != 0:
                raise self._failure(exit_code, "into the " + system_label(self.system))
            await self._sample()
            self._finished_rows = self._tuples_total or 0
        finally:
            await self._close_monitor()
        self._phase, self._current = "done", ""
        self._report()
        return RestoreResult(
            archive=self.archive,
            started_at=started_at,
            finished_at=time.time(),
            server_version=self.server_version,
            tool_major=self.tool_major,
        )


async def run_pg_dump(
    conninfo: str,
    out_path: Path,
    *,
    fmt: DumpFormat = "directory",
    jobs: int = 2,
    compress: str | None = None,
    snapshot: str | None = None,
    on_progress: ProgressCallback | None = None,
    passfile: Path | None = None,
    bindir: Path | None = None,
    system: str = "",
    timeout: float = DEFAULT_TIMEOUT,
    lock_wait_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> DumpResult:
    """Dump the conninfo's database to `out_path` (see PgDump)."""
    return await PgDump(
        conninfo,
        out_path,
        fmt=fmt,
        jobs=jobs,
        compress=compress,
        snapshot=snapshot,
        passfile=passfile,
        bindir=bindir,
        system=system,
        on_progress=on_progress,
        timeout=timeout,
        lock_wait_timeout=lock_wait_timeout,
    ).run()


async def run_pg_restore(
    conninfo: str,
    archive: Path,
    *,
    jobs: int = 2,
    single_transaction: bool = False,
    clean: bool = False,
    no_owner: bool = False,
    expected_rows: int | None = None,
    on_progress: ProgressCallback | None = None,
    passfile: Path | None = None,
    bindir: Path | None = None,
    system: str = "",
    timeout: float = DEFAULT_TIMEOUT,
) -> RestoreResult:
    """Restore `archive` into the conninfo's database (see PgRestore)."""
    return await PgRestore(
        conninfo,
        archive,
        jobs=jobs,
        single_transaction=single_transaction,
        clean=clean,
        no_owner=no_owner,
        expected_rows=expected_rows,
        passfile=passfile,
        bindir=bindir,
        system=system,
        on_progress=on_progress,
        timeout=timeout,
    ).run()
