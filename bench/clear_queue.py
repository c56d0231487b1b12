"""Clearing a queue into the archive against a bare stomp.py client-ack consumer of it.

1. A lab broker of its own (`/tmp/sw-bench-clear/lab`, the test ports + 5, so
   SYNCWIZARD_TEST_PORT_OFFSET moves it too), the legacy virtual topic.
2. Each round, for each contender (the order swapped every round): a fresh
   `Consumer.<guid>.<topic>` queue, --events persistent node events (the generator's
   JSON, ~450 bytes a message with its headers) published to the virtual topic, QueueSize
   checked; then the contender, in a child process of its own, empties the queue:
   `bare`  = stomp.py, `ack: client-individual`, the same prefetch, each message ACKed as
             it arrives, until it has them all (it knows how many);
   `clear` = `event_consumer.consume_into_archive`: each event written to the JSON-lines
             archive (0600), a batch fsynced, then each ACKed; until Jolokia says
             QueueSize is 0; then the archive's lines are counted.
   Each child times itself from its connect to its last event and reports its peak RSS.
Prints events/s of each (min / median / max), CPU per event of the child and of the
broker, peak RSS, the ratio of the medians and the median of the rounds' ratios.
Budget: clear >= 0.8x bare.

Run by hand: .venv/bin/python bench/clear_queue.py [--events 100000] [--rounds 3] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

import stomp
from stomp.listener import WaitingListener

from syncwizard.clients.event_consumer import PREFETCH, ClearCounts, consume_into_archive
from syncwizard.clients.jolokia import JolokiaClient
from syncwizard.clients.names import LEGACY_TOPIC, sync_queue_name
from syncwizard.clients.stomp_session import StompTarget
from syncwizard.lab import broker, process
from syncwizard.lab.layout import HOST, TEST_PORTS, LabLayout
from syncwizard.lab.node_events import EVENT_TYPES, HEADERS, new_event
from syncwizard.runbook.restore.archive import count_archive

BENCH_ROOT = Path("/tmp/sw-bench-clear/lab")
BENCH_PORTS = replace(
    TEST_PORTS,
    openwire=TEST_PORTS.openwire + 5,
    stomp=TEST_PORTS.stomp + 5,
    jolokia=TEST_PORTS.jolokia + 5,
)
USER, PASSWORD = broker.LAB_BROKER_USER, broker.LAB_BROKER_PASSWORD
BUDGET = 0.8
_TICK = os.sysconf("SC_CLK_TCK")


# --- the children ----------------------------------------------------------------------------


class _Acker(stomp.ConnectionListener):
    def __init__(self, connection: stomp.Connection12, expected: int) -> None:
        self.connection, self.expected = connection, expected
        self.count = 0
        self.done = threading.Event()

    def on_message(self, frame: stomp.utils.Frame) -> None:
        self.connection.ack(frame.headers["ack"])
        self.count += 1
        if self.count >= self.expected:
            self.done.set()


def bare(layout: LabLayout, queue: str, expected: int) -> int:
    """stomp.py alone: consume with client-individual acks until every message is in."""
    connection = stomp.Connection12([(HOST, layout.ports.stomp)], reconnect_attempts_max=1)
    acker = _Acker(connection, expected)
    bye = WaitingListener("bye")
    connection.set_listener("acker", acker)
    connection.set_listener("bye", bye)
    connection.connect(USER, PASSWORD, wait=True)
    try:
        connection.subscribe(
            f"/queue/{queue}",
            id="bench",
            ack="client-individual",
            headers={"activemq.prefetchSize": str(PREFETCH)},
        )
        if not acker.done.wait(600):
            raise RuntimeError(f"only {acker.count} of {expected} messages within 600 s")
    finally:
        # With a receipt: the broker answers once it has handled every ACK sent before.
        connection.disconnect(receipt="bye")
        bye.wait_on_receipt()
    return acker.count


def clear(layout: LabLayout, queue: str, folder: Path) -> int:
    path = folder / "events.jsonl"

    async def run() -> None:
        async with JolokiaClient(broker.jolokia_url(layout), USER, PASSWORD) as jolokia:

            async def until(counts: ClearCounts) -> bool:
                stats, _ = await jolokia.read_stats(queue, None)
                return stats.pending == 0

            target = StompTarget(broker.stomp_url(layout), USER, PASSWORD)
            result = await consume_into_archive(target, queue, path, until=until)
            if result.failure:
                raise RuntimeError(f"the clear stopped: {result.failure}")

    asyncio.run(run())
    return count_archive(path)


def child(contender: str, queue: str, expected: int) -> None:
    layout = LabLayout(BENCH_ROOT, BENCH_PORTS)
    cpu0, started = time.process_time(), time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="sw-bench-clear-") as folder:
        count = (
            bare(layout, queue, expected)
            if contender == "bare"
            else clear(layout, queue, Path(folder))
        )
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"count": count, "seconds": seconds, "cpu": cpu, "rss": rss}))


# --- the parent ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    seconds: float
    cpu: float  # the child, every thread
    broker_cpu: float
    rss: int  # the child's peak resident set, bytes


@dataclass
class Contender:
    name: str
    samples: list[Sample] = field(default_factory=list)

    def rates(self, events: int) -> list[float]:
        return sorted(events / s.seconds for s in self.samples)

    def median_rate(self, events: int) -> float:
        return statistics.median(self.rates(events))

    def summary(self, events: int) -> str:
        r = self.rates(events)
        cpu = statistics.median(s.cpu for s in self.samples)
        jvm = statistics.median(s.broker_cpu for s in self.samples)
        rss = max(s.rss for s in self.samples)
        return (
            f"{self.name:6} {r[0]:7.0f} / {self.median_rate(events):7.0f} / {r[-1]:7.0f}"
            f"   {cpu * 1e6 / events:6.1f} us  {jvm * 1e6 / events:6.1f} us"
            f"   {rss / 2**20:6.1f} MiB"
        )


def _process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def publish_events(layout: LabLayout, count: int) -> None:
    """`count` node events to the virtual topic, as the generator sends them."""
    connection = stomp.Connection12([(HOST, layout.ports.stomp)], reconnect_attempts_max=1)
    waiter = WaitingListener("published")
    connection.set_listener("waiter", waiter)
    connection.connect(USER, PASSWORD, wait=True)
    now_ms = int(time.time() * 1000)
    try:
        for number in range(count):
            node_id = str(uuid.uuid4())
            event_type = EVENT_TYPES[number % len(EVENT_TYPES)]
            body = new_event(event_type, node_id, f"generated-{node_id[:8]}.txt", now_ms).to_json()
            receipt = {"receipt": "published"} if number == count - 1 else {}
            connection.send(f"/topic/{LEGACY_TOPIC}", body, headers=dict(HEADERS), **receipt)
        waiter.wait_on_receipt()
    finally:
        connection.disconnect()


async def _with_jolokia(layout: LabLayout, action: str, queue: str) -> int:
    async with JolokiaClient(broker.jolokia_url(layout), USER, PASSWORD) as client:
        if action == "remove_all":  # queues an earlier run left: each takes copies
            for leftover in await client.list_queues():
                await client.remove_queue(leftover)
            return 0
        if action == "add":
            await client.add_queue(queue)
        elif action == "remove":
            await client.remove_queue(queue)
        stats, _ = (None, None) if action == "remove" else await client.read_stats(queue, None)
        return stats.pending if stats else 0


def filled_queue(layout: LabLayout, events: int) -> str:
    queue = sync_queue_name(str(uuid.uuid4()), LEGACY_TOPIC)
    asyncio.run(_with_jolokia(layout, "add", queue))
    publish_events(layout, events)
    size = asyncio.run(_with_jolokia(layout, "read", queue))
    if size != events:
        raise RuntimeError(f"QueueSize {size} != {events} published")
    return queue


def run_child(layout: LabLayout, contender: str, queue: str, events: int, pid: int) -> Sample:
    jvm0 = _process_cpu(pid)
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--child", contender, queue, str(events)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        report = json.loads(out.strip().splitlines()[-1])
        if report["count"] != events:
            raise RuntimeError(f"{contender} took {report['count']} events, expected {events}")
        left = asyncio.run(_with_jolokia(layout, "read", queue))
        if left:
            raise RuntimeError(f"{contender} left {left} events on the queue")
    finally:
        asyncio.run(_with_jolokia(layout, "remove", queue))
    return Sample(report["seconds"], report["cpu"], _process_cpu(pid) - jvm0, report["rss"])


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="leave the broker running")
    args = parser.parse_args()

    layout = LabLayout(BENCH_ROOT, BENCH_PORTS)
    broker.ensure_configured(layout, topic=LEGACY_TOPIC)
    broker.start(layout)
    pid = process.running_pid(layout, broker.PROCESS_NAME)
    assert pid is not None
    asyncio.run(_with_jolokia(layout, "remove_all", ""))
    contenders = [Contender("bare"), Contender("clear")]
    try:
        for number in range(args.rounds):
            order = contenders if number % 2 == 0 else contenders[::-1]
            for contender in order:
                queue = filled_queue(layout, args.events)
                contender.samples.append(run_child(layout, contender.name, queue, args.events, pid))
                print(f"round {number + 1}: {contender.name} {contender.samples[-1].seconds:.1f} s")
    finally:
        if not args.keep:
            broker.stop(layout)
    events = args.events
    print(f"{args.events:,} pending events, {args.rounds} rounds, alternating")
    print("       events/s min / median / max   CPU/event: ours  broker   peak RSS")
    for contender in contenders:
        print(contender.summary(events))
    bare_c, clear_c = contenders
    ratio = clear_c.median_rate(events) / bare_c.median_rate(events)
    round_ratios = [
        b.seconds / c.seconds for b, c in zip(bare_c.samples, clear_c.samples, strict=True)
    ]
    verdict = "within" if ratio >= BUDGET else "OUTSIDE"
    print(
        f"clear / bare: {ratio:.2f}x ({verdict} the budget >= {BUDGET}x); "
        f"median of the rounds' ratios {statistics.median(round_ratios):.2f}x"
    )
    return 0 if ratio >= BUDGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
