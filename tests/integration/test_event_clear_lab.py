"""Clearing a queue into the run's archive against a real broker with a password of its own:
every event removed is in the archive, once, however many there are, whatever arrives
meanwhile, and whenever the clear is killed.

The events come the way the lab's repository sends them: node events published to the
virtual topic, which copies them into the Sync Service's queue.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import stomp
from broker_fixture import BrokerLab, ReceiptWaiter, await_receipt, new_sync_id

from syncwizard.clients.event_consumer import ClearCounts, ClearResult, consume_into_archive
from syncwizard.clients.events import browse_pending
from syncwizard.clients.jolokia import JolokiaClient
from syncwizard.clients.names import LEGACY_TOPIC, sync_queue_name
from syncwizard.clients.stomp_session import StompTarget
from syncwizard.errors import SyncWizardError
from syncwizard.lab import broker
from syncwizard.lab.layout import TEST_PORTS, LabLayout
from syncwizard.lab.node_events import EVENT_TYPES, HEADERS, NodeEvent, new_event
from syncwizard.runbook.restore.archive import read_archive

pytestmark = pytest.mark.integration

# Clear of the session's lab (TEST_PORTS; its OpenWire port is STOMP's + 3) and of
# broker_fixture's brokers (+1, +2), which share the session.
SECRET_BROKER_PORTS = replace(
    TEST_PORTS,
    openwire=TEST_PORTS.openwire + 10,
    stomp=TEST_PORTS.stomp + 10,
    jolokia=TEST_PORTS.jolokia + 10,
)


@pytest.fixture(scope="module")
def secret_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerLab]:
    """A lab broker whose password is unlike anything an event holds, so a leak shows."""
    layout = LabLayout(tmp_path_factory.mktemp("sw-events-archive") / "lab", SECRET_BROKER_PORTS)
    password = f"pw-{secrets.token_hex(12)}"
    broker.ensure_configured(layout, topic=LEGACY_TOPIC, password=password)
    try:
        broker.start(layout)
        yield BrokerLab(layout, LEGACY_TOPIC, password=password)
    finally:
        broker.stop(layout)


@pytest.fixture
async def jolokia(secret_broker: BrokerLab) -> AsyncIterator[JolokiaClient]:
    """A Jolokia client; the Sync queues a test made are removed after it, so the next
    test's events are not copied into queues nobody consumes any more."""
    lab = secret_broker
    async with JolokiaClient(lab.jolokia_url, lab.user, lab.password) as client:
        yield client
        for queue in await client.list_queues():
            if queue.startswith("Consumer."):
                await client.remove_queue(queue)


def publish_node_events(lab: BrokerLab, count: int) -> list[NodeEvent]:
    """`count` node events to the virtual topic, as the lab's generator sends them."""
    connection = stomp.Connection12([("127.0.0.1", lab.layout.ports.stomp)], timeout=5)
    waiter = ReceiptWaiter("published")
    connection.set_listener("waiter", waiter)
    connection.connect(lab.user, lab.password, wait=True)
    sent = []
    try:
        for number in range(count):
            node_id = str(uuid.uuid4())
            event = new_event(
                EVENT_TYPES[number % 3], node_id, f"generated-{node_id[:8]}.txt", 1_764_140_000_000
            )
            receipt = {"receipt": "published"} if number == count - 1 else {}
            connection.send(f"/topic/{lab.topic}", event.to_json(), headers=HEADERS, **receipt)
            sent.append(event)
        if sent:
            await_receipt(waiter, f"{count} node events")
    finally:
        connection.disconnect()
    return sent


async def sync_queue(client: JolokiaClient) -> str:
    """A fresh Sync Service queue on the virtual topic (it must exist to receive copies)."""
    queue = sync_queue_name(new_sync_id(), LEGACY_TOPIC)
    await client.add_queue(queue)
    return queue


async def clear(
    lab: BrokerLab,
    jolokia: JolokiaClient,
    queue: str,
    path: Path,
    *,
    also: threading.Event | None = None,
) -> ClearResult:
    """Clear `queue` into `path` until it is empty (and `also` is set, when given)."""

    async def until(counts: ClearCounts) -> bool:
        stats, _ = await jolokia.read_stats(queue, None)
        return stats.pending == 0 and (also is None or also.is_set())

    target = StompTarget(lab.stomp_url, lab.user, lab.password)
    return await consume_into_archive(target, queue, path, until=until)


def archived_ids(path: Path) -> list[str]:
    return [json.loads(line)["headers"]["message-id"] for line in path.read_bytes().splitlines()]


def archived_nodes(path: Path) -> list[str]:
    return [
        json.loads(json.loads(line)["body"])["nodeId"] for line in path.read_bytes().splitlines()
    ]


async def test_sixty_thousand_events_more_than_a_browse_gets_are_all_cleared_into_the_archive(
    secret_broker: BrokerLab, jolokia: JolokiaClient, tmp_path: Path
) -> None:
    queue = await sync_queue(jolokia)
    sent = publish_node_events(secret_broker, 60_000)
    before, _ = await jolokia.read_stats(queue, None)
    assert before.pending == 60_000
    path = tmp_path / "run" / "events.jsonl"
    path.parent.mkdir(mode=0o700)

    result = await clear(secret_broker, jolokia, queue, path)

    after, _ = await jolokia.read_stats(queue, None)
    assert result.failure == "" and after.pending == 0
    assert result.counts.archived == result.counts.removed == 60_000
    assert after.dequeued - before.dequeued == 60_000
    assert sorted(archived_nodes(path)) == sorted(event.node_id for event in sent)
    rows = read_archive(path, limit=50)
    assert [(r.event_type, r.node_id) for r in rows] == [(e.type, e.node_id) for e in sent[:50]]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secret_broker.password.encode() not in path.read_bytes()


async def test_events_that_arrive_while_clearing_are_cleared_into_the_archive_too(
    secret_broker: BrokerLab, jolokia: JolokiaClient, tmp_path: Path
) -> None:
    queue = await sync_queue(jolokia)
    first = publish_node_events(secret_broker, 3000)
    later: list[NodeEvent] = []
    done = threading.Event()

    def keep_producing() -> None:
        for _ in range(10):
            later.extend(publish_node_events(secret_broker, 300))
            time.sleep(0.1)
        done.set()

    producer = threading.Thread(target=keep_producing)
    producer.start()
    path = tmp_path / "events.jsonl"
    try:
        result = await clear(secret_broker, jolokia, queue, path, also=done)
    finally:
        producer.join()

    assert result.failure == ""
    assert sorted(archived_nodes(path)) == sorted(e.node_id for e in [*first, *later])
    stats, _ = await jolokia.read_stats(queue, None)
    assert stats.pending == 0


async def test_a_clear_killed_mid_way_resumes_into_the_same_archive_with_each_event_once(
    secret_broker: BrokerLab, jolokia: JolokiaClient, tmp_path: Path
) -> None:
    queue = await sync_queue(jolokia)
    sent = publish_node_events(secret_broker, 20_000)
    path = tmp_path / "events.jsonl"
    lab = secret_broker
    driver = Path(__file__).with_name("clear_driver.py")
    env = {**os.environ, "SYNCWIZARD_TEST_PASSWORD": lab.password}
    for kill_at in (2_000, 7_000, 12_000):  # killed three times, at different moments
        child = subprocess.Popen(
            [sys.executable, str(driver), lab.stomp_url, lab.user, queue, str(path)],
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        assert child.stdout is not None
        deadline = time.monotonic() + 120
        for line in child.stdout:
            if int(line) >= kill_at or time.monotonic() > deadline:
                break
        child.kill()
        child.wait(timeout=30)
        child.stdout.close()

    result = await clear(lab, jolokia, queue, path)

    ids = archived_ids(path)
    assert len(ids) == len(set(ids)) == 20_000  # each event once, none lost
    assert sorted(archived_nodes(path)) == sorted(e.node_id for e in sent)
    assert result.counts.archived == 20_000
    stats, _ = await jolokia.read_stats(queue, None)
    assert stats.pending == 0


async def test_a_wrong_password_is_named_and_touches_no_file(
    secret_broker: BrokerLab, jolokia: JolokiaClient, tmp_path: Path
) -> None:
    queue = await sync_queue(jolokia)
    publish_node_events(secret_broker, 5)
    wrong = StompTarget(secret_broker.stomp_url, secret_broker.user, "not-the-password")

    with pytest.raises(SyncWizardError) as caught:
        await consume_into_archive(
            wrong, queue, tmp_path / "events.jsonl", until=lambda c: asyncio.sleep(0, True)
        )

    assert caught.value.system == "stomp" and "not-the-password" not in caught.value.render()
    assert list(tmp_path.iterdir()) == []
    stats, _ = await jolokia.read_stats(queue, None)
    assert stats.pending == 5


async def test_a_live_browse_fills_the_table_fields_too(
    secret_broker: BrokerLab, jolokia: JolokiaClient
) -> None:
    queue = await sync_queue(jolokia)
    sent = publish_node_events(secret_broker, 30)
    lab = secret_broker

    rows = await browse_pending(lab.stomp_url, lab.user, lab.password, queue, limit=10)

    assert [(r.event_type, r.node_id) for r in rows] == [(e.type, e.node_id) for e in sent[:10]]
    assert all(r.event_time for r in rows)
