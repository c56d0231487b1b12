"""Database-level operations for a restore (psycopg, async): create, inspect, rename, drop.

Every call connects to the SAME server as a profile's conninfo, as the same user, but to
its maintenance database (`postgres`, else `template1`): a database cannot be renamed or
dropped over a connection to itself. Passwords come as in clients/postgres.py (the
conninfo, `PGPASSWORD`, or a password file) and never appear in a message.

Rights a restore needs (`restore_rights` says which are missing, with the fix):
CREATEDB (or superuser) to create the scratch database; owning the live database (or
superuser) to rename it; ending other roles' sessions needs `pg_signal_backend`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from syncwizard.clients import dbsettings
from syncwizard.clients.dbnames import aside_search_prefix, is_aside_of
from syncwizard.clients.postgres import (
    connect,
    end_sessions,
    parse_conninfo,
    query_error,
    system_label,
    target_parts,
)
from syncwizard.clients.results import Session
from syncwizard.errors import SyncWizardError

MAINTENANCE_DATABASES = ("postgres", "template1")
MAX_NAME_BYTES = 63  # NAMEDATALEN - 1: PostgreSQL cuts longer names silently
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
SWAP_ATTEMPTS = 20  # a client reconnecting between our terminate and the rename: again

# As clients/postgres.py: other roles' sessions show no backend_type to an ordinary user.
_CLIENT_SESSION = (
    "(backend_type = 'client backend' OR (backend_type IS NULL AND usesysid IS NOT NULL))"
)


@dataclass(frozen=True)
class DatabaseInfo:
    """One database of the server, as pg_database has it."""

    name: str
    oid: int  # survives a rename: how a swap recognises the restored database
    owner: str
    encoding: str
    collate: str
    ctype: str
    locale_provider: str  # "c" (libc) or "i" (ICU); "c" before PostgreSQL 15
    icu_locale: str  # "" unless ICU
    tablespace: str
    size_bytes: int | None  # None when this user may not connect to it


@dataclass(frozen=True)
class RestoreRights:
    """What the connecting role may do for a restore of one database."""

    user: str
    superuser: bool
    createdb: bool
    owns_live: bool  # owns the live database (renaming it needs that, or superuser)
    can_signal: bool  # member of pg_signal_backend (ends other roles' sessions)

    def problems(self, live: str | None) -> list[str]:
        """Each missing right, as 'what is missing: the fix' (`live` None: it does not exist,
        so only creating matters)."""
        found = []
        if not (self.superuser or self.createdb):
            found.append(
                f"user {self.user!r} may not create databases (a restore goes into a new "
                f"scratch database first): ALTER ROLE {self.user} CREATEDB, or restore as a "
                "role that may"
            )
        if live is not None and not (self.superuser or self.owns_live):
            found.append(
                f"user {self.user!r} does not own database {live!r} and so may not rename or "
                f"drop it: ALTER DATABASE {live} OWNER TO {self.user}, or restore as its owner"
            )
        return found


# --- connecting ---------------------------------------------------------------------------


def maintenance_conninfo(conninfo: str, dbname: str = "postgres", system: str = "") -> str:
    """The same server and user, another database (the password, if any, kept)."""
    parse_conninfo(conninfo, system)  # a clear error for a bad string
    return make_conninfo(conninfo, dbname=dbname)


def database_conninfo(conninfo: str, dbname: str, system: str = "") -> str:
    """The conninfo of another database on the same server (e.g. the scratch database)."""
    return maintenance_conninfo(conninfo, dbname, system)


async def connect_maintenance(
    conninfo: str, *, passfile: Path | None = None, system: str = ""
) -> psycopg.AsyncConnection[Any]:
    """An autocommit connection to `postgres` (or `template1` where there is none)."""
    for dbname in MAINTENANCE_DATABASES:
        target = maintenance_conninfo(conninfo, dbname, system)
        try:
            return await connect(target, passfile=passfile, system=system)
        except SyncWizardError as exc:
            cause = str(exc.__cause__ or "")
            if "does not exist" in cause and "database" in cause and dbname != "template1":
                continue
            raise SyncWizardError(
                exc.message,
                hint=f"{exc.hint} (a restore connects to the server's maintenance database "
                f"{dbname!r} to create, rename and drop databases; a password file line needs "
                f"that database name or `*`)",
                system=system,
            ) from exc
    raise AssertionError("unreachable")  # template1 always raises or returns


_T = TypeVar("_T")


async def _run(
    conninfo: str,
    passfile: Path | None,
    system: str,
    work: Callable[[psycopg.AsyncConnection[Any]], Awaitable[_T]],
) -> _T:
    """Open a maintenance connection, await `work(conn)`, close; query errors made clear."""
    conn = await connect_maintenance(conninfo, passfile=passfile, system=system)
    try:
        return await work(conn)
    except psycopg.Error as exc:
        raise query_error(exc, conninfo, system=system) from exc
    finally:
        await conn.close()


# --- reading ------------------------------------------------------------------------------

# to_jsonb(d): every column pg_database has on this server version (the locale columns
# changed in 15, 16 and 17), without a query per version.
_DATABASE_INFO = """
SELECT to_jsonb(d), pg_get_userbyid(d.datdba), pg_encoding_to_char(d.encoding), t.spcname,
       CASE WHEN has_database_privilege(d.oid, 'CONNECT') THEN pg_database_size(d.oid) END
FROM pg_database d JOIN pg_tablespace t ON t.oid = d.dattablespace
WHERE d.datname = %s
"""


async def read_database_info(conn: psycopg.AsyncConnection[Any], name: str) -> DatabaseInfo | None:
    cursor = await conn.execute(_DATABASE_INFO, (name,))
    row = await cursor.fetchone()
    if row is None:
        return None
    columns, owner, encoding, tablespace, size = row
    provider = columns.get("datlocprovider") or "c"
    return DatabaseInfo(
        name=name,
        oid=int(columns["oid"]),
        owner=owner,
        encoding=encoding,
        collate=columns.get("datcollate") or "",
        ctype=columns.get("datctype") or "",
        locale_provider=provider,
        icu_locale=(columns.get("daticulocale") or columns.get("datlocale") or "")
        if provider == "i"
        else "",
        tablespace=tablespace,
        size_bytes=size,
    )


async def database_info(
    conninfo: str, name: str, *, passfile: Path | None = None, system: str = ""
) -> DatabaseInfo | None:
    """Owner, encoding, locale, tablespace and size of database `name`; None if it is absent."""
    return await _run(conninfo, passfile, system, lambda conn: read_database_info(conn, name))


_SESSIONS = f"""
SELECT pid, coalesce(usename, ''), coalesce(application_name, ''),
       coalesce(host(client_addr), CASE WHEN client_port = -1 THEN 'local socket' ELSE '' END),
       coalesce(state, 'not visible to this user')
FROM pg_stat_activity
WHERE datname = %s AND pid <> pg_backend_pid() AND {_CLIENT_SESSION}
ORDER BY pid
"""


async def read_sessions(conn: psycopg.AsyncConnection[Any], name: str) -> list[Session]:
    """Who is connected to database `name` (client sessions; ours excluded)."""
    cursor = await conn.execute(_SESSIONS, (name,))
    return [Session(*row) for row in await cursor.fetchall()]


# What pg_dump (without --create) leaves out of a database: its own settings, connection
# limit and privileges. A restore into a new database loses them unless they are set again.
_NOT_IN_A_DUMP = """
SELECT coalesce((SELECT setconfig FROM pg_db_role_setting
                 WHERE setdatabase = d.oid AND setrole = 0), '{}'),
       d.datconnlimit, coalesce(d.datacl::text[], '{}')
FROM pg_database d WHERE d.datname = %s
"""


async def read_settings_not_in_a_dump(conn: psycopg.AsyncConnection[Any], name: str) -> list[str]:
    """What database `name` has that a pg_dump archive does not carry, as SQL to set it on a
    restored database: `ALTER DATABASE ... SET`, a connection limit, GRANTs (as ACL items)."""
    row = await (await conn.execute(_NOT_IN_A_DUMP, (name,))).fetchone()
    if row is None:
        return []
    settings, limit, acl = row
    ident = sql.Identifier(name).as_string(conn)
    found = []
    for item in settings:
        key, _, value = item.partition("=")
        literal = sql.Literal(value).as_string(conn)
        found.append(f"ALTER DATABASE {ident} SET {key} = {literal}")
    if limit != -1:
        found.append(f"ALTER DATABASE {ident} CONNECTION LIMIT {limit}")
    if acl:
        found.append(f"privileges on the database: {', '.join(acl)}")
    return found


async def database_settings(
    conninfo: str, name: str, *, passfile: Path | None = None, system: str = ""
) -> dbsettings.DatabaseSettings | None:
    """Database `name`'s own settings, privileges and owner (what a dump does not carry)."""
    return await _run(conninfo, passfile, system, lambda conn: dbsettings.read_settings(conn, name))


_OWNER_ROLES = """
SELECT o, r.oid IS NOT NULL,
       coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
                OR pg_has_role(current_user, r.oid, 'MEMBER'), false)
FROM unnest(%s::text[]) o LEFT JOIN pg_roles r ON r.rolname = o
ORDER BY o
"""


@dataclass(frozen=True)
class OwnerRoles:
    """The roles an archive gives objects to, as this server and this role see them."""

    missing: list[str]  # no such role on the server
    not_ours: list[str]  # exists, but the connecting role may not give objects to it


async def owner_roles(
    conninfo: str, owners: Iterable[str], *, passfile: Path | None = None, system: str = ""
) -> OwnerRoles:
    """Which of `owners` are missing on the server, and which this role may not use."""

    async def work(conn: psycopg.AsyncConnection[Any]) -> OwnerRoles:
        rows = await (await conn.execute(_OWNER_ROLES, (sorted(set(owners)),))).fetchall()
        return OwnerRoles(
            missing=[name for name, exists, _ in rows if not exists],
            not_ours=[name for name, exists, usable in rows if exists and not usable],
        )

    return await _run(conninfo, passfile, system, work)


_RIGHTS = """
SELECT current_user, r.rolsuper, r.rolcreatedb,
       coalesce((SELECT pg_has_role(current_user, d.datdba, 'MEMBER')
                 FROM pg_database d WHERE d.datname = %s), false),
       pg_has_role(current_user, 'pg_signal_backend', 'MEMBER')
FROM pg_roles r WHERE r.rolname = current_user
"""


async def restore_rights(
    conninfo: str, live: str, *, passfile: Path | None = None, system: str = ""
) -> RestoreRights:
    """Whether the conninfo's user may create databases and rename/drop `live`."""
    return await _run(conninfo, passfile, system, lambda conn: read_rights(conn, live))


async def read_rights(conn: psycopg.AsyncConnection[Any], live: str) -> RestoreRights:
    row = await (await conn.execute(_RIGHTS, (live,))).fetchone()
    assert row is not None
    return RestoreRights(*row)


def is_local_server(conninfo: str, system: str = "") -> bool:
    """True when the server runs on this machine: a unix socket folder, or a loopback host."""
    host = target_parts(conninfo, system)[0]
    return host == "local socket" or host.startswith("/") or host in LOCAL_HOSTS


async def read_free_bytes(
    conn: psycopg.AsyncConnection[Any], conninfo: str, system: str = ""
) -> int | None:
    """Free bytes on the disk of the data directory of the server `conn` is connected to
    (`conninfo` names it), or None when unknown; another machine is not even asked.

    Known only when the server is on this machine (unix socket, localhost, 127.0.0.1) and
    the role may read `data_directory` (superuser or pg_read_all_settings), and that folder
    exists here; where its postmaster.pid is readable, its port must be the conninfo's (a
    container behind a forwarded port is another machine). Never a guess.
    """
    if not is_local_server(conninfo, system):
        return None
    try:
        cursor = await conn.execute("SELECT current_setting('data_directory')")
    except psycopg.errors.InsufficientPrivilege:
        return None
    row = await cursor.fetchone()
    if not row or not row[0]:
        return None
    return await asyncio.to_thread(_free_bytes_of, Path(row[0]), target_parts(conninfo)[1])


def _free_bytes_of(data_dir: Path, port: str) -> int | None:
    try:
        stats = os.statvfs(data_dir)
    except OSError:
        return None
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
    except OSError:
        lines = []  # not ours to read: the folder's existence has to do
    if len(lines) >= 4 and lines[3].strip() != port:
        return None
    return stats.f_bavail * stats.f_frsize


@dataclass(frozen=True)
class RestoreTarget:
    """What a restore needs to know of one target database, read over one connection."""

    info: DatabaseInfo | None  # None: it does not exist (the restore creates it)
    sessions: list[Session]  # who is connected to it now
    rights: RestoreRights
    free_bytes: int | None  # free on the server's data disk; None when unknown
    not_in_dump: list[str]  # its settings a pg_dump archive does not carry
    wal_bytes: int | None = None  # max_wal_size: the WAL a restore may fill between checkpoints
    # Old copies earlier restores renamed aside (`<name>__before_<run>`, dbnames) and sizes.
    kept_aside: list[tuple[str, int | None]] = field(default_factory=list)


_SERVER_ROOM = """
SELECT pg_size_bytes(current_setting('max_wal_size')),
       coalesce((SELECT json_agg(json_build_array(d.datname,
                   CASE WHEN has_database_privilege(d.oid, 'CONNECT')
                        THEN pg_database_size(d.oid) END) ORDER BY d.datname)
                 FROM pg_database d
                 WHERE starts_with(d.datname, %s) AND d.datname ~ '__before_[a-z0-9_]+$'), '[]')
"""


async def read_server_room(
    conn: psycopg.AsyncConnection[Any], name: str
) -> tuple[int | None, list[tuple[str, int | None]]]:
    """The server's max_wal_size, and the old copies of `name` kept aside by restores."""
    row = await (await conn.execute(_SERVER_ROOM, (aside_search_prefix(name),))).fetchone()
    if row is None:
        return None, []
    wal, aside = row
    kept = [(str(n), s) for n, s in aside if is_aside_of(str(n), name)]
    return (int(wal) if wal is not None else None), kept


async def restore_target(
    conninfo: str, name: str, *, passfile: Path | None = None, system: str = ""
) -> RestoreTarget:
    """All a restore preflight reads about database `name` and its server, in one session."""

    async def work(conn: psycopg.AsyncConnection[Any]) -> RestoreTarget:
        info = await read_database_info(conn, name)
        wal, aside = await read_server_room(conn, name)
        return RestoreTarget(
            info=info,
            sessions=await read_sessions(conn, name) if info else [],
            rights=await read_rights(conn, name),
            not_in_dump=await read_settings_not_in_a_dump(conn, name) if info else [],
            free_bytes=await read_free_bytes(conn, conninfo, system),
            wal_bytes=wal,
            kept_aside=aside,
        )

    return await _run(conninfo, passfile, system, work)


# --- creating, dropping, renaming ---------------------------------------------------------


def _ident(name: str) -> sql.Identifier:
    return sql.Identifier(name)


async def create_like(
    conninfo: str,
    name: str,
    like: DatabaseInfo,
    *,
    passfile: Path | None = None,
    system: str = "",
) -> str:
    """CREATE DATABASE `name` from template0 with `like`'s encoding, locale and tablespace,
    owned by `like`'s owner when this role may give it away, else by this role.

    Returns the owner it got.
    """

    def statement(owner: str | None) -> sql.Composed:
        parts = [
            sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING {}").format(
                _ident(name), sql.Literal(like.encoding)
            ),
            sql.SQL("LC_COLLATE {} LC_CTYPE {}").format(
                sql.Literal(like.collate), sql.Literal(like.ctype)
            ),
        ]
        if like.locale_provider == "i":
            parts.append(
                sql.SQL("LOCALE_PROVIDER icu ICU_LOCALE {}").format(sql.Literal(like.icu_locale))
            )
        if like.tablespace != "pg_default":
            parts.append(sql.SQL("TABLESPACE {}").format(_ident(like.tablespace)))
        if owner is not None:
            parts.append(sql.SQL("OWNER {}").format(_ident(owner)))
        return sql.SQL(" ").join(parts)

    async def work(conn: psycopg.AsyncConnection[Any]) -> str:
        try:
            await conn.execute(statement(like.owner))
            return like.owner
        except psycopg.errors.InsufficientPrivilege:
            pass  # may not give it to that owner: it stays ours
        await conn.execute(statement(None))
        row = await (await conn.execute("SELECT current_user")).fetchone()
        return str(row[0]) if row else ""

    try:
        return await _run(conninfo, passfile, system, work)
    except SyncWizardError as exc:
        raise SyncWizardError(
            f"{system_label(system)}: creating the scratch database {name!r} failed: "
            f"{_detail(exc)}",
            hint=_create_hint(exc, conninfo, system),
            system=system,
        ) from exc


def _detail(exc: SyncWizardError) -> str:
    cause = exc.__cause__
    return (str(cause).strip().splitlines() or [exc.message])[0] if cause else exc.message


def _create_hint(exc: SyncWizardError, conninfo: str, system: str) -> str:
    text = _detail(exc)
    user = target_parts(conninfo, system)[3]
    if "permission denied to create database" in text:
        return f"ALTER ROLE {user} CREATEDB (as a superuser), or restore as a role that may"
    if "No space left" in text:
        return "the server's disk is full: free space, or take the drop-first path"
    return exc.hint or "fix the cause and run this step again"


async def drop_database(
    conninfo: str,
    name: str,
    *,
    force: bool = True,
    passfile: Path | None = None,
    system: str = "",
) -> bool:
    """DROP DATABASE IF EXISTS `name` (WITH (FORCE) on PostgreSQL 13+: its sessions are
    ended). True if it existed."""

    async def work(conn: psycopg.AsyncConnection[Any]) -> bool:
        existed = await read_database_info(conn, name) is not None
        if not existed:
            return False
        if force and conn.info.server_version < 130000:
            await end_sessions(conn, [name], conninfo, system=system)
        with_force = (
            sql.SQL(" WITH (FORCE)")
            if force and conn.info.server_version >= 130000
            else sql.SQL("")
        )
        await conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}{}").format(_ident(name), with_force))
        return True

    return await _run(conninfo, passfile, system, work)


@dataclass(frozen=True)
class SwapResult:
    terminated: int  # sessions ended on the live and scratch databases
    aside: str | None  # where the old database went; None on the drop-first path
    dropped_live: bool  # drop-first: the live database existed and was dropped
    # The old database's own settings, privileges and owner set on the new one (SQL), and
    # those the server refused ("<SQL>: <reason>"), for the admin.
    reapplied: tuple[str, ...] = field(default=())
    not_reapplied: tuple[str, ...] = field(default=())


async def swap_into_place(
    conninfo: str,
    live: str,
    scratch: str,
    aside: str | None,
    *,
    passfile: Path | None = None,
    system: str = "",
    settings: dbsettings.DatabaseSettings | None = None,
) -> SwapResult:
    """Put `scratch` in the place of `live`.

    Ends the sessions on both, then in ONE transaction renames `live` to `aside` and
    `scratch` to `live` (ALTER DATABASE RENAME is transactional): the name `live` always
    holds either the old database or the new one, never neither and never a half. A
    client reconnecting in between makes the rename fail; its sessions are ended and the
    transaction tried again.

    In the same transaction, what a dump does not carry (the database's settings,
    privileges, connection limit, owner, comment: clients/dbsettings.py) is set on the new
    `live` as the old one had it; `settings` stands in for a `live` that is gone already
    (the drop-first path dropped it before the restore).

    `aside=None` is the drop-first path: `live` (if it exists) is DROPPED, then `scratch`
    renamed. That path keeps NO copy of the old database; a crash between the two leaves
    no database under the name `live` until this is run again.
    """

    async def work(conn: psycopg.AsyncConnection[Any]) -> SwapResult:
        terminated = 0
        dropped = False
        want = settings
        for attempt in range(SWAP_ATTEMPTS):
            terminated += await end_sessions(conn, [live, scratch], conninfo, system=system)
            live_exists = await read_database_info(conn, live) is not None
            if live_exists:  # what it has now (kept for a retry after the drop-first DROP)
                want = await dbsettings.read_settings(conn, live)
            new = await read_database_info(conn, scratch)
            new_owner = new.owner if new else ""
            try:
                if aside is None and live_exists:
                    await conn.execute(sql.SQL("DROP DATABASE {}").format(_ident(live)))
                    dropped = True
                async with conn.transaction():
                    if live_exists and aside is not None:
                        await _rename(conn, live, aside)
                    await _rename(conn, scratch, live)
                    applied = (
                        await dbsettings.apply(conn, want, live, new_owner)
                        if want is not None
                        else dbsettings.Applied([], [])
                    )
                kept = aside if live_exists and aside is not None else None
                return SwapResult(
                    terminated, kept, dropped, tuple(applied.done), tuple(applied.failed)
                )
            except psycopg.errors.ObjectInUse:
                if attempt == SWAP_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.1)
        raise AssertionError("unreachable")

    try:
        return await _run(conninfo, passfile, system, work)
    except SyncWizardError as exc:
        if isinstance(exc.__cause__, psycopg.errors.ObjectInUse):
            raise SyncWizardError(
                f"{system_label(system)}: database {live!r} kept getting new sessions; it "
                f"could not be renamed ({_detail(exc)})",
                hint="stop the clients that reconnect (the repository, the Sync Service, "
                "connection pools) and run this step again; nothing was changed",
                system=system,
            ) from exc
        raise


async def _rename(conn: psycopg.AsyncConnection[Any], old: str, new: str) -> None:
    await conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(_ident(old), _ident(new)))


# --- counting -----------------------------------------------------------------------------


def split_table(key: str) -> tuple[str, str]:
    """ "schema.table" (the manifest's keys) -> (schema, table); the schema has no dot."""
    schema, _, table = key.partition(".")
    return schema, table


async def count_table(conn: psycopg.AsyncConnection[Any], key: str) -> int | None:
    """Exact count(*) of one "schema.table"; None when the table does not exist."""
    schema, table = split_table(key)
    cursor = await conn.execute(
        "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p')",
        (schema, table),
    )
    if await cursor.fetchone() is None:
        return None
    query = sql.SQL("SELECT count(*) FROM ONLY {}.{}").format(_ident(schema), _ident(table))
    row = await (await conn.execute(query)).fetchone()
    return int(row[0]) if row else 0


_INSERTED = """
SELECT schemaname || '.' || relname, n_tup_ins FROM pg_stat_user_tables
"""


async def inserted_rows(
    conninfo_of_db: str, *, passfile: Path | None = None, system: str = ""
) -> dict[str, int]:
    """Rows the server tallied as inserted into each "schema.table" of one database
    (pg_stat_user_tables.n_tup_ins; in a database made for a restore, what COPY loaded).
    Sessions that just ended may not have reported theirs yet: a table whose tally looks
    short is counted with count(*) by the caller."""
    conn = await connect(conninfo_of_db, passfile=passfile, system=system)
    try:
        rows = await (await conn.execute(_INSERTED)).fetchall()
    except psycopg.Error as exc:
        raise query_error(exc, conninfo_of_db, system=system) from exc
    finally:
        await conn.close()
    return {str(key): int(count) for key, count in rows}


async def count_rows(
    conninfo_of_db: str,
    tables: Iterable[str],
    *,
    passfile: Path | None = None,
    system: str = "",
    connections: int = 2,
) -> dict[str, int | None]:
    """Exact row counts of "schema.table"s of one database (None: no such table), over up
    to `connections` connections at once."""
    pending = list(tables)
    counts: dict[str, int | None] = {}

    async def worker() -> None:
        conn = await connect(conninfo_of_db, passfile=passfile, system=system)
        try:
            while pending:
                key = pending.pop(0)
                counts[key] = await count_table(conn, key)
        except psycopg.Error as exc:
            raise query_error(exc, conninfo_of_db, system=system) from exc
        finally:
            await conn.close()

    workers = max(1, min(connections, len(pending)))
    if pending:
        await asyncio.gather(*(worker() for _ in range(workers)))
    return counts


def describe_server(conninfo: str, system: str = "") -> str:
    """`127.0.0.1:5432 as user 'alfresco'` (no database: these are server-level acts)."""
    host, port, _, user = target_parts(conninfo, system)
    return f"{host}:{port} as user {user!r}"


__all__ = [
    "DatabaseInfo",
    "RestoreRights",
    "RestoreTarget",
    "SwapResult",
    "connect_maintenance",
    "count_rows",
    "create_like",
    "database_conninfo",
    "database_info",
    "database_settings",
    "describe_server",
    "drop_database",
    "owner_roles",
    "restore_rights",
    "restore_target",
    "swap_into_place",
]
