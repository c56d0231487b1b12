"""MariaDB dump and restore: the wizard's against the bare tools, same options, same run.

1. The ~1 GB Alfresco-like `bench` database of bench/mariadb_data.py (its own lab MariaDB
   under /tmp/sw-bench/mariadb-lab, port 33306; built once, kept).
2. Dump, alternating (the order swaps each round), the admin over the server's socket:
   - wizard: `mysql_dump.dump` (server and database facts first, the tool's output to
     `<file>.partial`, its disk writes started as it grows, progress with the rows
     estimated from samples, fsynced, renamed into place); then, timed apart as the
     PostgreSQL bench times the step's checks, the step's one read of the finished file
     (`mysql_rows.read_dump`: the exact rows of every table and the sha256), shown with
     what the step read after the dump before (a sha256 pass, then a pass counting rows);
   - bare: `mariadb-dump` with the very argv the wizard runs (`dump_argv`: the option
     file, --single-transaction --quick --no-tablespaces --hex-blob
     --default-character-set=utf8mb4 --comments --verbose), stdout to the file, as an
     admin types `mariadb-dump ... bench > bench.sql`. It does not fsync; the fsync
     after it is timed apart and shown (`bare+fsync`), the verdict is against bare alone.
3. Restore of one dump of it (the wizard's, kept as /tmp/sw-bench/mariadb-out/
   restore-src.sql with its row counts), alternating, each into fresh databases that are
   dropped after the run:
   - wizard: `mysql_restore.restore_beside` (creates `rbench_live__restore_<run>` like the
     empty live `rbench_live` made before the clock starts, loads the file with the
     `mariadb` client, progress, exact COUNT(*) of every table against the counts) and
     `mysql_swap.swap` (the one RENAME TABLE into `rbench_live`), records in a journal
     file fsynced at each record as the engine journals them;
   - bare: CREATE DATABASE `rbench_bare`, then the `mariadb` client with the wizard's argv
     (`client_argv`) reading the file on its stdin: `mariadb ... rbench_bare < file`.
Median of --rounds each; the ratio against the budget (<= 1.05x). Every run also
reports its CPU (client tools + server + this process) and how many cores other jobs kept
busy meanwhile (the machine is shared): --calm-below / --retries run a disturbed round
again.

Run by hand: .venv/bin/python bench/mariadb.py [--rounds 3] [--dump-rounds N] [--skip-dump]
    [--skip-restore] [--durable]
    [--calm-below 0.15 --retries 2] [--keep-server]   (the server is stopped at the end
    unless --keep-server; its data dir stays for the next run)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dump_variants import CpuMeter, children_cpu
from mariadb_data import BENCH_ROOT, admin, ensure_bench_db, ensure_server, layout

from syncwizard.clients import mysql_dump, mysql_restore, mysql_swap
from syncwizard.clients.mysql_conn import client_argv, ident, option_file, run_sql
from syncwizard.clients.mysql_restore import MySQLRestorePlan
from syncwizard.clients.mysql_rows import RowCounter, read_dump
from syncwizard.clients.results import Progress
from syncwizard.lab import mariadb as lab_mariadb
from syncwizard.lab.layout import LabLayout
from syncwizard.runbook import backupset

BUDGET = 1.05
LIVE = "rbench_live"
BARE = "rbench_bare"
OUT = BENCH_ROOT / "mariadb-out"


@dataclass
class Run:
    seconds: float
    others: float  # cores other jobs kept busy meanwhile
    cpu: float  # CPU s of the client tool, the server and this process
    size: int = 0
    extra: str = ""
    fsync: float = 0.0  # bare dump: the fsync of its file after it, timed apart
    after: float = 0.0  # wizard dump: the step's read of the finished file, timed apart


class FileJournal:
    """A step's records as the engine keeps them: a JSON line each, fsynced."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._records: dict[str, dict[str, Any]] = {}
        path.unlink(missing_ok=True)

    def record(self, name: str, data: Mapping[str, Any]) -> None:
        self._records[name] = dict(data)
        with self.path.open("a", encoding="utf-8") as journal:
            journal.write(json.dumps({"record": name, "data": dict(data)}) + "\n")
            journal.flush()
            os.fsync(journal.fileno())

    def records(self) -> Mapping[str, Mapping[str, Any]]:
        return self._records


class Meter:
    """CpuMeter on mariadbd, plus the CPU of this process and its reaped children."""

    def __init__(self, server_pid: int) -> None:
        self.cpu_meter = CpuMeter(server_pid)

    def cpu_now(self) -> float:
        return time.process_time() + children_cpu() + self.cpu_meter.server()

    def run(self, work: Callable[[], object]) -> tuple[float, float, float]:
        """(wall s, cores others used, CPU s of ours and the server's)."""
        cpu0 = self.cpu_now()
        seconds, others = self.cpu_meter.measure(work)
        return seconds, others, self.cpu_now() - cpu0


def sql(lay: LabLayout, statements: str) -> None:
    asyncio.run(run_sql(admin(lay), statements, timeout=0, what="bench housekeeping"))


def drop_bench_databases(lay: LabLayout) -> None:
    rows = asyncio.run(
        run_sql(
            admin(lay),
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA "
            "WHERE SCHEMA_NAME LIKE 'rbench\\_%';",
        )
    )
    drops = "".join(f"DROP DATABASE IF EXISTS {ident(str(r[0]))};\n" for r in rows)
    if drops:
        sql(lay, drops)


def quiesce(lay: LabLayout) -> None:
    """Before each run: the OS's dirty pages written, InnoDB's dirty pages flushed (as a
    CHECKPOINT before each PostgreSQL run), so no run pays for the one before."""
    os.sync()
    sql(lay, "SET GLOBAL innodb_max_dirty_pages_pct = 0;")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        rows = asyncio.run(
            run_sql(admin(lay), "SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty';")
        )
        if int(rows[0][1] or 0) < 100:
            break
        time.sleep(0.2)
    sql(lay, "SET GLOBAL innodb_max_dirty_pages_pct = 90;")


# --- dump ----------------------------------------------------------------------------------------


def wizard_dump(lay: LabLayout, meter: Meter, out: Path) -> tuple[Run, dict[str, int]]:
    reports: list[Progress] = []
    result: list[mysql_dump.MySQLDumpResult] = []

    def work() -> None:
        result.append(
            asyncio.run(mysql_dump.dump(admin(lay, "bench"), out, on_progress=reports.append))
        )

    seconds, others, cpu = meter.run(work)
    done = result[0]
    started = time.perf_counter()
    reading = read_dump(out)
    after = time.perf_counter() - started
    started = time.perf_counter()
    backupset.sha256_of(out)
    counter = RowCounter()  # the rows counted in a pass of their own, as the step did before
    with out.open("rb") as dumped:
        while chunk := dumped.read(backupset.CHUNK):
            counter.feed(chunk)
    before = time.perf_counter() - started
    rows = sum(reading.counts.values())
    extra = (
        f"{len(reports)} progress reports, ~{done.rows_written:,} rows estimated; read "
        f"back {after:.2f} s ({rows:,} rows; two passes before: {before:.2f} s)"
    )
    return Run(seconds, others, cpu, done.size_bytes, extra, after=after), reading.counts


def bare_dump(lay: LabLayout, meter: Meter, out: Path) -> Run:
    target = admin(lay, "bench")
    with option_file(target) as options:
        argv = mysql_dump.dump_argv(target, options)

        def work() -> None:
            with out.open("wb") as sink:
                subprocess.run(argv, stdout=sink, stderr=subprocess.DEVNULL, check=True)

        seconds, others, cpu = meter.run(work)
    started = time.perf_counter()
    with out.open("rb") as written:
        os.fsync(written.fileno())
    fsync = time.perf_counter() - started
    return Run(seconds, others, cpu, out.stat().st_size, f"fsync after it {fsync:.2f} s", fsync)


def durable_dump(lay: LabLayout, meter: Meter, out: Path) -> Run:
    """Bare `mariadb-dump` made durable the wizard's way, nothing counted: the bench starts
    the writeback of what the tool wrote as the file grows (`mysql_dump._Writeback`) and
    fsyncs it once the tool exited. What a durable dump costs before any counting."""
    target = admin(lay, "bench")
    with option_file(target) as options:
        argv = mysql_dump.dump_argv(target, options)

        def work() -> None:
            with out.open("wb") as sink:
                tool = subprocess.Popen(argv, stdout=sink, stderr=subprocess.DEVNULL)
                writeback = mysql_dump._Writeback(sink.fileno())
                while tool.poll() is None:
                    writeback.push(os.fstat(sink.fileno()).st_size)
                    time.sleep(mysql_dump.POLL)
                os.fsync(sink.fileno())
                if tool.returncode:
                    raise subprocess.CalledProcessError(tool.returncode, argv)

        seconds, others, cpu = meter.run(work)
    return Run(seconds, others, cpu, out.stat().st_size, "durable, not counted")


def bare_dump_argv(lay: LabLayout) -> str:
    target = admin(lay, "bench")
    with option_file(target) as options:
        return " ".join(mysql_dump.dump_argv(target, options)) + " > bench.sql"


# --- restore -------------------------------------------------------------------------------------


def wizard_restore(
    lay: LabLayout, meter: Meter, dump: Path, counts: dict[str, int], round_no: int
) -> Run:
    run_id = f"20261206t{round_no:02d}{time.time_ns() % 10**4:04d}z"
    sql(lay, f"CREATE DATABASE {ident(LIVE)} CHARACTER SET utf8mb4;")
    quiesce(lay)
    plan = MySQLRestorePlan.for_run(admin(lay, LIVE), dump, counts, run_id)
    journal = FileJournal(OUT / "restore-bench-journal.jsonl")
    reports: list[Progress] = []
    marks: dict[str, float] = {}

    def on_progress(progress: Progress) -> None:
        reports.append(progress)
        if progress.phase == "done":
            marks["loaded"] = time.perf_counter()

    async def both() -> None:
        restored = await mysql_restore.restore_beside(plan, journal, on_progress=on_progress)
        marks["restored"] = time.perf_counter()
        await mysql_swap.swap(plan, journal, restored=restored)

    started = time.perf_counter()
    seconds, others, cpu = meter.run(lambda: asyncio.run(both()))
    swap = started + seconds - marks["restored"]
    verify = marks["restored"] - marks["loaded"]
    journal.path.unlink(missing_ok=True)
    drop_bench_databases(lay)
    return Run(
        seconds,
        others,
        cpu,
        extra=f"of which {verify:.2f} s counting rows after the load, swap {swap:.2f} s; "
        f"{len(reports)} progress reports",
    )


def bare_restore(lay: LabLayout, meter: Meter, dump: Path) -> Run:
    quiesce(lay)
    target = admin(lay)
    with option_file(target) as options:
        argv = client_argv(target, options, database=BARE)

        def work() -> None:
            sql(lay, f"CREATE DATABASE {ident(BARE)} CHARACTER SET utf8mb4;")
            with dump.open("rb") as source:
                subprocess.run(argv, stdin=source, stdout=subprocess.DEVNULL, check=True)

        seconds, others, cpu = meter.run(work)
    drop_bench_databases(lay)
    return Run(seconds, others, cpu)


def restore_source(lay: LabLayout, meter: Meter) -> tuple[Path, dict[str, int]]:
    """One dump of the bench DB by the wizard, kept with its row counts."""
    dump = OUT / "restore-src.sql"
    counts_file = OUT / "restore-src.counts.json"
    if dump.exists() and counts_file.exists():
        known: dict[str, int] = json.loads(counts_file.read_text())
        return dump, known
    print(f"dumping the bench DB to {dump} for the restores ...", flush=True)
    _run, counts = wizard_dump(lay, meter, dump)
    counts_file.write_text(json.dumps(counts))
    return dump, counts


# --- the rounds ----------------------------------------------------------------------------------


def rounds(
    title: str,
    contenders: dict[str, Callable[[int], Run]],
    n: int,
    calm_below: float,
    retries: int,
) -> None:
    print(f"\n{title}, {n} rounds, alternating:", flush=True)
    kept: dict[str, list[Run]] = {name: [] for name in contenders}
    every: dict[str, list[Run]] = {name: [] for name in contenders}
    names = list(contenders)
    for round_no in range(n):
        order = names if round_no % 2 == 0 else names[::-1]
        for attempt in range(retries + 1):
            runs: dict[str, Run] = {}
            for name in order:
                run = runs[name] = contenders[name](round_no)
                every[name].append(run)
                size = f", {run.size / 1e6:.0f} MB" if run.size else ""
                print(
                    f"  round {round_no + 1}: {name:6s} {run.seconds:6.2f} s, cpu {run.cpu:6.2f}"
                    f" s, others {run.others:.2f} cores{size}"
                    + (f"; {run.extra}" if run.extra else ""),
                    flush=True,
                )
            if max(r.others for r in runs.values()) < calm_below or attempt == retries:
                break
            print(f"  round {round_no + 1}: disturbed, again", flush=True)
        for name, run in runs.items():
            kept[name].append(run)
    wizard = statistics.median(r.seconds for r in kept["wizard"])
    bare = statistics.median(r.seconds for r in kept["bare"])
    ratios = [w.seconds / b.seconds for w, b in zip(kept["wizard"], kept["bare"], strict=True)]
    verdict = "within" if wizard / bare <= BUDGET else "OVER"
    print(
        f"{title}: wizard median {wizard:.2f} s, bare median {bare:.2f} s: ratio "
        f"{wizard / bare:.3f}x (budget <= {BUDGET}x) -> {verdict}; the rounds' ratios "
        + " ".join(f"{r:.3f}" for r in ratios)
        + f" (median {statistics.median(ratios):.3f}x)"
    )
    if any(r.fsync for r in kept["bare"]):
        synced = statistics.median(r.seconds + r.fsync for r in kept["bare"])
        print(
            f"{title}: against bare + the fsync of its file ({synced:.2f} s, median): "
            f"{wizard / synced:.3f}x"
        )
    if any(r.after for r in kept["wizard"]):
        step = statistics.median(r.seconds + r.after for r in kept["wizard"])
        print(
            f"{title}: the wizard's whole step (the dump, then its read back: exact rows and "
            f"sha256) median {step:.2f} s: {step / bare:.3f}x bare"
        )
    for name in names[2:]:
        other = statistics.median(r.seconds for r in kept[name])
        print(f"{title}: {name} median {other:.2f} s: {other / bare:.3f}x bare")
    cpu = {name: statistics.median(r.cpu for r in every[name]) for name in every}
    print(
        f"{title}: CPU per run (client tools + server + this process), median of every run: "
        f"wizard {cpu['wizard']:.2f} s, bare {cpu['bare']:.2f} s: "
        f"{cpu['wizard'] / cpu['bare']:.3f}x",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="0.3", help="as alfresco_like.sql (0.3: ~1 GB)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dump-rounds", type=int, help="dump rounds (default: --rounds)")
    parser.add_argument("--calm-below", type=float, default=0.15)
    parser.add_argument("--retries", type=int, default=0, help="run a disturbed round again")
    parser.add_argument("--skip-dump", action="store_true")
    parser.add_argument("--skip-restore", action="store_true")
    parser.add_argument("--keep-server", action="store_true")
    parser.add_argument(
        "--durable",
        action="store_true",
        help="a third dump contender: bare made durable as the wizard does it, not counted",
    )
    args = parser.parse_args()

    lay = layout()
    OUT.mkdir(parents=True, exist_ok=True)
    ensure_server(lay)
    try:
        db = asyncio.run(ensure_bench_db(lay, args.scale))
        how = "built now in" if db.built_now else "reused; its build took"
        version = subprocess.run(
            ["mariadb-dump", "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
        print(
            f"bench DB: {db.size_bytes / 1e9:.2f} GB (data + indexes), scale {args.scale}, "
            f"{how} {db.build_seconds:.0f} s; {sum(db.rows.values()):,} rows: {db.rows}\n"
            f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}; {version}",
            flush=True,
        )
        pid = lab_mariadb.server_pid(lay)
        assert pid is not None
        meter = Meter(pid)
        drop_bench_databases(lay)
        if not args.skip_dump:
            print(f"bare: {bare_dump_argv(lay)}")
            wizard_out, bare_out = OUT / "wizard.sql", OUT / "bare.sql"
            bare_dump(lay, meter, bare_out)  # warm-up: the tables' pages into the cache

            def dump_wizard(_round: int) -> Run:
                os.sync()
                run = wizard_dump(lay, meter, wizard_out)[0]
                wizard_out.unlink()
                return run

            def dump_bare(_round: int) -> Run:
                os.sync()
                run = bare_dump(lay, meter, bare_out)
                bare_out.unlink()
                return run

            def dump_durable(_round: int) -> Run:
                os.sync()
                run = durable_dump(lay, meter, bare_out)
                bare_out.unlink()
                return run

            contenders: dict[str, Callable[[int], Run]] = {
                "wizard": dump_wizard,
                "bare": dump_bare,
            }
            if args.durable:
                contenders["durable"] = dump_durable
            rounds(
                "dump",
                contenders,
                args.dump_rounds or args.rounds,
                args.calm_below,
                args.retries,
            )
        if not args.skip_restore:
            dump, counts = restore_source(lay, meter)
            print(
                f"\nrestore source: {dump} ({dump.stat().st_size / 1e6:.0f} MB, "
                f"{sum(counts.values()):,} rows in {len(counts)} tables)",
                flush=True,
            )
            rounds(
                "restore",
                {
                    "wizard": lambda r: wizard_restore(lay, meter, dump, counts, r),
                    "bare": lambda _r: bare_restore(lay, meter, dump),
                },
                args.rounds,
                args.calm_below,
                args.retries,
            )
    finally:
        drop_bench_databases(lay)
        if not args.keep_server:
            lab_mariadb.stop(lay)
            print(f"stopped the bench MariaDB (its data stays in {lab_mariadb.server(lay)})")


if __name__ == "__main__":
    main()
