"""Browsing and archiving pending events over STOMP against the lab broker."""

from __future__ import annotations

import json
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from broker_fixture import BrokerLab, new_sync_id, publish

from syncwizard.clients.events import archive_pending, browse_pending
from syncwizard.clients.jolokia import JolokiaClient
from syncwizard.clients.names import LEGACY_TOPIC, sync_queue_name
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


async def test_the_archive_holds_every_pending_event_and_the_queue_keeps_them(
    broker_lab: BrokerLab, jolokia: JolokiaClient, tmp_path: Path
) -> None:
    bodies = [json.dumps({"node": n, "name": f"dökument {n}.txt"}) for n in range(250)]
    queue = await queue_with_events(broker_lab, jolokia, bodies)
    before, _ = await jolokia.read_stats(queue, None)
    progress: list[int] = []
    path = tmp_path / "events.jsonl"

    result = await archive_pending(
        broker_lab.stomp_url,
        broker_lab.user,
        broker_lab.password,
        queue,
        path,
        on_progress=progress.append,
    )

    after, _ = await jolokia.read_stats(queue, None)
    assert (result.path, result.count, result.complete) == (path, 250, True)
    assert result.count == before.pending == after.pending  # browsing consumes nothing
    assert after.dequeued == before.dequeued
    lines = read_lines(path)
    assert [line["body"] for line in lines] == bodies  # in queue order, unicode intact
    first_headers = lines[0]["headers"]
    assert isinstance(first_headers, dict)
    assert first_headers["destination"] == f"/queue/{queue}"
    assert first_headers["message-id"].startswith("ID:")
    assert int(first_headers["timestamp"]) > 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not (tmp_path / "events.jsonl.partial").exists()
    assert progress[-1] == 250


async def test_an_empty_queue_gives_a_complete_empty_archive(
    broker_lab: BrokerLab, jolokia: JolokiaClient, tmp_path: Path
) -> None:
    queue = await queue_with_events(broker_lab, jolokia, [])
    result = await archive_pending(
        broker_lab.stomp_url, broker_lab.user, broker_lab.password, queue, tmp_path / "e.jsonl"
    )
    assert (result.count, result.complete) == (0, True)
    assert result.path.read_text() == ""


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


async def test_an_existing_archive_is_never_overwritten(
    broker_lab: BrokerLab, jolokia: JolokiaClient, tmp_path: Path
) -> None:
    queue = await queue_with_events(broker_lab, jolokia, ["x"])
    path = tmp_path / "events.jsonl"
    path.write_text("earlier archive\n")
    with pytest.raises(SyncWizardError, match="exists already"):
        await archive_pending(
            broker_lab.stomp_url, broker_lab.user, broker_lab.password, queue, path
        )
    assert path.read_text() == "earlier archive\n"


async def test_a_closed_stomp_port_is_refused_with_a_hint_and_leaves_no_file(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.jsonl"
    with pytest.raises(SyncWizardError) as caught:
        await archive_pending("stomp://127.0.0.1:9", "admin", "admin", "Consumer.x.y", path)
    error = caught.value
    assert error.system == "stomp"
    assert "stomp://127.0.0.1:9" in error.message and "127.0.0.1:9" in error.message
    assert "broker.stomp" in error.hint
    assert list(tmp_path.iterdir()) == []


async def test_a_wrong_password_is_refused_naming_the_user(
    broker_lab: BrokerLab, tmp_path: Path
) -> None:
    with pytest.raises(SyncWizardError) as caught:
        await archive_pending(
            broker_lab.stomp_url, "admin", "s3cret-typo", "Consumer.x.y", tmp_path / "e.jsonl"
        )
    error = caught.value
    assert error.system == "stomp"
    assert "'admin'" in error.message and "password is invalid" in error.message
    assert "broker.password_env" in error.hint
    assert "s3cret-typo" not in error.render()
    assert list(tmp_path.iterdir()) == []
