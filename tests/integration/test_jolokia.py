"""The Jolokia client against the lab broker: real ActiveMQ, real Jolokia, real HTTP."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import stomp
from broker_fixture import (
    BrokerLab,
    ReceiptWaiter,
    await_receipt,
    new_sync_id,
    publish,
    stomp_connection,
)

from syncwizard.clients.jolokia import JolokiaClient
from syncwizard.clients.names import EVENT2_TOPIC, LEGACY_TOPIC, sync_queue_name
from syncwizard.clients.results import QueueStats
from syncwizard.errors import SyncWizardError
from syncwizard.lab.layout import HOST

pytestmark = pytest.mark.integration


@pytest.fixture
async def jolokia(broker_lab: BrokerLab) -> AsyncIterator[JolokiaClient]:
    async with JolokiaClient(broker_lab.jolokia_url, broker_lab.user, broker_lab.password) as c:
        yield c


@pytest.fixture
async def event2_jolokia(event2_broker_lab: BrokerLab) -> AsyncIterator[JolokiaClient]:
    lab = event2_broker_lab
    async with JolokiaClient(lab.jolokia_url, lab.user, lab.password) as client:
        yield client


async def new_sync_queue(client: JolokiaClient, topic: str) -> tuple[str, str]:
    """A fresh sync id and its queue on `topic`, created like the Sync Service's subscription."""
    sync_id = new_sync_id()
    queue = sync_queue_name(sync_id, topic)
    await client.add_queue(queue)
    return sync_id, queue


def count_posts(client: JolokiaClient, monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Record the body of every HTTP request the client sends from now on."""
    posts: list[bytes] = []
    original = client._client.send

    async def recording_send(request: httpx.Request, **kwargs: object) -> httpx.Response:
        assert request.method == "POST", "Jolokia is always POSTed to"
        posts.append(request.content)
        return await original(request, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(client._client, "send", recording_send)
    return posts


async def test_the_broker_is_found_by_name(jolokia: JolokiaClient) -> None:
    assert await jolokia.broker_name() == "localhost"


async def test_events_published_to_the_topic_show_in_the_queue_counters(
    broker_lab: BrokerLab, jolokia: JolokiaClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, queue = await new_sync_queue(jolokia, LEGACY_TOPIC)
    publish(broker_lab, f"/topic/{LEGACY_TOPIC}", ["first"])  # the topic exists from here on
    _, topic_before = await jolokia.read_stats(queue, LEGACY_TOPIC)
    assert topic_before is not None

    publish(broker_lab, f"/topic/{LEGACY_TOPIC}", [f"event {n}" for n in range(5)])
    posts = count_posts(jolokia, monkeypatch)
    queue_stats, topic_stats = await jolokia.read_stats(queue, LEGACY_TOPIC)

    assert len(posts) == 1, "queue and topic counters must come in one bulk POST"
    assert (queue_stats.name, queue_stats.pending, queue_stats.enqueued) == (queue, 6, 6)
    assert (queue_stats.dequeued, queue_stats.in_flight, queue_stats.consumers) == (0, 0, 0)
    assert topic_stats is not None and topic_stats.name == LEGACY_TOPIC
    assert topic_stats.enqueued - topic_before.enqueued == 5


async def test_a_consumer_shows_and_moves_the_dequeue_counter(
    broker_lab: BrokerLab, jolokia: JolokiaClient
) -> None:
    _, queue = await new_sync_queue(jolokia, LEGACY_TOPIC)
    publish(broker_lab, f"/topic/{LEGACY_TOPIC}", ["a", "b", "c"])
    consumer = stomp_connection(broker_lab)
    received = threading.Event()

    class Counter:
        count = 0

        def on_message(self, frame: object) -> None:
            Counter.count += 1
            if Counter.count == 3:
                received.set()

    consumer.set_listener("count", Counter())
    consumer.subscribe(f"/queue/{queue}", id="1", ack="auto")
    try:
        assert received.wait(10), "the consumer got no messages"
        stats = await wait_for(jolokia, queue, lambda s: s.dequeued == 3)
        assert (stats.pending, stats.consumers) == (0, 1)
    finally:
        consumer.disconnect()
    stats = await wait_for(jolokia, queue, lambda s: s.consumers == 0)
    assert stats.dequeued == 3


async def wait_for(
    client: JolokiaClient, queue: str, condition: Callable[[QueueStats], bool]
) -> QueueStats:
    """The queue's counters once `condition` holds (consumers attach asynchronously)."""
    deadline = time.monotonic() + 10
    while True:
        stats, _ = await client.read_stats(queue, None)
        if condition(stats) or time.monotonic() > deadline:
            return stats
        await asyncio.sleep(0.1)


async def test_the_topic_counters_are_none_while_the_topic_does_not_exist(
    jolokia: JolokiaClient,
) -> None:
    _, queue = await new_sync_queue(jolokia, "VirtualTopic.never.published")
    queue_stats, topic_stats = await jolokia.read_stats(queue, "VirtualTopic.never.published")
    assert queue_stats.pending == 0
    assert topic_stats is None


async def test_the_legacy_sync_queue_is_found_with_and_without_the_topic(
    jolokia: JolokiaClient,
) -> None:
    sync_id, queue = await new_sync_queue(jolokia, LEGACY_TOPIC)
    assert await jolokia.find_sync_queue(sync_id, LEGACY_TOPIC) == queue
    assert await jolokia.find_sync_queue(sync_id) == queue


async def test_the_event2_sync_queue_is_found_and_fed_by_its_virtual_topic(
    event2_broker_lab: BrokerLab, event2_jolokia: JolokiaClient
) -> None:
    sync_id, queue = await new_sync_queue(event2_jolokia, EVENT2_TOPIC)
    assert queue == f"Consumer.{sync_id}.alfresco.repo.event2"
    assert await event2_jolokia.find_sync_queue(sync_id, EVENT2_TOPIC) == queue
    assert await event2_jolokia.find_sync_queue(sync_id) == queue

    publish(event2_broker_lab, f"/topic/{EVENT2_TOPIC}", ["node created", "node updated"])
    stats, topic = await event2_jolokia.read_stats(queue, EVENT2_TOPIC)
    assert stats.pending == 2
    assert topic is not None and topic.enqueued >= 2


async def test_the_legacy_broker_does_not_copy_event2_events_into_queues(
    broker_lab: BrokerLab, jolokia: JolokiaClient
) -> None:
    """Only `lab up --event2` declares alfresco.repo.event2 a virtual topic (like stock brokers)."""
    _, queue = await new_sync_queue(jolokia, EVENT2_TOPIC)
    publish(broker_lab, f"/topic/{EVENT2_TOPIC}", ["dropped"])
    stats, _ = await jolokia.read_stats(queue, None)
    assert stats.pending == 0


async def test_of_two_queues_for_one_guid_the_one_with_a_consumer_is_chosen(
    broker_lab: BrokerLab, jolokia: JolokiaClient
) -> None:
    sync_id, legacy_queue = await new_sync_queue(jolokia, LEGACY_TOPIC)
    event2_queue = sync_queue_name(sync_id, EVENT2_TOPIC)
    await jolokia.add_queue(event2_queue)
    consumer = stomp_connection(broker_lab)
    consumer.subscribe(f"/queue/{legacy_queue}", id="1", ack="client-individual")
    try:
        await wait_for(jolokia, legacy_queue, lambda s: s.consumers == 1)
        assert await jolokia.find_sync_queue(sync_id) == legacy_queue
    finally:
        consumer.disconnect()
    await wait_for(jolokia, legacy_queue, lambda s: s.consumers == 0)
    assert await jolokia.find_sync_queue(sync_id) == event2_queue  # no consumers: event2 first


async def test_a_missing_sync_queue_names_the_destinations_that_exist(
    broker_lab: BrokerLab, jolokia: JolokiaClient
) -> None:
    _, other_queue = await new_sync_queue(jolokia, LEGACY_TOPIC)
    publish(broker_lab, f"/topic/{LEGACY_TOPIC}", ["so that the topic exists"])
    missing_id = new_sync_id()

    with pytest.raises(SyncWizardError) as caught:
        await jolokia.find_sync_queue(missing_id)

    error = caught.value
    assert error.system == "broker"
    assert f"Consumer.{missing_id}.*" in error.message
    assert f"queue {other_queue}" in error.message
    assert f"topic {LEGACY_TOPIC}" in error.message
    assert "ActiveMQ.Advisory" not in error.message
    assert "not subscribed" in error.hint and "GUID" in error.hint


async def test_a_missing_queue_named_with_its_topic_is_reported(jolokia: JolokiaClient) -> None:
    missing_id = new_sync_id()
    with pytest.raises(SyncWizardError, match=f"no queue Consumer.{missing_id}.alfresco.repo"):
        await jolokia.find_sync_queue(missing_id, EVENT2_TOPIC)


async def test_reading_a_removed_queue_says_which_mbean_is_missing(
    jolokia: JolokiaClient,
) -> None:
    _, queue = await new_sync_queue(jolokia, LEGACY_TOPIC)
    await jolokia.remove_queue(queue)
    with pytest.raises(SyncWizardError) as caught:
        await jolokia.read_stats(queue, LEGACY_TOPIC)
    assert "no such MBean" in caught.value.message
    assert queue in caught.value.message


async def test_purge_empties_the_queue_and_keeps_it(
    broker_lab: BrokerLab, jolokia: JolokiaClient
) -> None:
    _, queue = await new_sync_queue(jolokia, LEGACY_TOPIC)
    publish(broker_lab, f"/queue/{queue}", ["1", "2", "3", "4"])

    await jolokia.purge(queue)

    stats, _ = await jolokia.read_stats(queue, None)
    assert stats.pending == 0
    assert stats.dequeued == 4  # a purge counts as dequeued: why Enqueued == Dequeued misleads
    assert f"queue://{queue}" in await jolokia.list_destinations()


async def test_remove_queue_and_remove_topic_delete_the_destinations(
    broker_lab: BrokerLab, jolokia: JolokiaClient
) -> None:
    topic = f"VirtualTopic.test.{new_sync_id()}"
    _, queue = await new_sync_queue(jolokia, topic)
    publish(broker_lab, f"/topic/{topic}", ["an event"])
    destinations = await jolokia.list_destinations()
    assert {f"queue://{queue}", f"topic://{topic}"} <= set(destinations)

    await jolokia.remove_queue(queue)
    await jolokia.remove_topic(topic)

    destinations = await jolokia.list_destinations()
    assert f"queue://{queue}" not in destinations
    assert f"topic://{topic}" not in destinations


async def test_the_oldest_pending_timestamp_comes_from_browsing_the_queue(
    broker_lab: BrokerLab, jolokia: JolokiaClient
) -> None:
    _, queue = await new_sync_queue(jolokia, LEGACY_TOPIC)
    assert await jolokia.oldest_pending_timestamp(queue) is None

    before_ms = int(time.time()) * 1000  # Jolokia gives whole seconds
    publish(broker_lab, f"/queue/{queue}", ["old", "new"])
    after_ms = int(time.time() * 1000)

    oldest = await jolokia.oldest_pending_timestamp(queue)
    assert oldest is not None
    assert before_ms - 1000 <= oldest <= after_ms


async def test_a_wrong_password_names_the_user_and_the_config_keys(
    broker_lab: BrokerLab,
) -> None:
    async with JolokiaClient(broker_lab.jolokia_url, "admin", "not-the-password") as client:
        with pytest.raises(SyncWizardError) as caught:
            await client.broker_name()
    error = caught.value
    assert error.system == "broker"
    assert "'admin'" in error.message and "HTTP 401" in error.message
    assert "broker.user" in error.hint and "broker.password_env" in error.hint
    assert "not-the-password" not in error.render()


async def test_like_the_real_console_a_request_without_origin_is_refused(
    broker_lab: BrokerLab, jolokia: JolokiaClient
) -> None:
    request = {"type": "read", "mbean": "org.apache.activemq:type=Broker,brokerName=localhost"}
    auth = (broker_lab.user, broker_lab.password)
    async with httpx.AsyncClient(auth=auth) as raw:
        bare = await raw.post(broker_lab.jolokia_url, json=request)
        with_referer = await raw.post(
            broker_lab.jolokia_url, json=request, headers={"Referer": "http://somewhere/"}
        )

    assert bare.status_code == 200  # the refusal hides in the body
    assert bare.json()["status"] == 403
    assert "Origin null is not allowed" in bare.json()["error"]
    assert with_referer.json()["status"] == 200
    assert await jolokia.broker_name() == "localhost"  # our client sends an Origin


async def test_a_closed_port_is_reported_as_unreachable() -> None:
    async with JolokiaClient("http://127.0.0.1:9/api/jolokia", "admin", "admin") as client:
        with pytest.raises(SyncWizardError) as caught:
            await client.broker_name()
    assert "Cannot reach Jolokia at http://127.0.0.1:9/api/jolokia" in caught.value.message
    assert "broker.jolokia_url" in caught.value.hint


async def test_a_wrong_path_answering_html_is_reported_as_not_json(
    broker_lab: BrokerLab,
) -> None:
    wrong_url = broker_lab.jolokia_url.removesuffix("/api/jolokia") + "/admin/"
    async with JolokiaClient(wrong_url, broker_lab.user, broker_lab.password) as client:
        with pytest.raises(SyncWizardError) as caught:
            await client.broker_name()
    assert "HTTP 404 with text/html instead of JSON" in caught.value.message


class LoginPage(BaseHTTPRequestHandler):
    """What a reverse proxy with single sign-on answers: a login page, HTTP 200."""

    def do_POST(self) -> None:
        body = b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head></html>\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def login_page_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), LoginPage)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/jolokia"
    finally:
        server.shutdown()
        server.server_close()


async def test_a_login_page_instead_of_json_is_shown_by_its_first_line(
    login_page_url: str,
) -> None:
    async with JolokiaClient(login_page_url, "admin", "admin") as client:
        with pytest.raises(SyncWizardError) as caught:
            await client.read_stats("Consumer.x.y", None)
    message = caught.value.message
    assert "HTTP 200 with text/html; charset=utf-8 instead of JSON" in message
    assert "<!DOCTYPE html>" in message
    assert "login page" in caught.value.hint


async def test_reading_stats_costs_little_client_cpu(
    broker_lab: BrokerLab, jolokia: JolokiaClient
) -> None:
    """The dashboard reads once per second; budget about 2 ms of our CPU per read."""
    _, queue = await new_sync_queue(jolokia, LEGACY_TOPIC)
    for _ in range(20):
        await jolokia.read_stats(queue, LEGACY_TOPIC)
    started = time.process_time()
    for _ in range(100):
        await jolokia.read_stats(queue, LEGACY_TOPIC)
    per_read_ms = (time.process_time() - started) * 1000 / 100
    assert per_read_ms < 5.0, f"{per_read_ms:.2f} ms of CPU per read"


def durable_subscriber(lab: BrokerLab, topic: str, client: str, name: str) -> stomp.Connection12:
    """A durable subscription as Search Enterprise or an audit extension holds one: a
    connection with a client id, a SUBSCRIBE naming the subscription; confirmed."""
    connection = stomp.Connection12([(HOST, lab.layout.ports.stomp)], timeout=5)
    connection.connect(lab.user, lab.password, wait=True, headers={"client-id": client})
    waiter = ReceiptWaiter("durable")
    connection.set_listener("durable", waiter)
    connection.subscribe(
        f"/topic/{topic}",
        id=name,
        headers={"activemq.subscriptionName": name, "receipt": "durable"},
    )
    await_receipt(waiter, f"the durable subscription {client}/{name}")
    return connection


async def test_the_topics_other_subscribers_are_named_with_the_orphaned_queues(
    jolokia: JolokiaClient, broker_lab: BrokerLab
) -> None:
    topic = f"VirtualTopic.sw.subscribers.{new_sync_id()[:8]}"
    own = sync_queue_name(new_sync_id(), topic)
    orphan = sync_queue_name(new_sync_id(), topic)  # another installation's, gone
    for queue in (own, orphan):
        await jolokia.add_queue(queue)
    search = durable_subscriber(broker_lab, topic, "search", "live-indexing")
    try:
        publish(broker_lab, f"/topic/{topic}", ["e1", "e2", "e3"])
        alone = await jolokia.topic_subscribers(topic, own)
        by_name = {s.name: s for s in alone.others}
        assert by_name[orphan].orphaned and by_name[orphan].pending == 3
        assert by_name["search/live-indexing"].kind == "durable subscription"
        assert own not in by_name and not alone.alone and alone.topic_consumers == 1
        assert [s.name for s in alone.orphans] == [orphan]
        assert "durable subscription search/live-indexing (1 consumer)" in alone.describe()

        search.disconnect()  # the subscription stays, and keeps collecting for its owner
        deadline = time.monotonic() + 15
        while True:
            later = await jolokia.topic_subscribers(topic, own)
            kinds = {s.name: s.kind for s in later.others}
            # (between active and inactive, a subscription is briefly in neither list)
            if kinds.get("search/live-indexing") == "inactive durable subscription":
                break
            assert time.monotonic() < deadline, f"still active after its disconnect: {kinds}"
            await asyncio.sleep(0.1)
        assert not later.alone
    finally:
        if search.is_connected():
            search.disconnect()
        await jolokia.destroy_durable_subscription("search", "live-indexing")
        for queue in (own, orphan):
            await jolokia.remove_queue(queue)
    await jolokia.remove_topic(topic)
    assert (await jolokia.topic_subscribers(topic, own)).alone
