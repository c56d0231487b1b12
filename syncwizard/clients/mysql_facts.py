"""What a MySQL/MariaDB database is: server version and flavour, its tables with the
row estimates and sizes of information_schema, and what a RENAME TABLE cannot move."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from syncwizard.clients.mysql_conn import MySQLTarget, Row, literal, run_sql
from syncwizard.clients.results import DatabaseFacts as ResultFacts
from syncwizard.clients.results import Session
from syncwizard.errors import SyncWizardError

Flavour = Literal["mariadb", "mysql"]


@dataclass(frozen=True)
class ServerFacts:
    version: str  # e.g. "10.11.19-MariaDB-0+deb12u1"
    flavour: Flavour
    major: int
    minor: int


@dataclass(frozen=True)
class TableFacts:
    name: str
    engine: str
    rows_estimate: int  # information_schema.TABLES.TABLE_ROWS: exact for MyISAM only
    size_bytes: int  # data and indexes


@dataclass(frozen=True)
class DatabaseFacts:
    name: str
    exists: bool
    charset: str
    collation: str
    tables: tuple[TableFacts, ...]
    views: tuple[str, ...]
    triggers: tuple[str, ...]
    routines: tuple[str, ...]

    @property
    def rows_estimate(self) -> int:
        return sum(t.rows_estimate for t in self.tables)

    @property
    def size_bytes(self) -> int:
        return sum(t.size_bytes for t in self.tables)

    @property
    def table_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tables)


_VERSION = re.compile(r"^(\d+)\.(\d+)")


def parse_server(version: str, comment: str = "") -> ServerFacts:
    """`VERSION()` (and `@@version_comment`) -> the flavour and major.minor."""
    if version.startswith("5.5.5-") and "mariadb" in version.lower():
        version = version[len("5.5.5-") :]  # the prefix old MariaDB proxies put before it
    match = _VERSION.match(version)
    if not match:
        raise SyncWizardError(
            f"cannot read the server version {version!r}",
            hint="is it a MySQL or MariaDB server?",
            system="config",
        )
    mariadb = "mariadb" in (version + " " + comment).lower()
    return ServerFacts(
        version=version,
        flavour="mariadb" if mariadb else "mysql",
        major=int(match.group(1)),
        minor=int(match.group(2)),
    )


async def server_facts(target: MySQLTarget) -> ServerFacts:
    rows = await run_sql(target, "SELECT VERSION(), @@version_comment;", what="reading the version")
    version, comment = rows[0][0] or "", rows[0][1] or ""
    return parse_server(version, comment)


def _int(value: str | None) -> int:
    return int(value) if value and value.isdigit() else 0


def parse_tables(rows: list[Row]) -> tuple[TableFacts, ...]:
    """Rows of (name, engine, table_rows, data+index length) -> TableFacts."""
    return tuple(
        TableFacts(
            name=r[0] or "", engine=r[1] or "", rows_estimate=_int(r[2]), size_bytes=_int(r[3])
        )
        for r in rows
    )


async def database_facts(target: MySQLTarget, database: str | None = None) -> DatabaseFacts:
    """The facts of `database` (the target's by default); `exists` False if there is none."""
    name = target.database if database is None else database
    schema = literal(name)
    # One client run, four answers told apart by their first column.
    statements = f"""
SELECT 'S', DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME, ''
  FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = {schema};
SELECT 'T', TABLE_NAME, ENGINE, CONCAT(COALESCE(TABLE_ROWS, 0), ' ',
       COALESCE(DATA_LENGTH, 0) + COALESCE(INDEX_LENGTH, 0))
  FROM information_schema.TABLES WHERE TABLE_SCHEMA = {schema} AND TABLE_TYPE = 'BASE TABLE'
  ORDER BY TABLE_NAME;
SELECT 'V', TABLE_NAME, '', '' FROM information_schema.VIEWS WHERE TABLE_SCHEMA = {schema};
SELECT 'G', TRIGGER_NAME, '', '' FROM information_schema.TRIGGERS
  WHERE TRIGGER_SCHEMA = {schema};
SELECT 'R', ROUTINE_NAME, '', '' FROM information_schema.ROUTINES
  WHERE ROUTINE_SCHEMA = {schema};
"""
    rows = await run_sql(target, statements, database="", what="reading the database's facts")
    return parse_database(name, rows)


def parse_database(name: str, rows: list[Row]) -> DatabaseFacts:
    schema = [r for r in rows if r[0] == "S"]
    tables = [(r[1], r[2], *(r[3] or "0 0").split(" ", 1)) for r in rows if r[0] == "T"]
    return DatabaseFacts(
        name=name,
        exists=bool(schema),
        charset=(schema[0][1] or "") if schema else "",
        collation=(schema[0][2] or "") if schema else "",
        tables=parse_tables(tables),
        views=tuple(r[1] or "" for r in rows if r[0] == "V"),
        triggers=tuple(r[1] or "" for r in rows if r[0] == "G"),
        routines=tuple(r[1] or "" for r in rows if r[0] == "R"),
    )


# --- the status screen's look ------------------------------------------------------------------

_PRODUCT = {"mariadb": "MariaDB", "mysql": "MySQL"}


def parse_sessions(rows: list[Row]) -> tuple[Session, ...]:
    """Rows of (id, user, host, command) -> the other sessions on the database."""
    return tuple(
        Session(
            pid=_int(r[0]), user=r[1] or "", application="", client=r[2] or "", state=r[3] or ""
        )
        for r in rows
    )


class MySQLProbe:
    """A MySQL/MariaDB database's facts for the status screen, as DatabaseProbe gives a
    PostgreSQL one's (each poll runs the client; there is no connection to keep)."""

    def __init__(self, target: MySQLTarget) -> None:
        self.target = target

    async def facts(self) -> ResultFacts:
        server = await server_facts(self.target)
        found = await database_facts(self.target)
        if not found.exists:
            raise SyncWizardError(
                f"there is no database {self.target.database!r} on {self.target.where}",
                hint=f"check the database name in {self.target.system}.conninfo",
                system=self.target.system,
            )
        rows = await run_sql(
            self.target,
            "SELECT ID, USER, COALESCE(HOST, ''), COMMAND FROM information_schema.PROCESSLIST "
            f"WHERE DB = {literal(self.target.database)} AND ID <> CONNECTION_ID();",
            what="reading its sessions",
        )
        return ResultFacts(
            name=found.name,
            server_version=server.version.split("-")[0],
            server_major=server.major,
            size_bytes=found.size_bytes,
            sessions=parse_sessions(rows),
            product=_PRODUCT[server.flavour],
        )

    async def aclose(self) -> None:
        return None
