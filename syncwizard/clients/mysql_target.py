"""What a restore's preflight reads of one MySQL/MariaDB database and its server: the
database's facts, the other sessions on it, the connecting user's rights for a restore
beside it and the swap, the free space of the server's data disk (when it is on this
machine), the old copies earlier restores kept aside, and whether the server's version
is one Alfresco supports (the RENAME TABLE swap is crash-safe DDL only from MariaDB 10.6
and MySQL 8.0).

The rights are read from information_schema (USER_PRIVILEGES, SCHEMA_PRIVILEGES), never
probed by creating anything: a grant on a database pattern (`alfresco\\_\\_%`) is matched
here as the server matches it.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path

from syncwizard.clients.dbnames import aside_name, aside_search_prefix, is_aside_of, scratch_name
from syncwizard.clients.mysql_conn import MySQLTarget, Row, ident, literal, run_sql
from syncwizard.clients.mysql_facts import DatabaseFacts, ServerFacts, database_facts, parse_server
from syncwizard.clients.results import Session

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
# Alfresco's supported servers; also where RENAME TABLE became crash-safe (atomic) DDL.
SUPPORTED = {"mariadb": (10, 6), "mysql": (8, 0)}
_PRODUCT = {"mariadb": "MariaDB", "mysql": "MySQL"}
# A run id standing for any: the names the rights are checked for.
_ANY_RUN = "restore-20260101T000000Z"
# RENAME TABLE needs ALTER and DROP on the table it moves, CREATE and INSERT on the new name.
_LIVE_NEEDS = ("ALTER", "CREATE", "DROP", "INSERT")
_STATE_CHARS = 64


# --- rights ----------------------------------------------------------------------------------


def grant_pattern_matches(pattern: str, name: str) -> bool:
    """Whether a database-level grant on `pattern` covers database `name`, as the server
    decides: `%` any run of characters, `_` any one, `\\_` and `\\%` themselves. (Case
    sensitive, as database names are on Linux with lower_case_table_names=0.)"""
    regex = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            regex.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        regex.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        i += 1
    return re.fullmatch("".join(regex), name, re.DOTALL) is not None


def restore_pattern(live: str) -> str:
    """`<live>\\_\\_%`: the grant pattern covering a restore's scratch and aside databases
    (`_` escaped: in a grant it is a wildcard; as the lab grants it)."""
    escaped = live.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")
    return escaped + "\\_\\_%"


def account(user: str) -> str:
    """`repo@127.0.0.1` (CURRENT_USER()) -> `'repo'@'127.0.0.1'`, as GRANT takes it."""
    name, _, host = user.rpartition("@")
    if not _:
        name, host = user, "%"
    return f"{literal(name)}@{literal(host)}"


@dataclass(frozen=True)
class MySQLRights:
    """What the connecting user may do for a restore of database `database`."""

    user: str  # 'user'@'host' as CURRENT_USER() says (user@host)
    can_create: bool  # may CREATE <live>__restore_<run> and <live>__before_<run>
    can_drop: bool  # may DROP those (the scratch one on failure, the aside one later)
    can_alter_live: bool  # ALTER, CREATE, DROP, INSERT on the live database (RENAME TABLE)
    can_see_sessions: bool  # PROCESS: sees other users' sessions on the database
    database: str = ""  # the live database's name: what the GRANT statements name

    def problems(self, live: str | None) -> list[str]:
        """Each missing right, as 'what is missing: the fix' with the GRANT to run as an
        admin (`live` None: the live database does not exist, so its rights do not matter)."""
        name = live if live is not None else self.database
        who = account(self.user)
        pattern = ident(restore_pattern(name))
        found = []
        beside = f"{name}__restore_<run> and {name}__before_<run>"
        if not self.can_create:
            found.append(
                f"user {self.user!r} may not create the databases {beside} (a restore goes "
                f"into a new scratch database first, the old tables are moved aside): as an "
                f"admin, GRANT ALL PRIVILEGES ON {pattern}.* TO {who};"
            )
        if not self.can_drop:
            found.append(
                f"user {self.user!r} may not drop the databases {beside} (a failed restore's "
                f"scratch database, the emptied one after the swap): as an admin, "
                f"GRANT ALL PRIVILEGES ON {pattern}.* TO {who};"
            )
        if live is not None and not self.can_alter_live:
            found.append(
                f"user {self.user!r} may not move the tables of database {live!r} (the swap's "
                f"RENAME TABLE needs ALTER, CREATE, DROP and INSERT there): as an admin, "
                f"GRANT ALTER, CREATE, DROP, INSERT ON {ident(live)}.* TO {who};"
            )
        if not self.can_see_sessions:
            found.append(
                f"user {self.user!r} cannot see other users' sessions on the database (the "
                f"restore must know who still uses it): as an admin, GRANT PROCESS ON *.* "
                f"TO {who};"
            )
        return found


def _grantees(user: str, role: str | None) -> set[str]:
    """The GRANTEE values of information_schema that are this session's: the user, its
    current role (MariaDB: 'role'), PUBLIC (MariaDB 11)."""
    found = {account(user), "PUBLIC", "'PUBLIC'"}
    if role and role.upper() != "NONE":
        for one in role.split(","):
            one = one.strip().replace("`", "")
            found.add(account(one) if "@" in one else literal(one))
    return found


def rights_from(user: str, role: str | None, grants: list[Row], live: str) -> MySQLRights:
    """Rows of (grantee, schema pattern or '*', privilege) -> the rights for `live`."""
    mine = _grantees(user, role)
    global_privs = {p for g, s, p in _triples(grants) if g in mine and s == "*"}

    def on(database: str) -> set[str]:
        found = set(global_privs)
        for grantee, schema, privilege in _triples(grants):
            if grantee in mine and schema != "*" and grant_pattern_matches(schema, database):
                found.add(privilege)
        return found

    beside = [on(scratch_name(live, _ANY_RUN)), on(aside_name(live, _ANY_RUN))]
    return MySQLRights(
        user=user,
        can_create=all("CREATE" in privs for privs in beside),
        can_drop=all("DROP" in privs for privs in beside),
        can_alter_live=set(_LIVE_NEEDS) <= on(live),
        can_see_sessions=bool({"PROCESS", "SUPER"} & global_privs),
        database=live,
    )


def _triples(rows: list[Row]) -> list[tuple[str, str, str]]:
    return [(r[0] or "", r[1] or "", (r[2] or "").upper()) for r in rows]


# --- sessions ----------------------------------------------------------------------------------


def _sessions_sql(database: str) -> str:
    # COMMAND and STATE say what a session does; never INFO, the statement text, which may
    # hold data or a password (it would reach the journal and the screen).
    return (
        "SELECT 'W', ID, USER, COALESCE(HOST, ''), COMMAND, COALESCE(STATE, '') "
        f"FROM information_schema.PROCESSLIST WHERE DB = {literal(database)} "
        "AND ID <> CONNECTION_ID() ORDER BY ID;"
    )


def parse_sessions(rows: list[Row]) -> list[Session]:
    """Rows of ('W', id, user, host, command, state) -> Sessions."""
    return [
        Session(
            pid=int(r[1] or 0),
            user=r[2] or "",
            application=r[4] or "",
            client=r[3] or "",
            state=" ".join((r[5] or "").split())[:_STATE_CHARS],
        )
        for r in rows
        if r[0] == "W"
    ]


async def read_sessions(target: MySQLTarget, database: str) -> list[Session]:
    """The other sessions whose current database is `database` (all users' with PROCESS,
    else this user's own), not this client's."""
    rows = await run_sql(target, _sessions_sql(database), database="", what="reading sessions")
    return parse_sessions(rows)


# --- the server's disk ---------------------------------------------------------------------------


def is_local_server(target: MySQLTarget) -> bool:
    """True when the client reaches the server on this machine: a socket, or a loopback host."""
    return target.socket is not None or target.host in LOCAL_HOSTS


def free_bytes_of(
    target: MySQLTarget, datadir: str | None, port: str | None, hostname: str | None
) -> int | None:
    """Free bytes on the disk of `datadir`, when the server is this machine's: reached over a
    socket or a loopback host, its @@hostname this machine's (a container has its own), its
    @@port the one connected to over TCP (a forwarded port is another server), and the
    folder there. Never a guess: None otherwise."""
    if not datadir or not is_local_server(target):
        return None
    if hostname is not None and hostname != socket.gethostname():
        return None
    if target.socket is None and port is not None and port != str(target.port):
        return None
    try:
        stats = os.statvfs(Path(datadir))
    except OSError:
        return None
    return stats.f_bavail * stats.f_frsize


# --- the version ---------------------------------------------------------------------------------


def version_warning(server: ServerFacts) -> str | None:
    """A warning for a server older than Alfresco supports (MariaDB 10.6, MySQL 8.0), where
    the swap's RENAME TABLE is not crash-safe DDL; None for a supported one."""
    floor = SUPPORTED[server.flavour]
    if (server.major, server.minor) >= floor:
        return None
    product = _PRODUCT[server.flavour]
    return (
        f"the server is {product} {server.version.split('-')[0]}; Alfresco supports "
        f"MariaDB {SUPPORTED['mariadb'][0]}.{SUPPORTED['mariadb'][1]} and later and MySQL "
        f"{SUPPORTED['mysql'][0]}.{SUPPORTED['mysql'][1]} and later. Before "
        f"{product} {floor[0]}.{floor[1]}, RENAME TABLE is not crash-safe DDL: a server "
        "crash during a restore's swap can leave the live database with some tables old and "
        "some new (repair by hand from the aside and scratch databases). Upgrade the server, "
        "or keep an external backup at hand"
    )


# --- all together ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MySQLRestoreTarget:
    """What a restore needs to know of one MySQL/MariaDB database and its server."""

    server: ServerFacts
    facts: DatabaseFacts  # exists False: there is none (the restore creates it)
    sessions: list[Session]  # other sessions whose current database is it
    rights: MySQLRights
    free_bytes: int | None  # free on the server's data disk; None when unknown
    kept_aside: list[tuple[str, int | None]]  # `<name>__before_<run>` and their sizes
    version_warning: str | None  # the server is older than Alfresco supports
    # @@log_bin: every row a restore loads is written to the binary log too (and replicated)
    binary_log: bool = False


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")


def _room_sql(name: str) -> str:
    """One client run: tagged rows (V version, U user and role, P privileges, D datadir
    and whether the binary log is on, A aside databases, W sessions). CURRENT_ROLE() only
    where there are roles (MariaDB, MySQL 8): an older MySQL must still answer, to be
    warned about."""
    aside_like = literal(_like_prefix(aside_search_prefix(name)) + "%")
    return f"""
SELECT 'V', VERSION(), @@version_comment;
SELECT 'U', CURRENT_USER() /*!80000 , CURRENT_ROLE() */;
SELECT 'P', GRANTEE, '*', PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES;
SELECT 'P', GRANTEE, TABLE_SCHEMA, PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES;
SELECT 'D', @@datadir, @@port, @@hostname, @@log_bin;
SELECT 'A', s.SCHEMA_NAME,
       (SELECT COALESCE(SUM(COALESCE(t.DATA_LENGTH, 0) + COALESCE(t.INDEX_LENGTH, 0)), 0)
          FROM information_schema.TABLES t WHERE t.TABLE_SCHEMA = s.SCHEMA_NAME)
  FROM information_schema.SCHEMATA s WHERE s.SCHEMA_NAME LIKE {aside_like};
{_sessions_sql(name)}
"""


def _one(rows: list[Row], tag: str, width: int) -> Row:
    """The row tagged `tag`, padded with None to `width` (a column the server left out)."""
    row = next((r for r in rows if r[0] == tag), (tag,))
    return row + (None,) * (width - len(row))


async def restore_target(target: MySQLTarget, name: str | None = None) -> MySQLRestoreTarget:
    """All a restore preflight reads about database `name` (the target's by default) and its
    server, in two client runs at once."""
    live = target.database if name is None else name
    rows, facts = await asyncio.gather(
        run_sql(target, _room_sql(live), database="", what="reading the restore's target"),
        database_facts(target, live),
    )
    _, version, comment = _one(rows, "V", 3)
    server = parse_server(version or "", comment or "")
    _, user, role = _one(rows, "U", 3)
    rights = rights_from(user or "", role, [r[1:] for r in rows if r[0] == "P"], live)
    _, datadir, port, hostname, log_bin = _one(rows, "D", 5)
    free = await asyncio.to_thread(free_bytes_of, target, datadir, port, hostname)
    aside = sorted(
        (
            (r[1] or "", int(r[2]) if r[2] is not None and r[2].isdigit() else None)
            for r in rows
            if r[0] == "A" and is_aside_of(r[1] or "", live)
        ),
        key=lambda pair: pair[0],
    )
    return MySQLRestoreTarget(
        server=server,
        facts=facts,
        sessions=parse_sessions(rows) if facts.exists else [],
        rights=rights,
        free_bytes=free,
        kept_aside=aside,
        version_warning=version_warning(server),
        binary_log=(log_bin or "0") not in ("0", "OFF"),
    )
