"""Repository DB restore: the wizard's restore steps against bare pg_restore, same options.

1. The >= 1 GB `bench` database of bench/backup.py (its cluster on port 35432, built once),
   dumped once with the backup default (`-Fd -j2 -Z1`) to /tmp/sw-bench/out/restore-src.dump,
   with exact row counts per table (the manifest's `row_counts`).
2. Two contenders, alternating (the order swaps each round), each into a fresh database:
   - wizard: `database.restore_into_scratch` (create the scratch DB like the live one,
     pg_restore --jobs=2 through `pgtools.PgRestore` with progress polling, exact count(*)
     of every table against the manifest, each table counted as soon as its data is in)
     + `database.swap` (end sessions, rename live aside and scratch into place in one
     transaction). The live database is an empty `rbench_live` made before the clock starts.
   - bare: CREATE DATABASE, then `pg_restore --jobs=2 --exit-on-error` into it.
   A CHECKPOINT before each run; the databases are dropped after it. Median of --rounds;
   budget: wizard <= 1.05x bare.

Run by hand: .venv/bin/python bench/restore.py [--rounds 3] [--calm-below 0.15 --retries 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

import psycopg
from backup import BENCH_PORTS, BENCH_ROOT, ensure_bench_db
from dump_variants import CpuMeter, children_cpu, remove
from psycopg import sql

from syncwizard import units
from syncwizard.clients import pgtools
from syncwizard.clients.results import Progress
from syncwizard.lab import postgres as lab_pg
from syncwizard.lab.layout import LabLayout
from syncwizard.runbook.restore import database

BUDGET = 1.05
JOBS = 2
LIVE = "rbench_live"
BARE = "rbench_bare"


class Shared(TypedDict):
    """What the steps hand on: each step's results, and the records each step journaled."""

    results: dict[str, Any]
    records: dict[str, dict[str, dict[str, Any]]]


class BenchStepContext:
    """The engine's side of a step: records journaled (a JSON line, fsynced, as the
    engine does) and kept for the next step, results handed on, progress counted."""

    rechecking = False

    def __init__(self, run_id: str, step_id: str, journal: Path, shared: Shared) -> None:
        self.run_id = run_id
        self.step_id = step_id
        self.journal = journal
        self.shared = shared
        self.reports = 0
        self.phases: list[str] = []
        self.restored_at = 0.0  # when pg_restore reported "done": verification follows

    @property
    def results(self) -> Mapping[str, Any]:
        return self.shared["results"]

    def records_of(self, step_id: str) -> Mapping[str, Mapping[str, Any]]:
        return self.shared["records"].get(step_id, {})

    def step_times(self) -> Mapping[str, tuple[float, float | None]]:
        return {}

    def progress(self, message: str, detail: object = None) -> None:
        self.reports += 1
        if isinstance(detail, Progress) and detail.phase not in self.phases[-1:]:
            self.phases.append(detail.phase)
        if isinstance(detail, Progress) and detail.phase == "done":
            self.restored_at = time.perf_counter()

    def log(self, line: str) -> None:
        pass

    def record(self, name: str, data: Mapping[str, Any]) -> None:
        self.shared["records"].setdefault(self.step_id, {})[name] = dict(data)
        with self.journal.open("a", encoding="utf-8") as journal:
            journal.write(json.dumps({"record": name, "data": dict(data)}) + "\n")
            journal.flush()
            os.fsync(journal.fileno())


@dataclass
class Run:
    seconds: float
    others: float  # cores other jobs kept busy meanwhile
    cpu: float = 0.0  # CPU seconds of pg_restore, the bench server and this process
    verify: float = 0.0  # wizard: from pg_restore's end to the restore step's end (counts)
    swap: float = 0.0  # wizard: the swap step
    reports: int = 0


def make_source_dump(conninfo: str, out: Path, tables: tuple[str, ...]) -> dict[str, int]:
    """The bench DB dumped as the backup's default, once; its exact row counts."""
    counts_file = out.with_name(out.name + ".counts.json")
    if out.exists() and counts_file.exists():
        known: dict[str, int] = json.loads(counts_file.read_text())
        return known
    remove(out)
    print(f"dumping the bench DB to {out} (-Fd -j2 -Z1) ...", flush=True)
    subprocess.run(
        [str(pgtools.tool_path("pg_dump")), "-Fd", "-j2", "-Z1", "-f", str(out), "-d", conninfo],
        check=True,
    )
    with psycopg.connect(conninfo) as conn:
        counts = {
            table: conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.SQL(table))
            ).fetchone()[0]  # type: ignore[index]
            for table in tables
        }
    counts_file.write_text(json.dumps(counts))
    return counts


def admin_exec(admin_info: str, *statements: str) -> None:
    with psycopg.connect(admin_info, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def drop_all(admin_info: str) -> None:
    with psycopg.connect(admin_info, autocommit=True) as conn:
        names = [
            row[0]
            for row in conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE 'rbench\\_%'"
            )
        ]
        for name in names:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def wizard_restore(
    admin_info: str, meter: CpuMeter, dump: Path, counts: dict[str, int], round_no: int
) -> Run:
    run_id = f"restore-bench{round_no}x{time.time_ns() % 10**6}"
    plan = database.RestorePlan.for_dump(
        role="repository_db",
        conninfo=lab_pg_conninfo(admin_info, LIVE),
        passfile=None,
        set_dir=dump.parent,
        dump={
            "path": dump.name,
            "roles": ["repository_db"],
            "format": "directory",
            "tool_major": 15,
            "row_counts": counts,
        },
        run_id=run_id,
        jobs=JOBS,
    )
    admin_exec(admin_info, f"CREATE DATABASE {LIVE}", "CHECKPOINT")
    journal = dump.parent / "restore-bench-journal.jsonl"
    shared: Shared = {"results": {}, "records": {}}
    restore_ctx = BenchStepContext(run_id, plan.restore_step, journal, shared)
    swap_ctx = BenchStepContext(run_id, plan.swap_step, journal, shared)
    marks: dict[str, float] = {}

    async def both() -> None:
        outputs = await database.restore_into_scratch(plan, restore_ctx)
        marks["restored"] = time.perf_counter()
        shared["results"][plan.restore_step] = outputs
        await database.swap(plan, swap_ctx)

    cpu0 = time.process_time() + children_cpu() + meter.server()
    started = time.perf_counter()
    seconds, others = meter.measure(lambda: asyncio.run(both()))
    cpu = time.process_time() + children_cpu() + meter.server() - cpu0
    ended = started + seconds
    journal.unlink(missing_ok=True)
    drop_all(admin_info)
    return Run(
        seconds=seconds,
        others=others,
        cpu=cpu,
        verify=marks["restored"] - restore_ctx.restored_at,
        swap=ended - marks["restored"],
        reports=restore_ctx.reports,
    )


def lab_pg_conninfo(admin_info: str, dbname: str) -> str:
    return psycopg.conninfo.make_conninfo(admin_info, dbname=dbname)


def bare_restore(admin_info: str, meter: CpuMeter, dump: Path) -> Run:
    admin_exec(admin_info, "CHECKPOINT")
    argv = [
        str(pgtools.tool_path("pg_restore")),
        "--no-password",
        "--exit-on-error",
        f"--jobs={JOBS}",
        "--dbname",
        lab_pg_conninfo(admin_info, BARE),
        str(dump),
    ]

    def run() -> None:
        admin_exec(admin_info, f"CREATE DATABASE {BARE}")
        subprocess.run(argv, check=True, stdin=subprocess.DEVNULL)

    cpu0 = time.process_time() + children_cpu() + meter.server()
    seconds, others = meter.measure(run)
    cpu = time.process_time() + children_cpu() + meter.server() - cpu0
    drop_all(admin_info)
    return Run(seconds=seconds, others=others, cpu=cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="0.3")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calm-below", type=float, default=0.15)
    parser.add_argument("--retries", type=int, default=0, help="run a disturbed round again")
    args = parser.parse_args()

    layout = LabLayout(BENCH_ROOT / "lab", BENCH_PORTS)
    db = ensure_bench_db(layout, args.scale)
    admin_info = lab_pg.superuser_conninfo(layout)
    out_dir = BENCH_ROOT / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    dump = out_dir / "restore-src.dump"
    counts = make_source_dump(db.conninfo, dump, db.tables)
    size = sum(p.stat().st_size for p in dump.iterdir())
    print(
        f"bench DB {units.size(db.size_bytes)}; dump {units.size(size)} (-Fd -j2 -Z1); "
        f"{sum(counts.values()):,} rows in {len(counts)} tables; {os.cpu_count()} CPUs",
        flush=True,
    )
    postmaster = int((lab_pg.cluster(layout).data_dir / "postmaster.pid").read_text().split()[0])
    meter = CpuMeter(postmaster)
    drop_all(admin_info)
    kept: dict[str, list[Run]] = {"wizard": [], "bare": []}
    every: dict[str, list[Run]] = {"wizard": [], "bare": []}  # disturbed tries too
    for round_no in range(args.rounds):
        order = ["wizard", "bare"] if round_no % 2 == 0 else ["bare", "wizard"]
        for attempt in range(args.retries + 1):
            runs: dict[str, Run] = {}
            for name in order:
                if name == "wizard":
                    runs[name] = wizard_restore(admin_info, meter, dump, counts, round_no)
                else:
                    runs[name] = bare_restore(admin_info, meter, dump)
                run = runs[name]
                extra = (
                    f", of which {run.verify:.2f} s counting after pg_restore, {run.swap:.2f} s "
                    f"swap step; {run.reports} progress reports"
                    if name == "wizard"
                    else ""
                )
                print(
                    f"  round {round_no + 1}: {name}: {run.seconds:.2f} s, cpu {run.cpu:.2f} s, "
                    f"others {run.others:.2f} cores{extra}",
                    flush=True,
                )
                every[name].append(run)
            calm = max(r.others for r in runs.values()) < args.calm_below
            if calm or attempt == args.retries:
                break
            print(f"  round {round_no + 1}: disturbed, again", flush=True)
        for name, run in runs.items():
            kept[name].append(run)
    wizard = statistics.median(r.seconds for r in kept["wizard"])
    bare = statistics.median(r.seconds for r in kept["bare"])
    ratios = [w.seconds / b.seconds for w, b in zip(kept["wizard"], kept["bare"], strict=True)]
    verdict = "within" if wizard / bare <= BUDGET else "OVER"
    print(
        f"\nbudget (<= {BUDGET}x): wizard median {wizard:.2f} s, bare median {bare:.2f} s: "
        f"ratio {wizard / bare:.3f}x -> {verdict}; rounds' ratios "
        + " ".join(f"{r:.3f}" for r in ratios)
        + f" (median {statistics.median(ratios):.3f}x)"
    )
    # On a shared 2-core machine wall time follows other jobs; CPU is the steadier measure.
    cpu = {n: statistics.median(r.cpu for r in every[n]) for n in every}
    pairs = [w.seconds / b.seconds for w, b in zip(every["wizard"], every["bare"], strict=True)]
    print(
        f"every run ({len(every['wizard'])} pairs, disturbed included): median of the pairs' "
        f"wall ratios {statistics.median(pairs):.3f}x; CPU per restore (pg_restore + server "
        f"+ own), median: wizard {cpu['wizard']:.2f} s, bare {cpu['bare']:.2f} s: "
        f"{cpu['wizard'] / cpu['bare']:.3f}x"
    )


if __name__ == "__main__":
    main()
