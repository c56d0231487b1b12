"""pg_dump variants (format, jobs, compression) timed bare, and the server's own floor.

Used by bench/backup.py. Each variant runs in rounds, every round all variants
with the starting one rotated, so that noise from other jobs on the machine
falls on all of them alike; output is written under a scratch folder, fsynced
as pg_dump does by default, measured and removed.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from syncwizard import units


@dataclass(frozen=True)
class Sample:
    seconds: float
    size_bytes: int | None  # None: no output (the COPY floor)
    client_cpu: float | None = None  # pg_dump's (and a compressor's) CPU; None: server only
    others: float = 0.0  # cores other jobs kept busy meanwhile (see CpuMeter)


@dataclass
class Timings:
    name: str
    samples: list[Sample] = field(default_factory=list)

    @property
    def seconds(self) -> list[float]:
        return [s.seconds for s in self.samples]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def summary(self) -> str:
        sec = sorted(self.seconds)
        sizes = [s.size_bytes for s in self.samples if s.size_bytes is not None]
        size = f"{units.size(max(sizes)):>10}" if sizes else " " * 10
        cpus = [s.client_cpu for s in self.samples if s.client_cpu is not None]
        cpu = f"{statistics.median(cpus):6.1f} s" if cpus else "      -"
        others = statistics.median(s.others for s in self.samples)
        spread = f"{sec[0]:6.1f} / {self.median:6.1f} / {sec[-1]:6.1f} s"
        return f"{spread}  {size}  {cpu}  {others:6.2f}"


def children_cpu() -> float:
    """CPU seconds of this process's finished children (pg_dump counts its workers)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


_TICK = os.sysconf("SC_CLK_TCK")


def _machine_busy() -> float:
    """CPU seconds all CPUs were busy since boot, including time the hypervisor stole."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = (
        int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    )
    return (user + nice + system + irq + softirq + steal) / _TICK


def _process_cpu(pid: int) -> float:
    """A process's CPU seconds and those of its reaped children (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / _TICK  # utime, stime, cutime, cstime


@dataclass(frozen=True)
class CpuMeter:
    """How busy other jobs kept the machine during a run: the machine's busy CPU time less
    ours (this process, its children, the bench server's postmaster and its ended backends).
    A run is disturbed when others used a good part of a core: the machine has two."""

    postmaster_pid: int

    def foreign(self) -> float:
        ours = time.process_time() + children_cpu() + _process_cpu(self.postmaster_pid)
        return _machine_busy() - ours

    def server(self) -> float:
        """CPU seconds of the bench server: the postmaster and its ended backends."""
        return _process_cpu(self.postmaster_pid)

    def measure(self, run: Callable[[], object]) -> tuple[float, float]:
        """(wall seconds of `run`, cores other jobs used meanwhile)."""
        foreign0, started = self.foreign(), time.perf_counter()
        run()
        seconds = time.perf_counter() - started
        time.sleep(0.2)  # the postmaster reaps the dump's backends
        foreign1, ended = self.foreign(), time.perf_counter()
        return seconds, max(0.0, foreign1 - foreign0) / (ended - started)


@dataclass(frozen=True)
class Context:
    pg_dump: Path
    conninfo: str  # the bench DB, superuser
    tables: Sequence[str]
    scratch: Path  # outputs go here, one at a time
    meter: CpuMeter


@dataclass(frozen=True)
class Variant:
    name: str
    run: Callable[[Context], Sample]


def size_of(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.iterdir())
    return path.stat().st_size


def remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def bare_argv(ctx: Context, options: Sequence[str], out: Path) -> list[str]:
    """pg_dump as an admin would type it: the options, the output, the database."""
    return [str(ctx.pg_dump), *options, "--file", str(out), "--dbname", ctx.conninfo]


def pg_dump_variant(name: str, options: Sequence[str]) -> Variant:
    def run(ctx: Context) -> Sample:
        out = ctx.scratch / "dump"
        remove(out)
        argv = bare_argv(ctx, options, out)
        cpu0 = children_cpu()
        seconds, others = ctx.meter.measure(
            lambda: subprocess.run(argv, check=True, stdin=subprocess.DEVNULL)
        )
        cpu = children_cpu() - cpu0
        size = size_of(out)
        remove(out)
        return Sample(seconds, size, cpu, others)

    return Variant(name, run)


def piped_variant(name: str, options: Sequence[str], compressor: Sequence[str]) -> Variant:
    """pg_dump to stdout into a compressor writing the file (fsynced, as pg_dump would)."""

    def run(ctx: Context) -> Sample:
        out = ctx.scratch / "dump"
        remove(out)

        def pipeline() -> None:
            with out.open("wb") as sink:
                dump = subprocess.Popen(
                    [str(ctx.pg_dump), *options, "--dbname", ctx.conninfo],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                )
                assert dump.stdout is not None
                squeeze = subprocess.Popen(compressor, stdin=dump.stdout, stdout=sink)
                dump.stdout.close()  # the compressor holds the only read end
                if squeeze.wait() != 0 or dump.wait() != 0:
                    raise RuntimeError(f"{name}: pg_dump {dump.returncode}, {squeeze.returncode}")
                os.fsync(sink.fileno())

        cpu0 = children_cpu()
        seconds, others = ctx.meter.measure(pipeline)
        cpu = children_cpu() - cpu0
        size = size_of(out)
        remove(out)
        return Sample(seconds, size, cpu, others)

    return Variant(name, run)


def copy_floor(ctx: Context) -> Sample:
    """The server's own floor: `COPY <table> TO '/dev/null'` for each table, summed."""
    total = 0.0
    with psycopg.connect(ctx.conninfo, autocommit=True) as conn:
        backend = conn.info.backend_pid  # alive throughout: its CPU is not reaped yet
        backend0 = _process_cpu(backend)
        foreign0, started = ctx.meter.foreign(), time.perf_counter()
        for table in ctx.tables:
            schema, name = table.split(".", 1)
            statement = sql.SQL("COPY {}.{} TO '/dev/null'").format(
                sql.Identifier(schema), sql.Identifier(name)
            )
            copy_started = time.perf_counter()
            conn.execute(statement)
            total += time.perf_counter() - copy_started
        foreign = ctx.meter.foreign() - foreign0 - (_process_cpu(backend) - backend0)
        others = max(0.0, foreign) / (time.perf_counter() - started)
    return Sample(total, None, None, others)


FLOOR = Variant("floor: COPY each table TO '/dev/null'", copy_floor)

# PostgreSQL 15's pg_dump compresses with gzip only (-Z 0-9; lz4/zstd came in 16).
VARIANTS: tuple[Variant, ...] = (
    FLOOR,
    pg_dump_variant("-Fd -j2 (gzip -Z6, default)", ["-Fd", "-j2"]),
    pg_dump_variant("-Fd -j2 -Z1", ["-Fd", "-j2", "-Z1"]),
    pg_dump_variant("-Fd -j2 -Z0", ["-Fd", "-j2", "-Z0"]),
    pg_dump_variant("-Fd -j1 -Z1", ["-Fd", "-j1", "-Z1"]),
    pg_dump_variant("-Fc (gzip -Z6, default)", ["-Fc"]),
    pg_dump_variant("-Fc -Z1", ["-Fc", "-Z1"]),
    pg_dump_variant("-Fc -Z0", ["-Fc", "-Z0"]),
    # Not candidates for the default (a stream: no -j dump, no parallel restore, no
    # `pg_restore --list` without decompressing); shown for what a faster compressor buys.
    piped_variant("-Fc -Z0 | zstd -3 -T2", ["-Fc", "-Z0"], ["zstd", "-q", "-3", "-T2"]),
    piped_variant("-Fc -Z0 | lz4", ["-Fc", "-Z0"], ["lz4", "-q", "-1"]),
)


def select(variants: Sequence[Variant], names: Sequence[str]) -> list[Variant]:
    """The floor and the variants named exactly (all of them when no name is given)."""
    if not names:
        return list(variants)
    unknown = set(names) - {v.name for v in variants}
    if unknown:
        raise SystemExit(f"unknown variants {sorted(unknown)}; known: {[v.name for v in variants]}")
    return [variants[0], *(v for v in variants[1:] if v.name in names)]


def _cpu_busy_idle() -> tuple[int, int]:
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, idle


def wait_for_quiet(idle_share: float, max_wait: float, window: float = 2.0) -> float:
    """Wait until the machine's CPUs were >= idle_share idle over `window` seconds (other
    jobs share it), at most `max_wait` seconds; the idle share last seen."""
    deadline = time.monotonic() + max_wait
    while True:
        busy0, idle0 = _cpu_busy_idle()
        time.sleep(window)
        busy1, idle1 = _cpu_busy_idle()
        share = (idle1 - idle0) / max(1, busy1 - busy0 + idle1 - idle0)
        if share >= idle_share or time.monotonic() >= deadline:
            return share


def measure(
    variants: Sequence[Variant],
    ctx: Context,
    rounds: int,
    log: Callable[[str], None],
    settle: Callable[[], str] = lambda: "",
    calm_below: float = float("inf"),
    retries: int = 0,
) -> list[Timings]:
    """Every variant `rounds` times, round-robin, the starting variant rotated per round.
    `settle` runs before each run (e.g. waits for a quiet machine) and says what it saw; a
    run during which other jobs used `calm_below` cores or more is run again, up to
    `retries` times, and the last try is kept."""
    timings = [Timings(v.name) for v in variants]
    for round_no in range(rounds):
        shift = round_no % len(variants)
        order = list(range(len(variants)))[shift:] + list(range(len(variants)))[:shift]
        for index in order:
            for attempt in range(retries + 1):
                seen = settle()
                sample = variants[index].run(ctx)
                size = "" if sample.size_bytes is None else f" {units.size(sample.size_bytes)}"
                again = sample.others >= calm_below and attempt < retries
                log(
                    f"  round {round_no + 1}: {variants[index].name}: {sample.seconds:.1f} s"
                    f"{size}, others {sample.others:.2f} cores{seen}"
                    + ("  (disturbed: again)" if again else "")
                )
                if not again:
                    break
            timings[index].samples.append(sample)
    return timings
