"""Archiving pending events over STOMP against a bare stomp.py browse of the same queue.

1. A lab broker of its own (`/tmp/sw-bench-events/lab`, the test ports + 5, so
   SYNCWIZARD_TEST_PORT_OFFSET moves it too), the legacy virtual topic.
2. A fresh `Consumer.<guid>.<topic>` queue, then --events persistent node events
   (the generator's JSON, about 150 bytes, its headers) published to the virtual
   topic, which copies them into the queue; QueueSize is checked.
3. Alternating, --rounds times (the order swapped every round):
   `bare`    = stomp.py, `browser:true` subscription, count MESSAGE frames until
               `browser: end` (connect to end; stomp.py's defaults otherwise);
   `archive` = `events.archive_pending` writing the JSON-lines archive (0600,
               `.partial`, fsync, rename), then `count_archive` of the file.
   Both browse the same queue (browsing leaves it as it is).
Prints events/s of each (min / median / max), CPU per event of this process and of
the broker, the cores other jobs kept busy meanwhile, the ratio of the medians and the
median of the rounds' ratios. Budget: archive >= 0.8x bare.

Run by hand: .venv/bin/python bench/events_archive.py [--events 10000] [--rounds 5]
    [--calm-below 0.5 --retries 2]   # run again when other jobs used >= 0.5 cores meanwhile
    [--keep]   # leave the broker running for the next run (it is stopped otherwise)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import stomp
from stomp.listener import WaitingListener

from syncwizard.clients.event_archive import count_archive
from syncwizard.clients.events import archive_pending
from syncwizard.clients.jolokia import JolokiaClient
from syncwizard.clients.names import LEGACY_TOPIC, sync_queue_name
from syncwizard.lab import broker, process
from syncwizard.lab.layout import HOST, TEST_PORTS, LabLayout
from syncwizard.lab.node_events import EVENT_TYPES, HEADERS, new_event

BENCH_ROOT = Path("/tmp/sw-bench-events/lab")
BENCH_PORTS = replace(
    TEST_PORTS,
    openwire=TEST_PORTS.openwire + 5,
    stomp=TEST_PORTS.stomp + 5,
    jolokia=TEST_PORTS.jolokia + 5,
)
USER, PASSWORD = broker.LAB_BROKER_USER, broker.LAB_BROKER_PASSWORD
BUDGET = 0.8


_TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Sample:
    seconds: float
    python_cpu: float  # this process, every thread: stomp.py's receiver and ours
    broker_cpu: float  # the broker's JVM
    others: float  # cores other jobs on the machine kept busy meanwhile


@dataclass
class Contender:
    name: str
    run: Callable[[], int]
    samples: list[Sample] = field(default_factory=list)

    def rates(self, events: int) -> list[float]:
        return sorted(events / s.seconds for s in self.samples)

    def median_rate(self, events: int) -> float:
        return statistics.median(self.rates(events))

    def summary(self, events: int) -> str:
        r = self.rates(events)
        cpu = statistics.median(s.python_cpu for s in self.samples)
        jvm = statistics.median(s.broker_cpu for s in self.samples)
        others = statistics.median(s.others for s in self.samples)
        return (
            f"{self.name:8} {r[0]:7.0f} / {self.median_rate(events):7.0f} / {r[-1]:7.0f}"
            f"   {cpu * 1e6 / events:6.1f} us   {jvm * 1e6 / events:6.1f} us   {others:5.2f}"
        )


def _machine_busy() -> float:
    """CPU seconds all CPUs were busy since boot (steal included)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields)
    return (user + nice + system + irq + softirq + steal) / _TICK


def _process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def measure(run: Callable[[], int], expected: int, broker_pid: int) -> Sample:
    busy0, cpu0, jvm0 = _machine_busy(), time.process_time(), _process_cpu(broker_pid)
    started = time.perf_counter()
    count = run()
    seconds = time.perf_counter() - started
    cpu, jvm = time.process_time() - cpu0, _process_cpu(broker_pid) - jvm0
    if count != expected:
        raise RuntimeError(f"counted {count} events, expected {expected}")
    others = max(0.0, _machine_busy() - busy0 - cpu - jvm) / seconds
    return Sample(seconds, cpu, jvm, others)


def stomp_connection(layout: LabLayout) -> stomp.Connection12:
    connection = stomp.Connection12([(HOST, layout.ports.stomp)], reconnect_attempts_max=1)
    connection.connect(USER, PASSWORD, wait=True)
    return connection


def publish_events(layout: LabLayout, count: int) -> int:
    """`count` node events to the virtual topic, as the generator sends them; body bytes."""
    connection = stomp_connection(layout)
    waiter = WaitingListener("published")
    connection.set_listener("waiter", waiter)
    destination = f"/topic/{LEGACY_TOPIC}"
    now_ms = int(time.time() * 1000)
    size = 0
    try:
        for number in range(count):
            node_id = str(uuid.uuid4())
            event_type = EVENT_TYPES[number % len(EVENT_TYPES)]
            body = new_event(event_type, node_id, f"generated-{node_id[:8]}.txt", now_ms).to_json()
            size += len(body)
            receipt = {"receipt": "published"} if number == count - 1 else {}
            connection.send(destination, body, headers=dict(HEADERS), **receipt)
        waiter.wait_on_receipt()
    finally:
        connection.disconnect()
    return size


class _Counter(stomp.ConnectionListener):
    def __init__(self) -> None:
        self.count = 0
        self.ended = threading.Event()

    def on_message(self, frame: stomp.utils.Frame) -> None:
        if frame.headers.get("browser") == "end":
            self.ended.set()
        else:
            self.count += 1


def bare_browse(layout: LabLayout, queue: str) -> int:
    """stomp.py alone: browse to `browser: end`, count the messages."""
    counter = _Counter()
    connection = stomp.Connection12([(HOST, layout.ports.stomp)], reconnect_attempts_max=1)
    connection.set_listener("counter", counter)
    connection.connect(USER, PASSWORD, wait=True)
    try:
        connection.subscribe(f"/queue/{queue}", id="bench", ack="auto", headers={"browser": "true"})
        if not counter.ended.wait(120):
            raise RuntimeError("no browser:end within 120 s")
    finally:
        connection.disconnect()
    return counter.count


def archive(layout: LabLayout, queue: str, folder: Path) -> int:
    path = folder / "events.jsonl"
    result = asyncio.run(archive_pending(broker.stomp_url(layout), USER, PASSWORD, queue, path))
    if not result.complete:
        raise RuntimeError(f"archive incomplete: {result.reason}")
    count = count_archive(result.path)
    result.path.unlink()
    return count


def broker_pid(layout: LabLayout) -> int:
    pid = process.running_pid(layout, broker.PROCESS_NAME)
    if pid is None:
        raise RuntimeError("the bench broker is not running")
    return pid


def jolokia(layout: LabLayout) -> JolokiaClient:
    return JolokiaClient(broker.jolokia_url(layout), USER, PASSWORD)


async def fresh_queue(layout: LabLayout) -> str:
    queue = sync_queue_name(str(uuid.uuid4()), LEGACY_TOPIC)
    async with jolokia(layout) as client:
        await client.add_queue(queue)
    return queue


async def pending(layout: LabLayout, queue: str) -> int:
    async with jolokia(layout) as client:
        stats, _ = await client.read_stats(queue, None)
    return stats.pending


async def drop_queue(layout: LabLayout, queue: str) -> None:
    async with jolokia(layout) as client:
        await client.remove_queue(queue)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="leave the broker running")
    parser.add_argument(
        "--calm-below",
        type=float,
        default=float("inf"),
        help="run again when other jobs used this many cores or more meanwhile",
    )
    parser.add_argument("--retries", type=int, default=0, help="at most this many times")
    args = parser.parse_args()

    layout = LabLayout(BENCH_ROOT, BENCH_PORTS)
    broker.ensure_configured(layout, topic=LEGACY_TOPIC)
    started = time.perf_counter()
    broker.start(layout)
    print(f"broker on stomp {layout.ports.stomp} ready after {time.perf_counter() - started:.1f} s")
    queue = asyncio.run(fresh_queue(layout))
    try:
        started = time.perf_counter()
        body_bytes = publish_events(layout, args.events)
        seconds = time.perf_counter() - started
        size = asyncio.run(pending(layout, queue))
        print(
            f"published {args.events} events ({body_bytes / args.events:.0f} bytes of body each) "
            f"in {seconds:.1f} s; QueueSize {size}"
        )
        if size != args.events:
            print(f"QueueSize {size} != {args.events} published", file=sys.stderr)
            return 1
        pid = broker_pid(layout)
        with tempfile.TemporaryDirectory(prefix="sw-bench-events-") as folder:
            contenders = [
                Contender("bare", lambda: bare_browse(layout, queue)),
                Contender("archive", lambda: archive(layout, queue, Path(folder))),
            ]
            for contender in contenders:  # warm-up: the broker's JIT, the page cache
                contender.run()
            for number in range(args.rounds):
                order = contenders if number % 2 == 0 else contenders[::-1]
                for contender in order:
                    for attempt in range(args.retries + 1):
                        sample = measure(contender.run, size, pid)
                        if sample.others < args.calm_below or attempt == args.retries:
                            break
                    contender.samples.append(sample)
        bare, archived = contenders
        print(f"{args.rounds} rounds, alternating")
        print("         events/s min / median / max   CPU/event: ours  broker   others (cores)")
        print(bare.summary(size))
        print(archived.summary(size))
        ratio = archived.median_rate(size) / bare.median_rate(size)
        round_ratios = [
            b.seconds / a.seconds for a, b in zip(archived.samples, bare.samples, strict=True)
        ]
        verdict = "within" if ratio >= BUDGET else "OUTSIDE"
        print(
            f"archive / bare: {ratio:.2f}x ({verdict} the budget >= {BUDGET}x); "
            f"median of the rounds' ratios {statistics.median(round_ratios):.2f}x"
        )
        return 0 if ratio >= BUDGET else 1
    finally:
        asyncio.run(drop_queue(layout, queue))
        if not args.keep:
            broker.stop(layout)


if __name__ == "__main__":
    raise SystemExit(main())
