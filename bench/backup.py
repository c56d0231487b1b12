"""Repository DB backup: pg_dump variants for the default, the server's floor, the budget.

1. A `bench` database of >= 1 GB (../shared/bench-data/alfresco_like.sql,
   `-v scale=0.3`) in a lab cluster of its own on port 35432, built once (the
   database's comment records the scale and how long the build took).
2. The pg_dump variants (format, jobs, compression) timed bare, and the floor:
   server-side `COPY <table> TO '/dev/null'` summed over the tables; min /
   median / max over --rounds, round-robin, warm cache. Aim: default <= 1.5x floor.
3. The budget (bench/dump_budget.py): the backup runbook's repository dump
   (`snapshot_dump.dump_in_snapshot`), the bare runner (`pgtools.run_pg_dump`) and
   bare pg_dump with the same options, alternating; median ratio <= 1.05x.
Every run also reports the cores other jobs kept busy meanwhile (the machine is
shared): disturbed runs can be run again (--calm-below, --retries).

Run by hand: .venv/bin/python bench/backup.py [--rounds 3] [--skip-variants] [--remove]
(on a shared machine add e.g. --quiet-idle 0.85 --calm-below 0.15 --retries 3)
The cluster stays up for the next run unless --remove is given.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from dump_budget import DumpSettings, measure_budget, print_budget, print_every
from dump_variants import VARIANTS, Context, CpuMeter, Timings, measure, select, wait_for_quiet
from psycopg import sql

from syncwizard import units
from syncwizard.clients import pgtools
from syncwizard.lab import postgres as lab_pg
from syncwizard.lab.layout import LabLayout, LabPorts

BENCH_ROOT = Path("/tmp/sw-bench")
BENCH_PORTS = LabPorts(postgres=35432, openwire=31616, stomp=31613, jolokia=38161, standin=39090)
BENCH_DB = "bench"
DATA_SQL = Path(__file__).resolve().parents[2] / "shared" / "bench-data" / "alfresco_like.sql"
MARK = "syncwizard bench: alfresco_like.sql"
FLOOR_AIM = 1.5


# --- the bench database --------------------------------------------------------------------


@dataclass(frozen=True)
class BenchDb:
    conninfo: str  # the superuser over the cluster's unix socket, dbname=bench
    size_bytes: int
    build_seconds: float  # how long the build took (now, or when it was built)
    built_now: bool
    tables: tuple[str, ...]  # user tables, largest first


def _recorded_build(comment: str | None, scale: str) -> float | None:
    """The build time the DB's comment records for this scale; None: not a finished build."""
    if not comment or not comment.startswith(f"{MARK} scale={scale} "):
        return None
    return float(comment.rsplit("built_in=", 1)[1].rstrip("s"))


def _build(conninfo: str, scale: str, data_sql: Path) -> float:
    print(f"building the bench DB (scale {scale}) from {data_sql}: a few minutes ...", flush=True)
    started = time.perf_counter()
    subprocess.run(
        [
            str(lab_pg.bin_dir() / "psql"),
            *("-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", f"scale={scale}"),
            *("-d", conninfo, "-f", str(data_sql)),
        ],
        check=True,
        env={**os.environ, "PGOPTIONS": "-c client_min_messages=warning"},
    )
    return time.perf_counter() - started


def ensure_bench_db(layout: LabLayout, scale: str, data_sql: Path = DATA_SQL) -> BenchDb:
    """Start the bench cluster (creating it once); build the bench DB unless it is built."""
    lab_pg.ensure_cluster(layout)
    admin_info = lab_pg.superuser_conninfo(layout)
    conninfo = lab_pg.superuser_conninfo(layout, BENCH_DB)
    with psycopg.connect(admin_info, autocommit=True) as admin:
        row = admin.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            (BENCH_DB,),
        ).fetchone()
        if row is None:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(BENCH_DB)))
        recorded = _recorded_build(row[0] if row else None, scale)
        built_now = recorded is None
        if recorded is None:
            recorded = _build(conninfo, scale, data_sql)
            comment = f"{MARK} scale={scale} built_in={recorded:.1f}s"
            admin.execute(
                sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                    sql.Identifier(BENCH_DB), sql.Literal(comment)
                )
            )
    with psycopg.connect(conninfo) as conn:
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]  # type: ignore[index]
        tables = tuple(
            name
            for (name,) in conn.execute(
                "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
                " ORDER BY pg_relation_size(c.oid) DESC"
            )
        )
    return BenchDb(conninfo, size, recorded, built_now, tables)


# --- the report ----------------------------------------------------------------------------


def print_variants(timings: list[Timings], default_name: str) -> None:
    floor = timings[0].median
    print(
        f"\n  {'variant':38s} {'s min / median /    max':26s} {'size':>9s}  {'cpu':>8s}"
        "  others  x floor"
    )
    for timing in timings:
        print(f"  {timing.name:38s} {timing.summary()}  {timing.median / floor:5.2f}")
    print(
        "  (cpu: pg_dump's and a compressor's, median, the server's not counted; others: cores"
        " other jobs on the machine kept busy meanwhile, median)"
    )
    chosen = next((t for t in timings if t.name == default_name), None)
    if chosen is None:
        return
    aim = chosen.median / floor
    print(
        f"default {default_name}: {chosen.median:.1f} s = {aim:.2f}x the floor "
        f"(aim <= {FLOOR_AIM}x) -> {'within' if aim <= FLOOR_AIM else 'OVER'}"
    )


def parse_settings(text: str) -> DumpSettings:
    """`directory:2:1` -> format, jobs, compression (`-` for pg_dump's default)."""
    fmt, jobs, compress = text.split(":")
    if fmt not in ("directory", "custom"):
        raise argparse.ArgumentTypeError(f"format must be directory or custom, not {fmt!r}")
    return DumpSettings(fmt, int(jobs), None if compress == "-" else compress)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="0.3", help="alfresco_like.sql scale (0.3: ~1.1 GB)")
    parser.add_argument("--rounds", type=int, default=3, help="runs per variant, round-robin")
    parser.add_argument("--budget-rounds", type=int, default=3)
    parser.add_argument(
        "--budget-settings",
        type=parse_settings,
        default=parse_settings("directory:2:1"),
        help="format:jobs:compression of the budget runs (default directory:2:1)",
    )
    parser.add_argument("--default", default="-Fd -j2 -Z1", help="the variant to hold to the aim")
    parser.add_argument(
        "--variant", action="append", default=[], help="only this variant (repeat; the floor runs)"
    )
    parser.add_argument(
        "--quiet-idle",
        type=float,
        default=0.0,
        help="before each run, wait (up to --quiet-wait s) until the CPUs are this idle, 0..1",
    )
    parser.add_argument("--quiet-wait", type=float, default=120.0)
    parser.add_argument(
        "--calm-below",
        type=float,
        default=0.15,
        help="a run is calm when other jobs used fewer cores than this (a round: both runs)",
    )
    parser.add_argument(
        "--retries", type=int, default=0, help="run a disturbed run (or budget round) again"
    )
    parser.add_argument("--skip-variants", action="store_true")
    parser.add_argument("--skip-budget", action="store_true")
    parser.add_argument("--remove", action="store_true", help="remove the bench cluster at the end")
    args = parser.parse_args()

    layout = LabLayout(BENCH_ROOT / "lab", BENCH_PORTS)
    scratch = BENCH_ROOT / "out"
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        db = ensure_bench_db(layout, args.scale)
        how = "built now in" if db.built_now else "reused; its build took"
        print(
            f"bench DB: {units.size(db.size_bytes)}, scale {args.scale}, {how} "
            f"{db.build_seconds:.0f} s; tables {', '.join(db.tables)}"
        )
        pg_dump = pgtools.tool_path("pg_dump")
        version = subprocess.run([pg_dump, "--version"], capture_output=True, text=True).stdout
        print(f"machine: {os.cpu_count()} CPUs; {version.strip()}; {db.conninfo}")
        postmaster = int(
            (lab_pg.cluster(layout).data_dir / "postmaster.pid").read_text().split()[0]
        )
        ctx = Context(pg_dump, db.conninfo, db.tables, scratch, CpuMeter(postmaster))
        VARIANTS[0].run(ctx)  # warm-up: every table's pages into the cache

        def settle() -> str:
            if args.quiet_idle <= 0:
                return ""
            share = wait_for_quiet(args.quiet_idle, args.quiet_wait)
            return f"  (idle before: {share:.0%})"

        if not args.skip_variants:
            print(f"\nvariants, {args.rounds} rounds:", flush=True)
            variants = select(VARIANTS, args.variant)
            timings = measure(
                variants,
                ctx,
                args.rounds,
                lambda line: print(line, flush=True),
                settle,
                args.calm_below,
                args.retries,
            )
            print_variants(timings, args.default)
        if not args.skip_budget:
            print(f"\nbudget, {args.budget_rounds} rounds:", flush=True)
            settings = args.budget_settings
            kept, every = measure_budget(
                ctx, settings, args.budget_rounds, settle, args.calm_below, args.retries
            )
            print_budget(settings, kept, args.calm_below)
            print_every(kept, every, args.calm_below)
    finally:
        if args.remove:
            lab_pg.remove_cluster(layout)
            print(f"removed the bench cluster ({layout.root})")


if __name__ == "__main__":
    main()
