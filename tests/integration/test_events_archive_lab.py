"""The restore's archive of pending events, against a real broker with a password of its own.

The events come the way the lab's repository sends them: node events published to the
virtual topic, which copies them into the Sync Service's queue.
"""

from __future__ import annotations

import json
import secrets
import stat
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import stomp
from broker_fixture import BrokerLab, new_sync_id
from stomp.listener import WaitingListener

from syncwizard.clients.event_archive import archive_matches, archive_queue, read_archive
from syncwizard.clients.events import browse_pending
from syncwizard.clients.jolokia import JolokiaClient
from syncwizard.clients.names import LEGACY_TOPIC, sync_queue_name
from syncwizard.errors import SyncWizardError
from syncwizard.lab import broker
from syncwizard.lab.layout import TEST_PORTS, LabLayout
from syncwizard.lab.node_events import EVENT_TYPES, HEADERS, NodeEvent, new_event

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
    lab = secret_broker
    async with JolokiaClient(lab.jolokia_url, lab.user, lab.password) as client:
        yield client


def publish_node_events(lab: BrokerLab, count: int) -> list[NodeEvent]:
    """`count` node events to the virtual topic, as the lab's generator sends them."""
    connection = stomp.Connection12([("127.0.0.1", lab.layout.ports.stomp)], timeout=5)
    waiter = WaitingListener("published")
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
            waiter.wait_on_receipt()
    finally:
        connection.disconnect()
    return sent


async def sync_queue(client: JolokiaClient) -> str:
    """A fresh Sync Service queue on the virtual topic (it must exist to receive copies)."""
    queue = sync_queue_name(new_sync_id(), LEGACY_TOPIC)
    await client.add_queue(queue)
    return queue


async def test_every_pending_event_is_archived_counted_and_readable_for_the_table(
    secret_broker: BrokerLab, jolokia: JolokiaClient, tmp_path: Path
) -> None:
    queue = await sync_queue(jolokia)
    sent = publish_node_events(secret_broker, 1200)
    progress: list[int] = []
    path = tmp_path / "run" / "events.jsonl"
    path.parent.mkdir(mode=0o700)

    archived = await archive_queue(
        jolokia,
        secret_broker.stomp_url,
        secret_broker.user,
        secret_broker.password,
        queue,
        path,
        on_progress=progress.append,
    )

    stats, _ = await jolokia.read_stats(queue, None)
    assert (archived.result.path, archived.result.complete) == (path, True)
    assert archived.result.count == archived.queue_size == stats.pending == 1200
    assert archived.matches and archived.summary == "The archive holds all 1,200 pending events."
    assert progress[-1] == 1200
    lines = path.read_bytes().splitlines()
    assert len(lines) == 1200
    assert all(isinstance(json.loads(line)["body"], str) for line in lines)
    rows = read_archive(path)
    assert [(r.event_type, r.node_id) for r in rows] == [(e.type, e.node_id) for e in sent]
    assert all(r.message_id.startswith("ID:") for r in rows)
    assert {r.event_time for r in rows} == {"2025-11-26T06:53:20.000Z"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secret_broker.password.encode() not in path.read_bytes()
    assert sorted(p.name for p in path.parent.iterdir()) == ["events.jsonl"]


async def test_a_queue_that_does_not_exist_is_named_and_not_created(
    secret_broker: BrokerLab, jolokia: JolokiaClient, tmp_path: Path
) -> None:
    queue = sync_queue_name(new_sync_id(), LEGACY_TOPIC)
    with pytest.raises(SyncWizardError) as caught:
        await archive_queue(
            jolokia,
            secret_broker.stomp_url,
            secret_broker.user,
            secret_broker.password,
            queue,
            tmp_path / "events.jsonl",
        )
    error = caught.value
    assert f"has no queue {queue}" in error.message and error.system == "broker"
    assert "no pending events to archive" in error.message
    assert queue not in await jolokia.list_queues()  # a STOMP browse would have created it
    assert list(tmp_path.iterdir()) == []


async def test_events_added_after_the_archive_show_in_the_check(
    secret_broker: BrokerLab, jolokia: JolokiaClient, tmp_path: Path
) -> None:
    queue = await sync_queue(jolokia)
    publish_node_events(secret_broker, 20)
    archived = await archive_queue(
        jolokia,
        secret_broker.stomp_url,
        secret_broker.user,
        secret_broker.password,
        queue,
        tmp_path / "events.jsonl",
    )
    publish_node_events(secret_broker, 5)  # a repository that was not stopped
    stats, _ = await jolokia.read_stats(queue, None)

    matches, sentence = archive_matches(archived.result, stats.pending)

    assert archived.matches and not matches
    assert "20 events but the queue has 25 pending: 5 more were added" in sentence


async def test_a_live_browse_fills_the_table_fields_too(
    secret_broker: BrokerLab, jolokia: JolokiaClient
) -> None:
    queue = await sync_queue(jolokia)
    sent = publish_node_events(secret_broker, 30)
    lab = secret_broker

    rows = await browse_pending(lab.stomp_url, lab.user, lab.password, queue, limit=10)

    assert [(r.event_type, r.node_id) for r in rows] == [(e.type, e.node_id) for e in sent[:10]]
    assert all(r.event_time for r in rows)
