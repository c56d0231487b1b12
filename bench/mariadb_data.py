"""The 1 GB Alfresco-like bench data on MariaDB: the tables and rows of
../shared/bench-data/alfresco_like.sql (PostgreSQL SQL), made by MariaDB itself.

The same three tables (alf_node_sim, alf_node_properties_sim, alf_child_assoc_sim) with
the same columns, keys and indexes, and the same values per row number: each PostgreSQL
expression is written out in MariaDB's dialect (`md5(x)::uuid::text` as the md5 split
8-4-4-4-12, `to_char(ts, ...)` as DATE_FORMAT, `a/b` on integers as DIV, `||` as CONCAT,
bool as BOOLEAN, real/float8 as FLOAT/DOUBLE). The rows come from the SEQUENCE engine's
`seq_<from>_to_<to>` tables (built into MariaDB), one INSERT ... SELECT per table, with
the secondary indexes made after the rows (as the PostgreSQL script does). Scale 0.3
(750,000 nodes, 3 M properties) is the ~1 GB bench database.

The server: the lab's MariaDB (syncwizard.lab.mariadb) on a LabLayout of its own under
/tmp/sw-bench/mariadb-lab, port 33306 (the lab uses 13306, its tests 23306 + offset),
with the memory of a small real server rather than the lab's 64 MB buffer pool (a
production MariaDB for Alfresco has GBs; with 64 MB every load would be bound by page
flushing and the wizard's own cost would hide in it). The database is built once and
kept: its COMMENT records the scale and how long the build took.

Run by hand: .venv/bin/python bench/mariadb_data.py [--scale 0.3] [--rebuild]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

from syncwizard.clients.mysql_conn import MySQLTarget, ident, literal, run_sql
from syncwizard.lab import mariadb as lab_mariadb
from syncwizard.lab.layout import LabLayout, LabPorts

BENCH_ROOT = Path("/tmp/sw-bench")
BENCH_PORTS = LabPorts(mariadb=33306)
BENCH_DB = "bench"
MARK = "syncwizard bench: alfresco_like on MariaDB"
NODES_AT_SCALE_1 = 2_500_000

# Appended to the lab's server settings for the bench (read at every start).
BENCH_SERVER_SETTINGS = """\
# the bench's: the memory of a small real server (see bench/mariadb_data.py)
innodb_buffer_pool_size=1G
innodb_log_file_size=512M
innodb_log_buffer_size=64M
max_allowed_packet=256M
"""


def layout() -> LabLayout:
    return LabLayout(BENCH_ROOT / "mariadb-lab", BENCH_PORTS)


def _patch_server_settings() -> None:
    """The lab module writes its my.cnf at every start; the bench adds its own lines."""
    original = lab_mariadb._config_text
    if getattr(original, "bench", False):
        return

    def config_text(layout: LabLayout, srv: lab_mariadb.Server) -> str:
        return original(layout, srv) + BENCH_SERVER_SETTINGS

    config_text.bench = True  # type: ignore[attr-defined]
    lab_mariadb._config_text = config_text


def ensure_server(lay: LabLayout) -> None:
    _patch_server_settings()
    lab_mariadb.ensure_server(lay)


def admin(lay: LabLayout, database: str = "") -> MySQLTarget:
    return lab_mariadb.admin_target(lay, database)


def nodes_for(scale: str) -> int:
    # PostgreSQL: (2500000 * :scale)::bigint, which rounds half away from zero.
    value = NODES_AT_SCALE_1 * float(scale)
    return int(value + 0.5)


def _uuid(expr: str) -> str:
    """PostgreSQL's md5(...)::uuid::text: the 32 hex digits as 8-4-4-4-12."""
    h = f"MD5({expr})"
    return (
        f"CONCAT_WS('-', SUBSTR({h}, 1, 8), SUBSTR({h}, 9, 4), SUBSTR({h}, 13, 4), "
        f"SUBSTR({h}, 17, 4), SUBSTR({h}, 21, 12))"
    )


def _stamp(base: str, step_seconds: int) -> str:
    """to_char(timestamp 'base' + g * interval 'N s', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')."""
    return (
        f"DATE_FORMAT(TIMESTAMP '{base} 00:00:00' + INTERVAL g * {step_seconds} SECOND, "
        "'%Y-%m-%dT%H:%i:%s.000Z')"
    )


def build_sql(nodes: int) -> str:
    """The whole build, for a database selected by the client."""
    props = 4 * nodes
    return f"""
SET SESSION sql_log_bin = 0;
SET SESSION unique_checks = 0;
DROP TABLE IF EXISTS alf_node_sim, alf_node_properties_sim, alf_child_assoc_sim;
CREATE TABLE alf_node_sim (id bigint PRIMARY KEY, version bigint, store_id bigint,
  uuid varchar(36), transaction_id bigint, type_qname_id bigint, locale_id bigint,
  acl_id bigint, audit_creator varchar(255), audit_created varchar(30),
  audit_modifier varchar(255), audit_modified varchar(30)) ENGINE=InnoDB;
INSERT INTO alf_node_sim
SELECT g, g % 7, 6, {_uuid("g")}, g DIV 50, 20 + g % 60, 1, g % 5000,
  CONCAT('user', g % 997), {_stamp("2015-01-01", 37)},
  CONCAT('user', g % 991), {_stamp("2016-01-01", 41)}
FROM (SELECT seq AS g FROM seq_1_to_{nodes}) s;
CREATE INDEX alf_node_sim_uuid_idx ON alf_node_sim (uuid);
CREATE INDEX alf_node_sim_transaction_id_idx ON alf_node_sim (transaction_id);
CREATE TABLE alf_node_properties_sim (node_id bigint, qname_id bigint, locale_id bigint,
  list_index int, actual_type_n int, persisted_type_n int, boolean_value boolean,
  long_value bigint, float_value float, double_value double, string_value varchar(1024),
  PRIMARY KEY (node_id, qname_id, list_index, locale_id)) ENGINE=InnoDB;
INSERT INTO alf_node_properties_sim
SELECT g DIV 4 + 1, 30 + g % 4, 1, 0, 6, 6, false, (g * 2654435761) % 1000003, 0, 0,
  CASE g % 4
    WHEN 0 THEN CONCAT('contentUrl=store://', LPAD(2015 + g % 9, 4, '0'), '/', g % 12 + 1,
      '/', g % 28 + 1, '/', {_uuid("g")}, '.bin|mimetype=application/pdf|size=',
      g * 37 % 9000000, '|encoding=UTF-8|locale=en_US_')
    WHEN 1 THEN CONCAT('Document ', g, ' ', SUBSTR(MD5(g * 7), 1, 20), '.pdf')
    WHEN 2 THEN CONCAT('workspace://SpacesStore/', {_uuid("g + 11")})
    ELSE CONCAT('Description of item ', g, ' created by user', g % 997, ' in site site',
      g % 313)
  END
FROM (SELECT seq AS g FROM seq_0_to_{props - 1}) s;
CREATE INDEX alf_node_properties_sim_persisted_type_n_long_value_idx
  ON alf_node_properties_sim (persisted_type_n, long_value);
CREATE TABLE alf_child_assoc_sim (id bigint PRIMARY KEY, version bigint,
  parent_node_id bigint, type_qname_id bigint, child_node_name_crc bigint,
  child_node_name varchar(50), child_node_id bigint, qname_ns_id bigint,
  qname_localname varchar(255), qname_crc bigint, is_primary boolean,
  assoc_index int) ENGINE=InnoDB;
INSERT INTO alf_child_assoc_sim
SELECT g, 1, g DIV 20, 33, (g * 40503) % 4294967291, CONCAT(SUBSTR(MD5(g), 1, 12), '.pdf'),
  g, 6, CONCAT('cm_', SUBSTR(MD5(g * 3), 1, 16)), (g * 7919) % 4294967291, true, -1
FROM (SELECT seq AS g FROM seq_1_to_{nodes}) s;
CREATE INDEX alf_child_assoc_sim_parent_node_id_type_qname_id_idx
  ON alf_child_assoc_sim (parent_node_id, type_qname_id);
CREATE INDEX alf_child_assoc_sim_child_node_id_idx ON alf_child_assoc_sim (child_node_id);
ANALYZE TABLE alf_node_sim, alf_node_properties_sim, alf_child_assoc_sim;
"""


@dataclass(frozen=True)
class BenchDb:
    database: str
    size_bytes: int  # data + indexes, information_schema's
    build_seconds: float
    built_now: bool
    rows: dict[str, int]  # exact, per table


async def _recorded_build(lay: LabLayout, scale: str) -> float | None:
    rows = await run_sql(
        admin(lay),
        "SELECT SCHEMA_COMMENT FROM information_schema.SCHEMATA "
        f"WHERE SCHEMA_NAME = {literal(BENCH_DB)};",
    )
    comment = rows[0][0] if rows else None
    if not comment or not comment.startswith(f"{MARK} scale={scale} "):
        return None
    return float(comment.rsplit("built_in=", 1)[1].rstrip("s"))


async def _build(lay: LabLayout, scale: str) -> float:
    nodes = nodes_for(scale)
    print(f"building the MariaDB bench DB (scale {scale}, {nodes:,} nodes) ...", flush=True)
    started = time.perf_counter()
    await run_sql(
        admin(lay),
        f"DROP DATABASE IF EXISTS {ident(BENCH_DB)};\n"
        f"CREATE DATABASE {ident(BENCH_DB)} CHARACTER SET utf8mb4;",
        timeout=0,
    )
    await run_sql(admin(lay, BENCH_DB), build_sql(nodes), timeout=0, what="building the data")
    seconds = time.perf_counter() - started
    comment = f"{MARK} scale={scale} built_in={seconds:.1f}s"
    await run_sql(admin(lay), f"ALTER DATABASE {ident(BENCH_DB)} COMMENT {literal(comment)};")
    return seconds


async def _facts(lay: LabLayout) -> tuple[int, dict[str, int]]:
    size = await run_sql(
        admin(lay),
        "SELECT SUM(DATA_LENGTH + INDEX_LENGTH) FROM information_schema.TABLES "
        f"WHERE TABLE_SCHEMA = {literal(BENCH_DB)};",
    )
    rows: dict[str, int] = {}
    for table in ("alf_node_sim", "alf_node_properties_sim", "alf_child_assoc_sim"):
        found = await run_sql(
            admin(lay),
            f"SELECT COUNT(*) FROM {ident(BENCH_DB)}.{ident(table)};",
            timeout=0,
        )
        rows[table] = int(found[0][0] or 0)
    return int(size[0][0] or 0), rows


async def ensure_bench_db(lay: LabLayout, scale: str, *, rebuild: bool = False) -> BenchDb:
    """The bench database at this scale: kept from an earlier run, else built now."""
    recorded = None if rebuild else await _recorded_build(lay, scale)
    built_now = recorded is None
    if recorded is None:
        recorded = await _build(lay, scale)
    size, rows = await _facts(lay)
    return BenchDb(BENCH_DB, size, recorded, built_now, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="0.3", help="as alfresco_like.sql (0.3: ~1 GB)")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--stop", action="store_true", help="stop the server at the end")
    args = parser.parse_args()
    lay = layout()
    ensure_server(lay)
    try:
        db = asyncio.run(ensure_bench_db(lay, args.scale, rebuild=args.rebuild))
        how = "built now in" if db.built_now else "reused; its build took"
        print(
            f"bench DB {db.database!r}: {db.size_bytes / 1e9:.2f} GB (data + indexes), "
            f"{how} {db.build_seconds:.0f} s; rows {db.rows}"
        )
    finally:
        if args.stop:
            lab_mariadb.stop(lay)


if __name__ == "__main__":
    main()
