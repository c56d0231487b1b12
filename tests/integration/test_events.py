"""Clearing a queue into the archive, and browsing one, over STOMP against the lab broker."""

from __future__ import annotations

import asyncio
import json
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from broker_fixture import BrokerLab, new_sync_id, publish

from syncwizard.clients.event_consumer import ClearCounts, ClearResult, consume_into_archive
from syncwizard.clients.events import browse_pending
from syncwizard.clients.jolokia import JolokiaClient
from syncwizard.clients.names import LEGACY_TOPIC, sync_queue_name
from syncwizard.clients.stomp_session import StompTarget
from syncwizard.errors import SyncWizardError

pytestmark = pytest.mark.integration


@pytest.fixture
async def jolokia(broker_lab: BrokerLab) -> AsyncIterator[JolokiaClient]:
    async with JolokiaClient(broker_lab.jolokia_url, broker_lab.user, broker_lab.password) as c:
        yield c


async def queue_with_events(lab: BrokerLab, client: JolokiaClient, bodies: list[str]) -> str:
    queue = sync_queue_name(new_sync_id(), LEGACY_TOPIC)
    await client.add_queue(queue)
    publish(lab, f"/queue/{queue}", bodies)
    return queue


def read_lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


async def clear(
    lab: BrokerLab, client: JolokiaClient, queue: str, path: Path, password: str = ""
) -> ClearResult:
    async def empty(counts: ClearCounts) -> bool:
        stats, _ = await client.read_stats(queue, None)
        return stats.pending == 0

    target = StompTarget(lab.stomp_url, lab.user, password or lab.password, connect_timeout=5)
    return await consume_into_archive(target, queue, path, until=empty)


async def test_the_clear_takes_every_event_into_the_archive_in_queue_order(
    broker_lab: BrokerLab, jolokia: JolokiaClient, tmp_path: Path
) -> None:
    bodies = [json.dumps({"node": n, "name": f"dökument {n}.txt"}) for n in range(250)]
    queue = await queue_with_events(broker_lab, jolokia, bodies)
    before, _ = await jolokia.read_stats(queue, None)
    progress: list[int] = []
    path = tmp_path / "events.jsonl"

    result = await consume_into_archive(
        StompTarget(broker_lab.stomp_url, broker_lab.user, broker_lab.password),
        queue,
        path,
        until=lambda counts: _empty(jolokia, queue),
        on_progress=lambda counts: progress.append(counts.removed),
    )

    after, _ = await jolokia.read_stats(queue, None)
    assert result.failure == "" and result.counts.removed == 250
    assert (before.pending, after.pending) == (250, 0)
    assert after.dequeued - before.dequeued == 250
    lines = read_lines(path)
    assert [line["body"] for line in lines] == bodies  # in queue order, unicode intact
    first_headers = lines[0]["headers"]
    assert isinstance(first_headers, dict)
    assert first_headers["destination"] == f"/queue/{queue}"
    assert first_headers["message-id"].startswith("ID:")
    assert int(first_headers["timestamp"]) > 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert progress[-1] == 250


async def _empty(client: JolokiaClient, queue: str) -> bool:
    stats, _ = await client.read_stats(queue, None)
    return stats.pending == 0


async def test_an_empty_queue_gives_an_empty_archive_at_once(
    broker_lab: BrokerLab, jolokia: JolokiaClient, tmp_path: Path
) -> None:
    queue = await queue_with_events(broker_lab, jolokia, [])
    result = await clear(broker_lab, jolokia, queue, tmp_path / "e.jsonl")
    assert (result.counts.archived, result.failure) == (0, "")
    assert (tmp_path / "e.jsonl").read_text() == ""


async def test_browse_pending_returns_the_first_events_for_a_table(
    broker_lab: BrokerLab, jolokia: JolokiaClient
) -> None:
    queue = await queue_with_events(broker_lab, jolokia, [f"event {n}" for n in range(30)])

    events = await browse_pending(
        broker_lab.stomp_url, broker_lab.user, broker_lab.password, queue, limit=10
    )

    assert [event.body for event in events] == [f"event {n}" for n in range(10)]
    assert all(event.message_id.startswith("ID:") and event.timestamp > 0 for event in events)
    stats, _ = await jolokia.read_stats(queue, None)
    assert stats.pending == 30


async def test_an_existing_archive_is_appended_to_never_overwritten(
    broker_lab: BrokerLab, jolokia: JolokiaClient, tmp_path: Path
) -> None:
    queue = await queue_with_events(broker_lab, jolokia, ["x"])
    path = tmp_path / "events.jsonl"
    path.write_text('{"headers":{"message-id":"ID:earlier"},"body":"earlier"}\n')
    result = await clear(broker_lab, jolokia, queue, path)
    assert [line["body"] for line in read_lines(path)] == ["earlier", "x"]
    assert result.counts.archived == 2 and result.counts.written == 1


async def test_a_closed_stomp_port_is_refused_with_a_hint_and_leaves_no_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.jsonl"
    with pytest.raises(SyncWizardError) as caught:
        await consume_into_archive(
            StompTarget("stomp://127.0.0.1:9", "admin", "admin", connect_timeout=5),
            "Consumer.x.y",
            path,
            until=lambda counts: asyncio.sleep(0, True),
        )
    error = caught.value
    assert error.system == "stomp"
    assert "stomp://127.0.0.1:9" in error.message and "127.0.0.1:9" in error.message
    assert "broker.stomp" in error.hint
    assert list(tmp_path.iterdir()) == []


async def test_a_wrong_password_is_refused_naming_the_user(
    broker_lab: BrokerLab, jolokia: JolokiaClient, tmp_path: Path
) -> None:
    queue = await queue_with_events(broker_lab, jolokia, ["x"])
    with pytest.raises(SyncWizardError) as caught:
        await clear(broker_lab, jolokia, queue, tmp_path / "e.jsonl", password="s3cret-typo")
    error = caught.value
    assert error.system == "stomp"
    assert "'admin'" in error.message and "password is invalid" in error.message
    assert "broker.password_env" in error.hint
    assert "s3cret-typo" not in error.render()
    assert list(tmp_path.iterdir()) == []
