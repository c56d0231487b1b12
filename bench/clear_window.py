"""The clear on a broker shipped without STOMP: open a loopback STOMP connector (a broker
restart), clear every pending event into the archive over it, close it (a restart again).

1. A broker of the `current` lab flavour of its own (`/tmp/sw-bench-window/lab`, the test
   ports + 7, so SYNCWIZARD_TEST_PORT_OFFSET moves it too): only OpenWire for clients,
   Jolokia under the hardened policy, the event2 topic; its lab-only STOMP link stands
   for the repository's OpenWire producer.
2. Each round: --events persistent node events (the generator's JSON) published to the
   topic and copied into the sync queue, QueueSize checked; then, timed one by one, what
   the restore's clear does: `lab/broker_stomp.py open` (the admin's broker.stomp_open),
   `event_consumer.consume_into_archive` until Jolokia says QueueSize is 0, and
   `broker_stomp.py close`. The archive's lines must be the events published.
Prints each part's median (min-max) and the rate over the whole (events / all three),
against the clear's own rate.

Run by hand: .venv/bin/python bench/clear_window.py [--events 10000] [--rounds 3] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass, fields, replace
from pathlib import Path

import stomp
from clear_queue import clear
from stomp.listener import WaitingListener

from syncwizard.clients.jolokia import JolokiaClient
from syncwizard.clients.names import EVENT2_TOPIC, sync_queue_name
from syncwizard.lab import broker
from syncwizard.lab.broker_stomp import set_stomp
from syncwizard.lab.layout import CURRENT, HOST, TEST_PORTS, LabLayout
from syncwizard.lab.node_events import EVENT_TYPES, HEADERS, new_event

BENCH_ROOT = Path("/tmp/sw-bench-window/lab")
BENCH_PORTS = replace(
    TEST_PORTS, **{f.name: getattr(TEST_PORTS, f.name) + 7 for f in fields(TEST_PORTS)}
)
USER, PASSWORD = broker.LAB_BROKER_USER, broker.LAB_BROKER_PASSWORD


@dataclass(frozen=True)
class Round:
    open: float
    clear: float
    close: float

    @property
    def total(self) -> float:
        return self.open + self.clear + self.close


def _link(layout: LabLayout) -> stomp.Connection12:
    connection = stomp.Connection12([(HOST, layout.ports.lab_link)], reconnect_attempts_max=1)
    connection.connect(USER, PASSWORD, wait=True)
    return connection


def make_queue(layout: LabLayout) -> str:
    """The sync queue, made by a subscription (the hardened policy refuses addQueue)."""
    queue = sync_queue_name(str(uuid.uuid4()), EVENT2_TOPIC)
    connection = _link(layout)
    try:
        connection.subscribe(f"/queue/{queue}", id="made", ack="client-individual")
        connection.unsubscribe(id="made")
    finally:
        connection.disconnect()
    return queue


def publish_events(layout: LabLayout, count: int) -> None:
    connection = _link(layout)
    waiter = WaitingListener("published")
    connection.set_listener("waiter", waiter)
    now_ms = int(time.time() * 1000)
    try:
        for number in range(count):
            node_id = str(uuid.uuid4())
            event_type = EVENT_TYPES[number % len(EVENT_TYPES)]
            body = new_event(event_type, node_id, f"generated-{node_id[:8]}.txt", now_ms).to_json()
            receipt = {"receipt": "published"} if number == count - 1 else {}
            connection.send(f"/topic/{EVENT2_TOPIC}", body, headers=dict(HEADERS), **receipt)
        waiter.wait_on_receipt()
    finally:
        connection.disconnect()


async def pending(layout: LabLayout, queue: str) -> int:
    async with JolokiaClient(broker.jolokia_url(layout), USER, PASSWORD) as jolokia:
        stats, _ = await jolokia.read_stats(queue, None)
        return stats.pending


def one_round(layout: LabLayout, queue: str, events: int) -> Round:
    publish_events(layout, events)
    if (size := asyncio.run(pending(layout, queue))) != events:
        raise RuntimeError(f"QueueSize {size} != {events} published")
    with tempfile.TemporaryDirectory(prefix="sw-bench-window-") as folder:
        started = time.perf_counter()
        set_stomp(layout, open_=True)
        opened = time.perf_counter()
        archived = clear(layout, queue, Path(folder))  # clear_queue.py's, into events.jsonl
        cleared = time.perf_counter()
        set_stomp(layout, open_=False)
        closed = time.perf_counter()
        if archived != events:
            raise RuntimeError(f"{archived} events archived, {events} published")
    return Round(opened - started, cleared - opened, closed - cleared)


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):6.2f} s ({min(values):.2f}-{max(values):.2f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="leave the broker running")
    args = parser.parse_args()

    layout = LabLayout(BENCH_ROOT, BENCH_PORTS)
    broker.ensure_configured(layout, topic=EVENT2_TOPIC, flavour=CURRENT)
    broker.start(layout)
    rounds: list[Round] = []
    try:
        queue = make_queue(layout)  # one queue for every round: none can be removed
        for _ in range(args.rounds):
            rounds.append(one_round(layout, queue, args.events))
    finally:
        if not args.keep:
            broker.stop(layout)
    events = args.events
    print(f"{events:,} pending events, {args.rounds} rounds, median (min-max):")
    print(f"  open STOMP (broker restart)  {spread([r.open for r in rounds])}")
    print(f"  clear into the archive       {spread([r.clear for r in rounds])}")
    print(f"  close STOMP (broker restart) {spread([r.close for r in rounds])}")
    print(f"  all three                    {spread([r.total for r in rounds])}")
    clear_rate = statistics.median(events / r.clear for r in rounds)
    whole_rate = statistics.median(events / r.total for r in rounds)
    print(
        f"rate: {whole_rate:,.0f} events/s over the whole window, {clear_rate:,.0f} events/s "
        f"for the clear alone: {whole_rate / clear_rate:.2f}x"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
