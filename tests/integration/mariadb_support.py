"""Helpers of the MariaDB tests: a journal kept in a file (as the runbook journal keeps a
step's records), the lab admin's statements, and a table big enough to take seconds."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syncwizard.clients import mysql_dump
from syncwizard.clients.mysql_conn import MySQLTarget, ident, run_sql
from syncwizard.clients.mysql_rows import read_dump
from syncwizard.lab import mariadb
from syncwizard.lab.layout import LabLayout


class FileJournal:
    """Records in a JSON file, written atomically and fsynced at once (a kill -9 keeps them)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def records(self) -> Mapping[str, Mapping[str, Any]]:
        try:
            data: dict[str, dict[str, Any]] = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return data

    def record(self, name: str, data: Mapping[str, Any]) -> None:
        records = dict(self.records())
        records[name] = dict(data)
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as handle:
            json.dump(records, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)


@dataclass(frozen=True)
class Dumped:
    """A dump taken by the wizard's dump, with its exact rows read back as the backup
    step reads them (`mysql_rows.read_dump`)."""

    path: Path
    size_bytes: int
    row_counts: dict[str, int]


async def dump_of(target: MySQLTarget, path: Path) -> Dumped:
    result = await mysql_dump.dump(target, path)
    return Dumped(result.path, result.size_bytes, read_dump(result.path).counts)


def admin(layout: LabLayout, database: str = "") -> MySQLTarget:
    return mariadb.admin_target(layout, database)


async def sql(layout: LabLayout, statements: str) -> list[tuple[str | None, ...]]:
    return await run_sql(admin(layout), statements, database="", timeout=0)


async def counts(layout: LabLayout, database: str) -> dict[str, int]:
    """Exact rows of every base table of `database` ({} if it does not exist)."""
    tables = await sql(
        layout,
        "SELECT TABLE_NAME FROM information_schema.TABLES "
        f"WHERE TABLE_SCHEMA = '{database}' AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1;",
    )
    found: dict[str, int] = {}
    for (name,) in tables:
        assert name is not None
        rows = await sql(layout, f"SELECT COUNT(*) FROM {ident(database)}.{ident(name)};")
        found[name] = int(rows[0][0] or 0)
    return found


async def fresh_database(layout: LabLayout, name: str, *, bulk_rows: int = 0) -> None:
    """A database `name` with a small table, a child table with a foreign key and, with
    `bulk_rows`, a table of that many ~200-byte rows (seconds to dump and load)."""
    await sql(layout, f"DROP DATABASE IF EXISTS {ident(name)}; CREATE DATABASE {ident(name)};")
    statements = f"""
USE {ident(name)};
CREATE TABLE parent (id int PRIMARY KEY, label varchar(64)) ENGINE=InnoDB;
CREATE TABLE child (id int PRIMARY KEY, parent_id int NOT NULL,
                    note text, FOREIGN KEY (parent_id) REFERENCES parent (id)) ENGINE=InnoDB;
INSERT INTO parent VALUES (1, 'one'), (2, 'two (2), with ''quotes''; and ;'), (3, 'three\\\\');
INSERT INTO child VALUES (1, 1, 'a),(b'), (2, 2, NULL), (3, 2, 'x\\ny');
CREATE TABLE empty_one (id int PRIMARY KEY) ENGINE=InnoDB;
"""
    if bulk_rows:
        statements += f"""
SET SESSION max_recursive_iterations = {bulk_rows + 10};
CREATE TABLE bulk (id int PRIMARY KEY, filler varchar(255)) ENGINE=InnoDB;
INSERT INTO bulk
WITH RECURSIVE s (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {bulk_rows})
SELECT n, REPEAT(CHAR(97 + n % 26), 200) FROM s;
"""
    await sql(layout, statements)


def run(coro: Any) -> Any:
    return asyncio.run(coro)
