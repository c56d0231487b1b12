"""The dump step's exact row counts against the lab PostgreSQL (runbook/backup/snapshot_dump.py).

A directory dump's rows are counted in the data files pg_dump writes (data_files.py, which
also compresses them), not by a second scan on the server; a custom-format dump's with
count(*) in the snapshot. Either way a table's count is what the server counts in the
dump's snapshot, for tables that test the one-line-per-row rule: values holding newlines,
tabs, backslashes and a lone `\\.`, NULLs, a table without columns, empty tables, an
unlogged table, a partition, inheritance, names with spaces and quotes. And pg_restore
reads what the wizard compressed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from syncwizard.clients import pgtools
from syncwizard.clients.pgtools import DumpFormat
from syncwizard.lab import postgres as lab
from syncwizard.lab.layout import LabLayout
from syncwizard.runbook import backupset
from syncwizard.runbook.backup import data_files
from syncwizard.runbook.backup.snapshot_dump import DumpPlan, dump_in_snapshot

pytestmark = pytest.mark.integration

DB = "sw_dump_rows"
TABLES = '''
CREATE TABLE empty_t (id int);
CREATE TABLE tricky (id int, t text);
INSERT INTO tricky VALUES (1, E'line1\\nline2\\r\\\\back\\tslash'), (2, '\\.'),
    (3, E'\\\\.\\n\\\\.'), (4, NULL), (5, ''), (6, E'\\n\\n\\n');
CREATE TABLE many AS SELECT g AS id, repeat('x', g % 50) || E'\\n' AS t
    FROM generate_series(1, 60000) g;
CREATE TABLE nocols ();
INSERT INTO nocols DEFAULT VALUES; INSERT INTO nocols DEFAULT VALUES;
CREATE SCHEMA "odd schema";
CREATE TABLE "odd schema"."a ""table""" (x int);
INSERT INTO "odd schema"."a ""table""" VALUES (1), (2);
CREATE UNLOGGED TABLE unlogged_t (x int);
INSERT INTO unlogged_t VALUES (1);
CREATE TABLE parent (x int) PARTITION BY RANGE (x);
CREATE TABLE part1 PARTITION OF parent FOR VALUES FROM (0) TO (10);
INSERT INTO parent VALUES (1), (2), (3);
CREATE TABLE inh_p (x int);
CREATE TABLE inh_c () INHERITS (inh_p);
INSERT INTO inh_p VALUES (1); INSERT INTO inh_c VALUES (2), (3);
CREATE MATERIALIZED VIEW mv AS SELECT 1 AS x;
SELECT lo_from_bytea(0, 'a large object');
'''


class Context:
    """The engine's side of a step, as the dump needs it."""

    run_id = "rows"
    results: Mapping[str, Any] = {}
    rechecking = False

    def __init__(self) -> None:
        self.logs: list[str] = []

    def records_of(self, step_id: str) -> Mapping[str, Mapping[str, Any]]:
        return {}

    def step_times(self) -> Mapping[str, tuple[float, float | None]]:
        return {}

    def progress(self, message: str, detail: object = None) -> None:
        pass

    def log(self, line: str) -> None:
        self.logs.append(line)

    def record(self, name: str, data: Mapping[str, Any]) -> None:
        pass


def admin(layout: LabLayout, dbname: str = "postgres") -> psycopg.Connection:
    return psycopg.connect(lab.superuser_conninfo(layout, dbname), autocommit=True)


def admin_conn(conninfo: str) -> psycopg.Connection:
    return psycopg.connect(conninfo, autocommit=True)


@pytest.fixture(scope="module")
def tricky_db(pg_lab: LabLayout) -> Iterator[str]:
    with admin(pg_lab) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DB)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DB)))
    with admin(pg_lab, DB) as conn:
        conn.execute(TABLES)
    try:
        yield lab.superuser_conninfo(pg_lab, DB)
    finally:
        with admin(pg_lab) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(DB)))


def server_counts(conninfo: str) -> dict[str, int]:
    with psycopg.connect(conninfo) as conn:
        tables = conn.execute(
            "SELECT n.nspname, c.relname FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r'"
            " AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
            " ORDER BY 1, 2"
        ).fetchall()
        counts = {}
        for schema, name in tables:
            query = sql.SQL("SELECT count(*) FROM ONLY {}").format(sql.Identifier(schema, name))
            counts[f"{schema}.{name}"] = conn.execute(query).fetchone()[0]  # type: ignore[index]
        return counts


def scans(conninfo: str, tables: set[str]) -> dict[str, int]:
    """Each table's scans so far, sequential and by index, as the server tallies them."""
    with psycopg.connect(conninfo, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT schemaname || '.' || relname, seq_scan + coalesce(idx_scan, 0)"
            " FROM pg_stat_user_tables"
        ).fetchall()
        return {name: int(n) for name, n in rows if name in tables}


async def settled_scans(conninfo: str, tables: set[str]) -> dict[str, int]:
    """The tallies once they stop changing: a session's scans reach them when it ends."""
    deadline = time.monotonic() + 15
    last = scans(conninfo, tables)
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        if (now := scans(conninfo, tables)) == last:
            return now
        last = now
    pytest.fail("the server's scan tallies kept changing")


def plan_for(conninfo: str, out: Path, fmt: DumpFormat, compress: str) -> DumpPlan:
    return DumpPlan(
        role="repository_db",
        roles=("repository_db",),
        conninfo=conninfo,
        passfile=None,
        out_path=out,
        fmt=fmt,
        jobs=2,
        compress=compress,
    )


@pytest.mark.parametrize(("fmt", "compress"), [("directory", "1"), ("directory", "0")])
async def test_a_directory_dump_counts_every_tables_rows_in_its_data_files_exactly(
    tricky_db: str, tmp_path: Path, fmt: DumpFormat, compress: str
) -> None:
    expected = server_counts(tricky_db)
    assert expected["public.tricky"] == 6 and expected['odd schema.a "table"'] == 2
    before = await settled_scans(tricky_db, set(expected))
    ctx = Context()
    dump = await dump_in_snapshot(plan_for(tricky_db, tmp_path / "d.dump", fmt, compress), ctx)

    assert dump["row_counts"] == expected
    assert not [line for line in ctx.logs if "in the snapshot" in line]  # no count(*) needed
    suffix = ".dat.gz" if compress != "0" else ".dat"
    toc = await backupset.list_archive(tmp_path / "d.dump")
    data_files = {p.name for p in (tmp_path / "d.dump").iterdir() if p.name[0].isdigit()}
    assert data_files == {f"{dump_id}{suffix}" for dump_id in toc.data_ids}
    # pg_dump's COPY is the only scan of each table: the server did not count the rows
    after = await settled_scans(tricky_db, set(expected))
    assert {t: after[t] - before[t] for t in expected} == dict.fromkeys(expected, 1)


async def test_a_custom_format_dump_counts_rows_in_the_snapshot(
    tricky_db: str, tmp_path: Path
) -> None:
    ctx = Context()
    dump = await dump_in_snapshot(plan_for(tricky_db, tmp_path / "c.dump", "custom", "1"), ctx)
    assert dump["row_counts"] == server_counts(tricky_db)


async def test_the_counts_are_of_the_dumps_snapshot_while_rows_are_added_beside_it(
    tricky_db: str, tmp_path: Path
) -> None:
    expected = server_counts(tricky_db)

    async def add_rows(t0: float) -> dict[str, Any]:  # committed while pg_dump runs
        with admin_conn(tricky_db) as conn:
            conn.execute("INSERT INTO many SELECT g, 'late' FROM generate_series(1, 500) g")
            conn.execute("INSERT INTO empty_t VALUES (1)")
        return {}

    plan = plan_for(tricky_db, tmp_path / "d.dump", "directory", "1")
    try:
        dump = await dump_in_snapshot(plan, Context(), at_snapshot=add_rows)
    finally:
        with admin_conn(tricky_db) as conn:
            conn.execute("DELETE FROM many WHERE t = 'late'")
            conn.execute("DELETE FROM empty_t")
    assert dump["row_counts"] == expected


async def test_a_data_file_that_cannot_be_counted_is_counted_in_the_snapshot_instead(
    tricky_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = server_counts(tricky_db)
    real_rows = data_files._DataFile.rows

    def not_for_many(self: data_files._DataFile) -> int | None:
        rows = real_rows(self)
        return None if rows == expected["public.many"] else rows

    monkeypatch.setattr(data_files._DataFile, "rows", not_for_many)
    ctx = Context()
    plan = plan_for(tricky_db, tmp_path / "d.dump", "directory", "1")
    dump = await dump_in_snapshot(plan, ctx)
    assert dump["row_counts"] == expected
    assert any("does not end as pg_dump ends a table's data" in line for line in ctx.logs)
    assert any("1 table(s) without a counted data file" in line for line in ctx.logs)
    assert any("public.many" in line for line in ctx.logs)


async def test_pg_restore_reads_the_data_files_the_wizard_compressed(
    tricky_db: str, tmp_path: Path, pg_lab: LabLayout
) -> None:
    plan = plan_for(tricky_db, tmp_path / "d.dump", "directory", "1")
    dump = await dump_in_snapshot(plan, Context())
    assert dump["compressed_by"] == "syncwizard (ISA-L gzip level 1)"
    plain = {p.name for p in (tmp_path / "d.dump").glob("*.dat")}
    assert plain == {"toc.dat"}  # and the gzips
    back = DB + "_back"
    with admin(pg_lab) as conn:
        name = sql.Identifier(back)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
    try:
        await pgtools.run_pg_restore(lab.superuser_conninfo(pg_lab, back), tmp_path / "d.dump")
        assert server_counts(lab.superuser_conninfo(pg_lab, back)) == dump["row_counts"]
        with admin(pg_lab, back) as conn:
            tricky = conn.execute("SELECT id, t FROM tricky ORDER BY id").fetchall()
            large = conn.execute("SELECT lo_get(oid) FROM pg_largeobject_metadata").fetchall()
        with admin_conn(tricky_db) as conn:
            assert tricky == conn.execute("SELECT id, t FROM tricky ORDER BY id").fetchall()
        assert large == [(b"a large object",)]
    finally:
        with admin(pg_lab) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(back)))
