"""Reaching a MySQL or MariaDB server through its own command-line tools.

No Python driver: `mariadb`/`mysql` and `mariadb-dump`/`mysqldump` are what an admin
has anyway, and what the dump needs. The password never reaches argv or the
environment: each run writes it to a `--defaults-extra-file` (mode 0600) in a private
temporary folder (mode 0700) and removes the folder when the tool has exited.

Queries go to the client on stdin in batch mode; its answer is tab-separated with
tabs, newlines and backslashes escaped, and NULL printed as `NULL` (the queries here
return names and numbers, where that cannot be confused with a string).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from syncwizard.errors import SyncWizardError

BINDIR_ENV = "SYNCWIZARD_MYSQL_BINDIR"
# Preferred first: MariaDB's names (its packages keep the mysql* names as links, MySQL's
# have only those).
CLIENTS = ("mariadb", "mysql")
DUMPERS = ("mariadb-dump", "mysqldump")
KEPT_LINES = 20

Row = tuple[str | None, ...]


@dataclass(frozen=True)
class MySQLTarget:
    """One database on a MySQL/MariaDB server, as one user. `socket` (a unix socket)
    wins over host and port; `password_file` holds the password on its first line."""

    database: str
    user: str
    host: str = "127.0.0.1"
    port: int = 3306
    socket: Path | None = None
    password_file: Path | None = None
    # The name of an environment variable holding the password; read first (as
    # broker.password_env is), the file only when it is unset or empty.
    password_env: str | None = None
    system: str = ""  # "repository_db" or "sync_db": the system named in errors
    timeout: float = 5.0  # seconds to connect; and for a short query's answer

    def on(self, database: str) -> MySQLTarget:
        """The same server and user, another database (a scratch or aside one)."""
        from dataclasses import replace

        return replace(self, database=database)

    @property
    def server(self) -> str:
        """The server as the admin names it: `socket <path>` or `host:port`."""
        return f"socket {self.socket}" if self.socket else f"{self.host}:{self.port}"

    @property
    def where(self) -> str:
        return f"database {self.database!r} as {self.user!r} on {self.server}"


# --- quoting ------------------------------------------------------------------------------


def ident(name: str) -> str:
    """A quoted identifier: `name`, with backticks doubled."""
    return "`" + name.replace("`", "``") + "`"


def literal(text: str) -> str:
    """A quoted string literal, safe with or without NO_BACKSLASH_ESCAPES."""
    if "\\" in text or "\0" in text:
        # No escape is needed in either mode if the text has neither; otherwise spell it
        # out in hex, which both modes read the same way.
        return "CONVERT(X'" + text.encode().hex() + "' USING utf8mb4)"
    return "'" + text.replace("'", "''") + "'"


# --- tools ----------------------------------------------------------------------------------


def tool_path(kind: Sequence[str]) -> Path:
    """The first of the tools `kind` (e.g. CLIENTS) in `$SYNCWIZARD_MYSQL_BINDIR`, else PATH."""
    bindir = os.environ.get(BINDIR_ENV)
    for name in kind:
        if bindir:
            candidate = Path(bindir) / name
            if os.access(candidate, os.X_OK):
                return candidate
            continue
        found = shutil.which(name)
        if found:
            return Path(found)
    where = f"in {bindir} (${BINDIR_ENV})" if bindir else "on PATH"
    raise SyncWizardError(
        f"none of {', '.join(kind)} found {where}",
        hint="install the MariaDB or MySQL client: apt-get install mariadb-client",
        system="config",
    )


# --- the option file --------------------------------------------------------------------------


def read_password(target: MySQLTarget) -> str | None:
    if target.password_env and (value := os.environ.get(target.password_env)):
        return value
    if target.password_file is None:
        return None
    try:
        mode = target.password_file.stat().st_mode
        text = target.password_file.read_text(encoding="utf-8")
    except OSError as exc:
        raise SyncWizardError(
            f"cannot read the password file {target.password_file} for {target.where}: "
            f"{exc.strerror}",
            hint="check the profile's password_file and the file's permissions",
            system=target.system or "config",
        ) from exc
    if mode & 0o077:
        raise SyncWizardError(
            f"the password file {target.password_file} for {target.where} is readable by "
            f"other users (mode {mode & 0o777:o}); expected mode 600",
            hint=f"run: chmod 600 {target.password_file}",
            system=target.system or "config",
        )
    lines = text.splitlines()
    return lines[0] if lines else ""


def option_value(value: str) -> str:
    """A value for an option file, double-quoted with its escapes (so `#`, spaces and
    quotes survive)."""
    if "\n" in value or "\r" in value:
        raise SyncWizardError(
            "a database password contains a line break, which an option file cannot hold",
            hint="use a password without line breaks",
            system="config",
        )
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def option_text(target: MySQLTarget, password: str | None) -> str:
    # Only the password: [client] is read by every tool, and one of them refusing an
    # option it does not know (mysqldump has no connect-timeout) would stop it.
    lines = ["[client]"]
    if password is not None:
        lines.append(f"password={option_value(password)}")
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def option_file(target: MySQLTarget) -> Iterator[Path]:
    """A `--defaults-extra-file` with the password, removed (with its folder) afterwards."""
    password = read_password(target)
    folder = Path(tempfile.mkdtemp(prefix="syncwizard-my-"))  # mode 0700
    try:
        path = folder / "client.cnf"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(option_text(target, password))
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def connection_args(target: MySQLTarget, options: Path) -> list[str]:
    """The arguments every tool takes first: the option file (it must come first), then
    where to connect, as whom. Never the password."""
    args = [f"--defaults-extra-file={options}"]
    if target.socket is not None:
        args += ["--protocol=SOCKET", f"--socket={target.socket}"]
    else:
        args += ["--protocol=TCP", f"--host={target.host}", f"--port={target.port}"]
    args.append(f"--user={target.user}")
    return args


def client_argv(target: MySQLTarget, options: Path, *, database: str | None = None) -> list[str]:
    db = target.database if database is None else database
    argv = [str(tool_path(CLIENTS)), *connection_args(target, options)]
    # --comments keeps the marker comment of a swap in the statement the server sees.
    argv += ["--batch", "--skip-column-names", "--comments", "--binary-mode"]
    argv.append(f"--connect-timeout={max(1, int(target.timeout + 0.999))}")
    if db:
        argv.append(f"--database={db}")
    return argv


# --- errors -------------------------------------------------------------------------------------

_ERROR = re.compile(r"ERROR (\d+)(?: \((\w+)\))?(?: at line \d+)?: (.*)")
_HINTS = {
    1044: "grant the user the rights it needs on that database",
    1045: "check the user and its password file in the profile",
    1049: "check the database name in the profile",
    1050: "a table of that name is already there; look at it before running this again",
    1142: "grant the user the rights it needs",
    1227: "this needs a right the user lacks (e.g. PROCESS)",
    2002: "is the server running, and is the socket path right?",
    2003: "is the server running, and are the host and port right?",
    2005: "check the host name in the profile",
    2013: "the server went away: see its error log",
}


def error_code(stderr: str) -> int | None:
    for line in stderr.splitlines():
        match = _ERROR.search(line)
        if match:
            return int(match.group(1))
    return None


def tool_error(what: str, target: MySQLTarget, stderr: str, returncode: int) -> SyncWizardError:
    """The error of a failed tool run: its first `ERROR nnnn` line, with a hint for it."""
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    line = next((x for x in lines if _ERROR.search(x)), lines[-1] if lines else "")
    code = error_code(stderr)
    hint = _HINTS.get(code or 0, "see the message; run it again once the cause is fixed")
    if code in (2002, 2003):  # either, whether a socket or TCP was refused (client versions)
        where = "the socket path" if target.socket else f"{target.host}:{target.port}"
        hint = f"is the server running, and is {where} right? Run this again once it answers"
    said = line.strip() or f"exit status {returncode}, no message"
    return SyncWizardError(
        f"{what} failed for {target.where}: {said}", hint=hint, system=target.system
    )


# --- running ------------------------------------------------------------------------------------


def unescape(field: str) -> str | None:
    """One field of batch output: `NULL` is None; \\t \\n \\0 \\\\ are unescaped."""
    if field == "NULL":
        return None
    if "\\" not in field:
        return field
    return re.sub(
        r"\\(.)", lambda m: {"t": "\t", "n": "\n", "0": "\0"}.get(m.group(1), m.group(1)), field
    )


def parse_batch(text: str) -> list[Row]:
    return [tuple(unescape(f) for f in line.split("\t")) for line in text.splitlines()]


async def kill_group(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()


async def run_sql(
    target: MySQLTarget,
    statements: str,
    *,
    database: str | None = None,
    timeout: float | None = None,
    what: str = "a query",
) -> list[Row]:
    """Run `statements` (several, `;`-separated) with the client and return the rows they
    print. `timeout` None: the target's; 0: no bound (a long DDL statement)."""
    limit = target.timeout if timeout is None else timeout
    with option_file(target) as options:
        proc = await asyncio.create_subprocess_exec(
            *client_argv(target, options, database=database),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        try:
            talk = proc.communicate(statements.encode())
            out, err = await (asyncio.wait_for(talk, limit) if limit else talk)
        except TimeoutError as exc:
            await kill_group(proc)
            raise SyncWizardError(
                f"{what} on {target.where} got no answer within {limit:g} s",
                hint="is the server overloaded, or a lock held? try again",
                system=target.system,
            ) from exc
        except BaseException:
            await kill_group(proc)
            raise
    if proc.returncode != 0:
        raise tool_error(what, target, err.decode(errors="replace"), proc.returncode or 0)
    return parse_batch(out.decode(errors="replace"))
