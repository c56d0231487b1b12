"""PostgreSQL facts for the dashboard and the runbook (psycopg, async).

Server version, database size, the sessions other than ours, and ending them.
Passwords come from the conninfo, `PGPASSWORD`, or a libpq password file
(`passfile`, `PGPASSFILE`, `~/.pgpass`); they never appear in a message. Every
failure is a SyncWizardError naming the server, database and user, what was
expected, and what to do.

Every wait is bounded, never the work: a connection gives up after the timeout
(libpq's connect_timeout), notices a peer that vanished through TCP keepalives, and
a short query is answered within its bound (`answer_within`, backed on the server
by `statement_timeout`), else the connection is ended. A long query (a row count, a
dump) runs as long as it needs while the server can be heard.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import math
import os
import socket
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from syncwizard.clients.results import DatabaseFacts, Session
from syncwizard.errors import SyncWizardError

APPLICATION_NAME = "syncwizard"
DEFAULT_TIMEOUT = 5.0  # seconds: to connect, and for each answer to a short query
DEFAULT_LOCK_TIMEOUT = 60.0  # seconds a dump may wait for a table lock
KEEPALIVE_PROBES = 3

_LABELS = {"repository_db": "repository database", "sync_db": "Sync database"}


def system_label(system: str) -> str:
    """How a system is named in messages: "repository_db" -> "repository database"."""
    return _LABELS.get(system, system or "database")


def setting_name(system: str, key: str) -> str:
    """The config key a message names: ("repository_db", "timeout") -> "repository_db.timeout"."""
    return f"{system}.{key}" if system in _LABELS else f"the database's {key}"


def parse_conninfo(conninfo: str, system: str = "") -> dict[str, str]:
    """The parameters of a libpq connection string (key=value or URI form)."""
    try:
        # Parsed from a string, every value is a str (ints come only from keyword arguments).
        return {k: str(v) for k, v in conninfo_to_dict(conninfo).items() if v is not None}
    except psycopg.ProgrammingError:
        # libpq's message quotes pieces of the string, which may be the password.
        raise SyncWizardError(
            f"{system_label(system)}: the connection string is not valid libpq syntax",
            hint="write it as `host=... port=... dbname=... user=...` or "
            "`postgresql://user@host:port/dbname` (values with spaces in single quotes)",
            system=system,
        ) from None


def split_password(conninfo: str, system: str = "") -> tuple[str, str | None]:
    """(the conninfo without `password`, the password or None), for a child's argv and env."""
    params = parse_conninfo(conninfo, system)
    password = params.pop("password", None)
    return make_conninfo("", **params), password


def target_parts(conninfo: str, system: str = "") -> tuple[str, str, str, str]:
    """(host, port, dbname, user) as libpq would use them, its defaults filled in."""
    params = parse_conninfo(conninfo, system)
    host = (
        params.get("host") or params.get("hostaddr") or os.environ.get("PGHOST") or "local socket"
    )
    port = params.get("port") or os.environ.get("PGPORT") or "5432"
    user = params.get("user") or os.environ.get("PGUSER") or getpass.getuser()
    dbname = params.get("dbname") or os.environ.get("PGDATABASE") or user
    return host, port, dbname, user


def describe_target(conninfo: str, system: str = "") -> str:
    """`database 'alfresco' on 127.0.0.1:5432 as user 'alfresco'`."""
    host, port, dbname, user = target_parts(conninfo, system)
    return f"database {dbname!r} on {host}:{port} as user {user!r}"


def _password_file_note(passfile: Path | None, conninfo: str) -> str:
    """Which password file libpq reads, and why it may be ignored."""
    named = passfile or parse_conninfo(conninfo).get("passfile") or os.environ.get("PGPASSFILE")
    path = Path(named).expanduser() if named else Path.home() / ".pgpass"
    try:
        mode = path.stat().st_mode
    except OSError:
        return f"the password file {path} (it does not exist)"
    if mode & 0o077:
        return f"the password file {path} (libpq ignores it: chmod 600 it)"
    return f"the password file {path}"


def _wrong_password_hint(conninfo: str, line: str, where: str) -> str:
    # libpq takes the password from the conninfo first, then PGPASSWORD, then the file.
    if "password" in parse_conninfo(conninfo):
        return "the password given with the connection string is wrong; correct it"
    if os.environ.get("PGPASSWORD"):
        return "the password in PGPASSWORD is wrong: correct or unset it"
    return f"correct the password on the line `{line}` in {where}"


def connection_error(
    exc: BaseException,
    conninfo: str,
    *,
    system: str,
    passfile: Path | None = None,
    timeout: float | None = None,
) -> SyncWizardError:
    """A clear SyncWizardError for a failed connection (never quoting a password)."""
    label = system_label(system)
    target = describe_target(conninfo, system)
    host, port, dbname, user = target_parts(conninfo, system)
    text = str(exc).strip()
    where = _password_file_note(passfile, conninfo)
    line = f"{host}:{port}:{dbname}:{user}:<password>"
    if isinstance(exc, TimeoutError) or "timeout expired" in text:
        bound = (
            f"within {timeout:g} s (the bound set by {setting_name(system, 'timeout')})"
            if timeout is not None
            else "within the timeout"
        )
        message, hint = (
            f"{label}: no answer from {target} to our connection attempt {bound}",
            "check host= and port=, the network and any firewall between here and the server",
        )
    elif "password authentication failed" in text:
        message, hint = (
            f"{label}: the server refused the password for user {user!r} ({target})",
            _wrong_password_hint(conninfo, line, where),
        )
    elif "no password supplied" in text:
        message, hint = (
            f"{label}: the server asks for a password for user {user!r} and none was found "
            f"({target})",
            f"add the line `{line}` to {where} (mode 0600; `*` matches any value), "
            "or export PGPASSWORD",
        )
    elif "does not exist" in text and "database" in text:
        message, hint = (
            f"{label}: database {dbname!r} does not exist on {host}:{port}",
            f"create it (createdb -h {host} -p {port} -O {user} {dbname}) "
            "or fix dbname= in the conninfo",
        )
    elif "does not exist" in text and "role" in text:
        message, hint = (
            f"{label}: user {user!r} does not exist on the server ({target})",
            "create the role, or fix user= in the conninfo",
        )
    elif "no pg_hba.conf entry" in text:
        message, hint = (
            f"{label}: the server's pg_hba.conf does not allow {target} from this host",
            "ask the DBA to add a pg_hba.conf line for this host, user and database",
        )
    elif "Connection refused" in text or "No such file or directory" in text:
        message, hint = (
            f"{label}: nothing accepts connections for {target}",
            "is PostgreSQL running and listening on that address? check host= and port=",
        )
    else:
        first = text.splitlines()[0] if text else type(exc).__name__
        message, hint = (
            f"{label}: cannot connect to {target}: {first}",
            "check the conninfo of this database in the profile",
        )
    return SyncWizardError(message, hint=hint, system=system)


def timed_out(exc: BaseException) -> bool:
    """Whether `exc` is a bound running out: our deadline, or the server's statement_timeout."""
    return isinstance(exc, TimeoutError) or (
        isinstance(exc, psycopg.errors.QueryCanceled) and "statement timeout" in str(exc)
    )


def query_error(
    exc: BaseException,
    conninfo: str,
    *,
    system: str,
    what: str = "a query",
    timeout: float | None = None,
) -> SyncWizardError:
    """A clear SyncWizardError for a query that failed on an open connection. With
    `timeout`, a query that outlived it is named with its bound and what to do."""
    label = system_label(system)
    target = describe_target(conninfo, system)
    if timed_out(exc) and timeout is not None:
        setting = setting_name(system, "timeout")
        return SyncWizardError(
            f"{label}: {target} did not answer {what} within {timeout:g} s (the bound set by "
            f"{setting})",
            hint="the server may be overloaded or waiting on a lock (pg_stat_activity shows "
            "what waits), or the network between here and it drops packets: check them, or "
            f"raise {setting}",
            system=system,
        )
    if timed_out(exc):
        return SyncWizardError(
            f"{label}: {target} did not answer a query in time",
            hint="the server may be overloaded or the network slow; it is retried next time",
            system=system,
        )
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return SyncWizardError(
        f"{label}: a query on {target} failed: {first}",
        hint="the connection is opened again on the next attempt",
        system=system,
    )


def connect_seconds(timeout: float) -> int:
    """libpq's connect_timeout (PGCONNECT_TIMEOUT) for a bound: whole seconds, 2 at least
    (libpq reads 1 as 2)."""
    return max(2, math.ceil(timeout))


def link_bounds(params: dict[str, str], timeout: float) -> dict[str, str]:
    """libpq settings that bound a connection's network waits, for those `params` leave
    unset: connect_timeout, and TCP keepalives, so a server host that vanished (no RST,
    no answer) is noticed within about twice the timeout rather than after libpq's
    default two hours. A server that works, however long, still answers the probes."""
    seconds = connect_seconds(timeout)
    bounds = {
        "connect_timeout": str(seconds),
        "keepalives": "1",
        "keepalives_idle": str(seconds),
        "keepalives_interval": str(max(1, math.ceil(seconds / KEEPALIVE_PROBES))),
        "keepalives_count": str(KEEPALIVE_PROBES),
    }
    return {key: value for key, value in bounds.items() if key not in params}


async def connect(
    conninfo: str,
    *,
    passfile: Path | None = None,
    system: str = "",
    timeout: float = DEFAULT_TIMEOUT,
    statement_timeout: float | None = None,
    lock_timeout: float | None = None,
) -> psycopg.AsyncConnection[Any]:
    """An autocommit connection, or a SyncWizardError saying why not.

    `statement_timeout` and `lock_timeout` (seconds) are set on the session, so the
    server itself ends a statement or a lock wait that outlives them.
    """
    params = parse_conninfo(conninfo, system)
    extra: dict[str, Any] = dict(link_bounds(params, timeout))
    if "tcp_user_timeout" not in params and psycopg.pq.version() >= 120000:
        # Data the server never acknowledges (a network dropping packets) ends it too.
        extra["tcp_user_timeout"] = str(connect_seconds(timeout) * 1000)
    if passfile is not None:
        extra["passfile"] = str(passfile)
    if "application_name" not in params:
        extra["application_name"] = APPLICATION_NAME
    try:
        conn = await asyncio.wait_for(
            psycopg.AsyncConnection.connect(conninfo, autocommit=True, **extra),
            connect_seconds(timeout) + 1,
        )
    except (psycopg.Error, TimeoutError, OSError) as exc:
        raise connection_error(
            exc, conninfo, system=system, passfile=passfile, timeout=timeout
        ) from exc
    bounds = [
        (name, f"{max(1, round(seconds * 1000))}ms")  # 0 would mean "no bound"
        for name, seconds in (
            ("statement_timeout", statement_timeout),
            ("lock_timeout", lock_timeout),
        )
        if seconds is not None
    ]
    if not bounds:
        return conn
    try:
        with answer_within(conn, timeout):
            await conn.execute(
                "SELECT " + ", ".join("set_config(%s, %s, false)" for _ in bounds),
                [value for pair in bounds for value in pair],
            )
    except (psycopg.Error, TimeoutError) as exc:
        await close_quietly(conn)
        raise query_error(
            exc, conninfo, system=system, what="the query setting its timeouts", timeout=timeout
        ) from exc
    return conn


async def close_quietly(conn: psycopg.AsyncConnection[Any] | None) -> None:
    """Close `conn` if it is open; a connection already broken or gone is fine."""
    if conn is not None and not conn.closed:
        with contextlib.suppress(psycopg.Error, TimeoutError, OSError):
            await asyncio.wait_for(conn.close(), 2)


def _end_at_socket(conn: psycopg.AsyncConnection[Any]) -> None:
    """Shut the connection's socket down: a read waiting on it returns at once (end of
    file), so psycopg raises OperationalError and marks the connection broken. Sending a
    cancel request instead would wait on the same silent network."""
    with contextlib.suppress(OSError, psycopg.Error):
        duplicate = socket.socket(fileno=os.dup(conn.pgconn.socket))
        try:
            duplicate.shutdown(socket.SHUT_RDWR)  # acts on the socket, not on the descriptor
        finally:
            duplicate.close()


@contextlib.contextmanager
def answer_within(conn: psycopg.AsyncConnection[Any], seconds: float) -> Iterator[None]:
    """Within the block, `conn`'s server must answer within `seconds` (all of the block),
    else the connection is ended and TimeoutError raised. A server or network gone silent
    (a black hole after the connection was made) cannot hold the block longer."""
    expired = False

    def expire() -> None:
        nonlocal expired
        expired = True
        _end_at_socket(conn)

    deadline = asyncio.get_running_loop().call_later(seconds, expire)
    try:
        yield
    except psycopg.Error as exc:
        if expired:
            raise TimeoutError(f"no answer within {seconds:g} s") from exc
        raise
    finally:
        deadline.cancel()


async def fetch_all(
    conn: psycopg.AsyncConnection[Any],
    query: str,
    params: Sequence[Any] | None = None,
    *,
    conninfo: str,
    system: str,
    what: str,
    timeout: float,
) -> list[Any]:
    """The rows of one short query, answered within `timeout`, or a SyncWizardError naming
    the bound. (On a session connected with the same statement_timeout, the server ends
    the statement at that moment too, so nothing of it is left running there.)"""
    try:
        with answer_within(conn, timeout):
            cursor = await conn.execute(query, params)
            return await cursor.fetchall()
    except (psycopg.Error, TimeoutError) as exc:
        raise query_error(exc, conninfo, system=system, what=what, timeout=timeout) from exc


def server_major(version_num: int) -> int:
    """`server_version_num` -> major: 150013 -> 15, 90624 -> 9 (9.6)."""
    return version_num // 10000


# Other roles' sessions show no backend_type, client or state to an ordinary user
# (only a superuser or pg_read_all_stats sees them); autovacuum workers have no user.
_CLIENT_SESSION = (
    "(backend_type = 'client backend' OR (backend_type IS NULL AND usesysid IS NOT NULL))"
)
# One round trip per poll: the facts and, as a JSON array, the other sessions.
_FACTS = f"""
SELECT current_database(), current_setting('server_version'),
       current_setting('server_version_num')::int, pg_database_size(current_database()),
       (SELECT coalesce(json_agg(json_build_array(
                   pid, coalesce(usename, ''), coalesce(application_name, ''),
                   coalesce(host(client_addr),
                            CASE WHEN client_port = -1 THEN 'local socket' ELSE '' END),
                   coalesce(state, 'not visible to this user')) ORDER BY pid), '[]')
        FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND {_CLIENT_SESSION})
"""


async def read_facts(conn: psycopg.AsyncConnection[Any]) -> DatabaseFacts:
    """Version, size and other sessions over an open connection, in one query."""
    cursor = await conn.execute(_FACTS)
    row = await cursor.fetchone()
    assert row is not None
    name, version, version_num, size, sessions = row
    return DatabaseFacts(
        name=name,
        server_version=version.split()[0],  # "15.13 (Debian 15.13-0+deb12u1)" -> "15.13"
        server_major=server_major(version_num),
        size_bytes=size,
        sessions=tuple(Session(*row) for row in sessions),
    )


async def database_facts(
    conninfo: str,
    *,
    passfile: Path | None = None,
    system: str = "",
    timeout: float = DEFAULT_TIMEOUT,
) -> DatabaseFacts:
    """Connect, read the facts, disconnect. For repeated polls use DatabaseProbe."""
    probe = DatabaseProbe(conninfo, passfile=passfile, system=system, timeout=timeout)
    try:
        return await probe.facts()
    finally:
        await probe.aclose()


class DatabaseProbe:
    """Facts of one database, polled over one connection kept open across polls.

    A broken connection (server restart, network) is dropped and opened again
    once within the same poll; a second failure is reported and retried on the
    next poll.
    """

    def __init__(
        self,
        conninfo: str,
        *,
        passfile: Path | None = None,
        system: str = "",
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.conninfo = conninfo
        self.passfile = passfile
        self.system = system
        self.timeout = timeout
        self._conn: psycopg.AsyncConnection[Any] | None = None

    async def facts(self) -> DatabaseFacts:
        while True:
            fresh = self._conn is None or self._conn.closed
            if fresh:
                self._conn = await connect(
                    self.conninfo,
                    passfile=self.passfile,
                    system=self.system,
                    timeout=self.timeout,
                    statement_timeout=self.timeout,
                )
            assert self._conn is not None
            try:
                with answer_within(self._conn, self.timeout):
                    return await read_facts(self._conn)
            except (psycopg.Error, TimeoutError) as exc:
                await self.aclose()
                if fresh:
                    raise query_error(exc, self.conninfo, system=self.system) from exc

    async def aclose(self) -> None:
        conn, self._conn = self._conn, None
        await close_quietly(conn)


_TERMINATE = f"""
SELECT pid, pg_terminate_backend(pid)
FROM pg_stat_activity
WHERE datname = ANY(%s) AND pid <> pg_backend_pid() AND {_CLIENT_SESSION}
"""


async def end_sessions(
    conn: psycopg.AsyncConnection[Any],
    dbnames: Sequence[str],
    conninfo: str,
    *,
    system: str = "",
    wait: float = 5.0,
) -> int:
    """End every client session on `dbnames` except ours, over the open `conn`; wait until
    they are gone. Returns how many were ended."""
    try:
        cursor = await conn.execute(_TERMINATE, (list(dbnames),))
    except psycopg.errors.InsufficientPrivilege as exc:
        user = target_parts(conninfo, system)[3]
        which = ", ".join(repr(name) for name in dbnames)
        raise SyncWizardError(
            f"{system_label(system)}: {user!r} may not end other sessions on database"
            f"{'s' if len(dbnames) > 1 else ''} {which}: {str(exc).strip().splitlines()[0]}",
            hint="connect as a superuser, or GRANT pg_signal_backend TO the role "
            "(superuser sessions need a superuser), or stop those clients first",
            system=system,
        ) from exc
    ended = [pid for pid, ok in await cursor.fetchall() if ok]
    deadline = asyncio.get_running_loop().time() + wait
    while ended and asyncio.get_running_loop().time() < deadline:
        cursor = await conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (ended,)
        )
        row = await cursor.fetchone()
        assert row is not None
        if row[0] == 0:
            break
        await asyncio.sleep(0.05)
    return len(ended)


async def terminate_connections(
    conninfo: str,
    dbname: str,
    *,
    passfile: Path | None = None,
    system: str = "",
    wait: float = 5.0,
) -> int:
    """End every client session on `dbname` except ours; wait until they are gone.

    Returns how many were ended. Ending another role's sessions needs a superuser
    or a role granted `pg_signal_backend`.
    """
    conn = await connect(conninfo, passfile=passfile, system=system)
    try:
        return await end_sessions(conn, [dbname], conninfo, system=system, wait=wait)
    except psycopg.Error as exc:
        raise query_error(exc, conninfo, system=system) from exc
    finally:
        await conn.close()
