"""Making a weekend's backlog: 100,000 pending events with the lab's backlog mode.

1. A practice lab of its own (`/tmp/sw-bench-backlog/lab`, the test ports + 10, so
   SYNCWIZARD_TEST_PORT_OFFSET moves it too): PostgreSQL, the broker, both stand-ins.
2. Each round: `lab reset` (the previous round's backlog purged, the seeded data back),
   the Sync Service stand-in stopped, then, timed, `make_backlog(--events)`: the
   changes committed to the repository DB in batches, their events published to the
   topic until the broker's receipt for the last; then Jolokia must count them all on
   `Consumer.<guid>.<topic>`.
Prints each round's time (and the part spent writing the DB), the median, and the load
average. Budget: the weekend-outage scenario's whole setup (lab reset, last night's
backup, the backlog) <= 30 s, of which this is the largest part.

Run by hand: .venv/bin/python bench/backlog.py [--events 100000] [--rounds 3] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from dataclasses import replace
from pathlib import Path

from syncwizard.clients.jolokia import JolokiaClient
from syncwizard.clients.names import sync_queue_name
from syncwizard.lab import broker, postgres, process, stack, standin
from syncwizard.lab.backlog import make_backlog
from syncwizard.lab.layout import TEST_PORTS, LabLayout, read_settings
from syncwizard.lab.reset import reset

BENCH_ROOT = Path("/tmp/sw-bench-backlog/lab")
SHIFT = 10
BENCH_PORTS = replace(
    TEST_PORTS,
    postgres=TEST_PORTS.postgres + SHIFT,
    openwire=TEST_PORTS.openwire + SHIFT,
    stomp=TEST_PORTS.stomp + SHIFT,
    jolokia=TEST_PORTS.jolokia + SHIFT,
    standin=TEST_PORTS.standin + SHIFT,
    repository=TEST_PORTS.repository + SHIFT,
    lab_link=TEST_PORTS.lab_link + SHIFT,
)
BUDGET_S = 30.0
_TICK = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int | None) -> float:
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


async def pending(layout: LabLayout) -> int:
    password = layout.broker_password_file.read_text(encoding="utf-8").strip()
    queue = sync_queue_name(str(postgres.sync_guid(layout)), read_settings(layout).topic)
    async with JolokiaClient(broker.jolokia_url(layout), "admin", password) as client:
        stats, _ = await client.read_stats(queue, None)
    return stats.pending


def one_round(layout: LabLayout, events: int, seed: int) -> tuple[float, float, float, float]:
    """(seconds to make the backlog, of them in the DB, the broker's CPU seconds meanwhile,
    the reset's seconds)."""
    cleared = reset(layout)
    standin.stop(layout)
    jvm = process.running_pid(layout, "broker")
    ours, broker_cpu = time.process_time(), _cpu(jvm)
    started = time.monotonic()
    made = asyncio.run(make_backlog(layout, events, seed=seed))
    took = time.monotonic() - started
    broker_cpu = _cpu(jvm) - broker_cpu
    print(f"    (this process: {time.process_time() - ours:.1f} s CPU)")
    waiting = asyncio.run(pending(layout))
    if waiting != events:
        raise SystemExit(f"{waiting:,} events pending after the backlog, expected {events:,}")
    return took, made.db_seconds, broker_cpu, cleared.seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="leave the lab running")
    args = parser.parse_args()

    layout = LabLayout(BENCH_ROOT, BENCH_PORTS)
    started = time.monotonic()
    stack.up(layout)
    print(f"lab up in {time.monotonic() - started:.1f} s under {BENCH_ROOT}")
    print(f"{args.events:,} pending events, {args.rounds} rounds")
    times: list[float] = []
    try:
        for number in range(args.rounds):
            took, in_db, jvm_cpu, cleared = one_round(layout, args.events, seed=number)
            times.append(took)
            load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
            print(
                f"  round {number + 1}: {took:.1f} s ({args.events / took:,.0f} events/s; "
                f"{in_db:.1f} s writing the DB; broker CPU {jvm_cpu:.1f} s; "
                f"the reset before it {cleared:.1f} s; "
                f"load {load})"
            )
    finally:
        if not args.keep:
            stack.down(layout)
            postgres.remove_cluster(layout)
    median = statistics.median(times)
    print(
        f"median {median:.1f} s to make {args.events:,} pending events "
        f"(min {min(times):.1f}, max {max(times):.1f}); "
        f"the scenario's setup budget is {BUDGET_S:.0f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
