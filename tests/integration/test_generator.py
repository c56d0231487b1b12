"""The lab's event generator against the real lab: repository DB, broker, stand-in."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from dataclasses import replace

import psycopg
import pytest
import stomp
from broker_fixture import subscribe_confirmed
from standin_support import (
    db,
    drained,
    eventually,
    jolokia,
    running_standin,  # noqa: F401  (the fixture every test here uses)
    sync_queue,
)

from syncwizard.errors import SyncWizardError
from syncwizard.lab import postgres
from syncwizard.lab.generator import generate
from syncwizard.lab.layout import HOST, LabLayout, read_settings
from syncwizard.lab.node_events import EVENT_TYPES, NODE_ADDED, NODE_REMOVED, parse_event

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("running_standin")]


async def _wait_until_in_sync(lab: LabLayout) -> None:
    await eventually(lambda: drained(lab), "the sync queue draining")
    await eventually(lambda: postgres.node_drift(lab).in_sync, "no drift")


class _TopicListener(stomp.ConnectionListener):
    def __init__(self) -> None:
        self.frames: list[stomp.utils.Frame] = []
        self.repository_rows: list[tuple[str, bool] | None] = []  # what the DB said on arrival
        self.lock = threading.Lock()
        self.lab: LabLayout | None = None
        self.db: psycopg.Connection | None = None

    def on_message(self, frame: stomp.utils.Frame) -> None:
        assert self.db is not None
        event = parse_event(frame.body)
        row = self.db.execute(
            "SELECT name, deleted FROM alf_node WHERE uuid = %s", (event.node_id,)
        ).fetchone()
        with self.lock:
            self.frames.append(frame)
            self.repository_rows.append(row)


async def test_generated_events_reach_the_sync_db_and_the_queue_drains(lab: LabLayout) -> None:
    queue = sync_queue(lab)
    with db(lab, "sync") as sync:
        logged_before = sync.execute("SELECT count(*) FROM sync_event_log").fetchone()[0]  # type: ignore[index]
    async with jolokia(lab) as client:
        _, topic_before = await client.read_stats(queue, read_settings(lab).topic)
    progress: list[int] = []

    started = time.monotonic()
    count = await generate(lab, rate=50, duration=2, on_progress=progress.append)
    elapsed = time.monotonic() - started

    assert count == 100
    assert progress == list(range(1, 101))
    assert 1.9 <= elapsed < 6, f"100 events at 50/s took {elapsed:.2f} s"
    await _wait_until_in_sync(lab)
    with db(lab, "sync") as sync:
        logged_after = sync.execute("SELECT count(*) FROM sync_event_log").fetchone()[0]  # type: ignore[index]
    assert logged_after - logged_before == 100
    async with jolokia(lab) as client:
        _, topic_after = await client.read_stats(queue, read_settings(lab).topic)
    enqueued_before = topic_before.enqueued if topic_before is not None else 0
    assert topic_after is not None
    assert topic_after.enqueued - enqueued_before == 100


async def test_each_event_follows_its_commit_in_the_documented_shape(lab: LabLayout) -> None:
    listener = _TopicListener()
    listener.db = db(lab, "repository")
    watcher = stomp.Connection12([(HOST, lab.ports.stomp)])
    watcher.set_listener("watch", listener)
    password = lab.broker_password_file.read_text(encoding="utf-8").strip()
    watcher.connect("admin", password, wait=True)
    try:
        # The topic keeps nothing for a subscriber it does not know yet: wait for the RECEIPT.
        subscribe_confirmed(watcher, f"/topic/{read_settings(lab).topic}", id="watch")
        count = await generate(lab, rate=100, duration=1, seed=7)
        deadline = time.monotonic() + 10
        while len(listener.frames) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        watcher.disconnect()
        listener.db.close()

    assert len(listener.frames) == count == 100
    kinds: Counter[str] = Counter()
    for frame, row in zip(listener.frames, listener.repository_rows, strict=True):
        assert frame.headers["persistent"] == "true"
        assert frame.headers["content-type"].startswith("application/json")
        event = parse_event(frame.body)
        assert set(json.loads(frame.body)) == {
            "id",
            "type",
            "nodeId",
            "name",
            "timestamp",
        }
        assert abs(event.timestamp_ms / 1000 - time.time()) < 60
        kinds[event.type] += 1
        # The repository had committed the change before the event was published.
        assert row is not None, f"{event.type} {event.node_id} not in alf_node on arrival"
        if event.type == NODE_REMOVED:
            assert row[1] is True
        else:
            assert row[1] is False
    assert set(kinds) == set(EVENT_TYPES), kinds
    assert kinds[NODE_ADDED] > count / 2, kinds
    ids = [parse_event(frame.body).id for frame in listener.frames]
    assert len(set(ids)) == len(ids)
    await _wait_until_in_sync(lab)


async def test_generator_holds_one_database_connection(lab: LabLayout) -> None:
    seen: list[int] = []

    async def watch(stop: asyncio.Event) -> None:
        conn = await psycopg.AsyncConnection.connect(
            postgres.conninfo(lab, "repository"), passfile=str(lab.pgpass), autocommit=True
        )
        async with conn:
            while not stop.is_set():
                cursor = await conn.execute(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE application_name = 'syncwizard-lab-generator'"
                )
                seen.append((await cursor.fetchone())[0])  # type: ignore[index]
                await asyncio.sleep(0.05)

    stop = asyncio.Event()
    watcher = asyncio.create_task(watch(stop))
    await generate(lab, rate=40, duration=1)
    stop.set()
    await watcher
    assert max(seen) == 1
    await _wait_until_in_sync(lab)


@pytest.mark.parametrize(("rate", "duration"), [(0, 1), (-5, 1), (10, -1)])
async def test_a_nonsense_rate_or_duration_is_refused(
    lab: LabLayout, rate: float, duration: float
) -> None:
    with pytest.raises(SyncWizardError, match="Cannot generate events") as caught:
        await generate(lab, rate=rate, duration=duration)
    assert caught.value.hint


async def test_an_unreachable_broker_is_named_and_nothing_is_changed(lab: LabLayout) -> None:
    unreachable = LabLayout(lab.root, replace(lab.ports, stomp=1))
    with db(lab, "repository") as repo:
        nodes_before = repo.execute("SELECT count(*), max(id) FROM alf_node").fetchone()
    with pytest.raises(SyncWizardError) as caught:
        await generate(unreachable, rate=10, duration=1)
    assert caught.value.system == "stomp"
    assert f"{HOST}:1" in caught.value.message
    assert "lab up" in caught.value.hint
    with db(lab, "repository") as repo:
        assert repo.execute("SELECT count(*), max(id) FROM alf_node").fetchone() == nodes_before


async def test_an_unreachable_repository_db_is_named(lab: LabLayout) -> None:
    unreachable = LabLayout(lab.root, replace(lab.ports, postgres=1))
    with pytest.raises(SyncWizardError) as caught:
        await generate(unreachable, rate=10, duration=1)
    assert caught.value.system == "repository_db"
    assert "repository DB" in caught.value.message


async def test_event2_naming_carries_events_to_the_sync_db_too(lab: LabLayout) -> None:
    """`lab up --event2`: topic alfresco.repo.event2, queue Consumer.<guid>.alfresco.repo.event2."""
    from syncwizard.clients.names import EVENT2_TOPIC
    from syncwizard.lab import stack

    stack.up(lab, event2=True)
    try:
        assert read_settings(lab).topic == EVENT2_TOPIC
        queue = sync_queue(lab)
        assert queue.endswith(f".{EVENT2_TOPIC}")
        assert await generate(lab, rate=50, duration=1) == 50
        await _wait_until_in_sync(lab)
        async with jolokia(lab) as client:
            stats, topic = await client.read_stats(queue, EVENT2_TOPIC)
        assert stats.consumers == 1
        assert topic is not None and topic.enqueued >= 50
    finally:
        stack.up(lab, event2=False)
    await _wait_until_in_sync(lab)
