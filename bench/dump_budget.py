"""The budget: the wizard's repository DB dump step against bare pg_dump, same options.

Used by bench/backup.py. Three contenders, alternating (the order rotates each round):
- step: what the backup runbook's repository step runs, `snapshot_dump.dump_in_snapshot`
  (our own exported snapshot, pg_dump through `pgtools.PgDump` with progress polling,
  pg_dump writing plain data files that a thread of this process gzips and counts as they
  are written: its CPU is in `own`); then, timed apart, what the step does
  after the dump (`_dump_outputs`: sha256 of every file, `pg_restore --list`).
- runner: `pgtools.run_pg_dump` with a progress observer, no snapshot, no counts.
- bare: pg_dump with the same format, jobs and compression.
The queue snapshot at t0 (a Jolokia read) is left out: no broker here.
"""

from __future__ import annotations

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

from dump_variants import Context, children_cpu, remove, size_of

from syncwizard import units
from syncwizard.clients import pgtools
from syncwizard.clients.results import Progress
from syncwizard.runbook import backupset
from syncwizard.runbook.backup.snapshot_dump import DumpPlan, dump_in_snapshot

BUDGET = 1.05


@dataclass(frozen=True)
class DumpSettings:
    fmt: pgtools.DumpFormat
    jobs: int
    compress: str | None  # None: pg_dump's default (gzip -Z6)

    def options(self) -> list[str]:
        """The same settings as pg_dump options, as `PgDump` passes them."""
        options = [f"--format={self.fmt}"]
        if self.fmt == "directory" and self.jobs > 1:
            options.append(f"--jobs={self.jobs}")
        if self.compress is not None:
            options.append(f"--compress={self.compress}")
        return options


@dataclass
class Run:
    seconds: float = 0.0
    others: float = 0.0  # cores other jobs kept busy meanwhile
    own_cpu: float = 0.0  # this process: event loop, polling, stderr reading
    child_cpu: float = 0.0  # pg_dump and its workers
    server_cpu: float = 0.0  # the bench server's backends (ended ones: the dump's, counts)
    reports: int = 0  # progress reports delivered
    tuples_seen: int = 0  # the most rows copied a report showed before the end
    after: float = 0.0  # step only: sha256 of the files and `pg_restore --list`


class BenchStepContext:
    """The engine's side of a step, as little as the dump needs: records are journaled
    (a JSON line, flushed and fsynced, as the engine does), progress is counted."""

    run_id = "bench"
    results: Mapping[str, Any] = {}
    rechecking = False

    def __init__(self, journal: Path) -> None:
        self.journal = journal
        self.reports = 0
        self.tuples_seen = 0

    def records_of(self, step_id: str) -> Mapping[str, Mapping[str, Any]]:
        return {}

    def step_times(self) -> Mapping[str, tuple[float, float | None]]:
        return {}

    def progress(self, message: str, detail: object = None) -> None:
        self.reports += 1
        if isinstance(detail, Progress) and detail.phase != "done":
            self.tuples_seen = max(self.tuples_seen, detail.tuples_done)

    def log(self, line: str) -> None:
        pass

    def record(self, name: str, data: Mapping[str, Any]) -> None:
        with self.journal.open("a", encoding="utf-8") as journal:
            journal.write(json.dumps({"record": name, "data": dict(data)}) + "\n")
            journal.flush()
            os.fsync(journal.fileno())


Contender = Callable[[Context, Path, DumpSettings], Run]


def step_dump(ctx: Context, out: Path, settings: DumpSettings) -> Run:
    """The runbook's repository DB dump, then its checks of the files, timed apart."""
    plan = DumpPlan(
        role="repository_db",
        roles=("repository_db",),
        conninfo=ctx.conninfo,
        passfile=None,
        out_path=out,
        fmt=settings.fmt,
        jobs=settings.jobs,
        compress=settings.compress,
    )
    step = BenchStepContext(ctx.scratch / "journal.jsonl")
    run = Run()
    cpu0, child0, server0 = time.process_time(), children_cpu(), ctx.meter.server()
    run.seconds, run.others = ctx.meter.measure(lambda: asyncio.run(dump_in_snapshot(plan, step)))
    run.own_cpu, run.child_cpu = time.process_time() - cpu0, children_cpu() - child0
    run.server_cpu = ctx.meter.server() - server0
    run.reports, run.tuples_seen = step.reports, step.tuples_seen

    async def after_dump() -> None:  # as BackupSteps._dump_outputs
        backupset.make_private(out)
        await asyncio.to_thread(backupset.hash_files, out.parent, out.name)
        await backupset.list_archive(out)

    started = time.perf_counter()
    asyncio.run(after_dump())
    run.after = time.perf_counter() - started
    (ctx.scratch / "journal.jsonl").unlink(missing_ok=True)
    return run


def runner_dump(ctx: Context, out: Path, settings: DumpSettings) -> Run:
    """`pgtools.run_pg_dump` with a progress observer."""
    reports: list[Progress] = []
    run = Run()
    cpu0, child0, server0 = time.process_time(), children_cpu(), ctx.meter.server()
    run.seconds, run.others = ctx.meter.measure(
        lambda: asyncio.run(
            pgtools.run_pg_dump(
                ctx.conninfo,
                out,
                fmt=settings.fmt,
                jobs=settings.jobs,
                compress=settings.compress,
                on_progress=reports.append,
                system="repository_db",
            )
        )
    )
    run.own_cpu, run.child_cpu = time.process_time() - cpu0, children_cpu() - child0
    run.server_cpu = ctx.meter.server() - server0
    run.reports = len(reports)
    run.tuples_seen = max((r.tuples_done for r in reports if r.phase != "done"), default=0)
    return run


def bare_dump(ctx: Context, out: Path, settings: DumpSettings) -> Run:
    argv = [str(ctx.pg_dump), *settings.options(), "--file", str(out), "--dbname", ctx.conninfo]
    run = Run()
    child0, server0 = children_cpu(), ctx.meter.server()
    run.seconds, run.others = ctx.meter.measure(
        lambda: subprocess.run(argv, check=True, stdin=subprocess.DEVNULL)
    )
    run.child_cpu, run.server_cpu = children_cpu() - child0, ctx.meter.server() - server0
    return run


CONTENDERS: dict[str, Contender] = {"step": step_dump, "runner": runner_dump, "bare": bare_dump}


def measure_budget(
    ctx: Context,
    settings: DumpSettings,
    rounds: int,
    settle: Callable[[], str],
    calm_below: float,
    retries: int,
) -> tuple[dict[str, list[Run]], dict[str, list[Run]]]:
    """(kept runs, every run) of each contender; a round in which other jobs used
    `calm_below` cores or more in any run is run again, up to `retries` times (the last
    try is kept)."""
    names = list(CONTENDERS)
    kept: dict[str, list[Run]] = {name: [] for name in names}
    every: dict[str, list[Run]] = {name: [] for name in names}  # disturbed tries too
    out = ctx.scratch / "budget-dump"
    for round_no in range(rounds):
        order = names[round_no % len(names) :] + names[: round_no % len(names)]
        for attempt in range(retries + 1):
            runs: dict[str, Run] = {}
            for name in order:
                remove(out)
                seen = settle()
                run = runs[name] = CONTENDERS[name](ctx, out, settings)
                every[name].append(run)
                size = size_of(out)
                remove(out)
                extra = (
                    f", own cpu {run.own_cpu:.2f} s, {run.reports} reports" if run.reports else ""
                )
                if name == "step":
                    extra += f", then {run.after:.2f} s sha256 + pg_restore --list"
                print(
                    f"  round {round_no + 1}: {name}: {run.seconds:.2f} s, {units.size(size)}, "
                    f"others {run.others:.2f} cores, cpu: pg_dump {run.child_cpu:.2f} s, "
                    f"server {run.server_cpu:.2f} s{extra}{seen}",
                    flush=True,
                )
            if max(r.others for r in runs.values()) < calm_below or attempt == retries:
                break
            print(f"  round {round_no + 1}: disturbed, again", flush=True)
        for name in names:
            kept[name].append(runs[name])
    return kept, every


def _spread(values: list[float]) -> str:
    ordered = sorted(values)
    return f"{ordered[0]:.2f} / {statistics.median(ordered):.2f} / {ordered[-1]:.2f}"


def _ratio(label: str, runs: list[Run], bare: list[Run]) -> str:
    if not runs:
        return f"  {label}: no such rounds"
    ratio = statistics.median(r.seconds for r in runs) / statistics.median(r.seconds for r in bare)
    pairs = [r.seconds / b.seconds for r, b in zip(runs, bare, strict=True)]
    each = " ".join(f"{p:.2f}" for p in pairs)
    verdict = "within" if ratio <= BUDGET else "OVER"
    return (
        f"  {label} ({len(runs)} rounds): ratio of medians {ratio:.3f}x -> {verdict}; median of "
        f"the rounds' ratios {statistics.median(pairs):.3f}x ({each})"
    )


def _vs_bare(values: dict[str, float]) -> str:
    step, runner, bare = values["step"], values["runner"], values["bare"]
    return f"; step/bare {step / bare:.3f}x, runner/bare {runner / bare:.3f}x"


def _fit_at_calm(runs: list[Run]) -> float:
    """Wall time where other jobs use no core: least squares of seconds on `others`."""
    xs, ys = [r.others for r in runs], [r.seconds for r in runs]
    if len(set(xs)) < 2:
        return statistics.median(ys)
    return statistics.linear_regression(xs, ys).intercept


def print_every(kept: dict[str, list[Run]], every: dict[str, list[Run]], calm_below: float) -> None:
    """Estimates from every run, disturbed tries included (more data on a busy machine)."""
    print(f"  every run ({', '.join(f'{n} {len(every[n])}' for n in every)}):")
    calm = {n: [r.seconds for r in every[n] if r.others < calm_below] for n in every}
    if all(calm.values()):
        medians = {n: statistics.median(v) for n, v in calm.items()}
        print(
            f"    calm runs (others < {calm_below}): median "
            + ", ".join(f"{n} {m:.2f} s (n={len(calm[n])})" for n, m in medians.items())
            + _vs_bare(medians)
        )
    fit = {n: _fit_at_calm(every[n]) for n in every}
    print(
        "    wall at others = 0 (least squares): "
        + ", ".join(f"{n} {f:.2f} s" for n, f in fit.items())
        + _vs_bare(fit)
    )
    cpu = {
        n: statistics.median(r.child_cpu + r.server_cpu + r.own_cpu for r in every[n])
        for n in every
    }
    print(
        "    CPU per dump (pg_dump + server + own), median: "
        + ", ".join(f"{n} {c:.2f} s" for n, c in cpu.items())
        + _vs_bare(cpu)
    )


def print_budget(settings: DumpSettings, kept: dict[str, list[Run]], calm_below: float) -> None:
    step, runner, bare = kept["step"], kept["runner"], kept["bare"]
    print(f"\nbudget (<= {BUDGET}x): the dump step vs bare pg_dump {' '.join(settings.options())}")
    for name, runs in kept.items():
        print(f"  {name:6s} s min/median/max: {_spread([r.seconds for r in runs])}")
    after = statistics.median(r.after for r in step)
    print(f"  the step's checks after the dump (sha256, pg_restore --list): median {after:.2f} s")
    calm = [i for i in range(len(bare)) if max(kept[n][i].others for n in kept) < calm_below]
    for label, runs in (("step vs bare", step), ("runner vs bare", runner)):
        print(_ratio(f"{label}, all", runs, bare))
        print(
            _ratio(
                f"{label}, calm (others < {calm_below} cores)",
                [runs[i] for i in calm],
                [bare[i] for i in calm],
            )
        )
    # On two cores the dump keeps both busy, so its wall time follows the CPU that pg_dump,
    # the server and this process spend; CPU is less blurred by other jobs than wall time.
    cpu = {
        n: statistics.median(r.child_cpu + r.server_cpu + r.own_cpu for r in kept[n]) for n in kept
    }
    print(
        "  CPU per dump (pg_dump + server + own), median: "
        + ", ".join(f"{n} {c:.2f} s" for n, c in cpu.items())
        + _vs_bare(cpu)
    )
    with_checks = [
        Run(seconds=r.seconds + r.after, others=r.others) for r in step
    ]  # what the step costs in all, checks included: work bare pg_dump does not do
    print(_ratio("step + its checks vs bare, all", with_checks, bare))
    print(
        f"  own CPU (this process) median: step {statistics.median(r.own_cpu for r in step):.2f}"
        f" s, runner {statistics.median(r.own_cpu for r in runner):.2f} s; pg_dump CPU median: "
        + ", ".join(f"{n} {statistics.median(r.child_cpu for r in kept[n]):.2f} s" for n in kept)
        + "; server CPU median: "
        + ", ".join(f"{n} {statistics.median(r.server_cpu for r in kept[n]):.2f} s" for n in kept)
    )
    seen = statistics.median(r.tuples_seen for r in step)
    reports = {
        name: statistics.median(r.reports for r in kept[name]) for name in ("step", "runner")
    }
    print(
        f"  progress reports per dump (median): step {reports['step']:.0f}, runner "
        f"{reports['runner']:.0f}; rows seen while dumping {seen:.0f}"
    )
