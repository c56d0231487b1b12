"""The lab's ActiveMQ broker alone, for the broker tests: one per naming, per session.

The brokers listen next to TEST_PORTS (legacy naming +1, event2 naming +2),
because the shared `lab` fixture (the whole stack) holds TEST_PORTS in the same
session, and these tests purge and delete destinations, which must not disturb
the stand-in of that lab. A missing Debian package fails with the apt command.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
import stomp

from syncwizard.clients.names import EVENT2_TOPIC, LEGACY_TOPIC
from syncwizard.lab import broker
from syncwizard.lab.layout import HOST, TEST_PORTS, LabLayout, LabPorts

PUBLISH_TIMEOUT = 120.0  # seconds for the broker to take a batch of published messages


def _next_to_test_ports(offset: int) -> LabPorts:
    return replace(
        TEST_PORTS,
        openwire=TEST_PORTS.openwire + offset,
        stomp=TEST_PORTS.stomp + offset,
        jolokia=TEST_PORTS.jolokia + offset,
    )


BROKER_TEST_PORTS = _next_to_test_ports(1)
EVENT2_BROKER_TEST_PORTS = _next_to_test_ports(2)


@dataclass(frozen=True)
class BrokerLab:
    """A running lab broker and how to reach it."""

    layout: LabLayout
    topic: str
    user: str = broker.LAB_BROKER_USER
    password: str = broker.LAB_BROKER_PASSWORD

    @property
    def jolokia_url(self) -> str:
        return broker.jolokia_url(self.layout)

    @property
    def stomp_url(self) -> str:
        return broker.stomp_url(self.layout)


def run_broker(root: Path, ports: LabPorts, topic: str) -> Iterator[BrokerLab]:
    """Configure and start a broker under `root`; stop it when the generator closes."""
    layout = LabLayout(root, ports)
    broker.ensure_configured(layout, topic=topic)
    try:
        broker.start(layout)
        yield BrokerLab(layout, topic)
    finally:
        broker.stop(layout)


@pytest.fixture(scope="session")
def broker_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerLab]:
    """A broker with the legacy topic `VirtualTopic.alfresco.repo.events.nodes`."""
    root = tmp_path_factory.mktemp("sw-broker") / "lab"
    yield from run_broker(root, BROKER_TEST_PORTS, LEGACY_TOPIC)


@pytest.fixture(scope="session")
def event2_broker_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerLab]:
    """A broker configured like `lab up --event2`: `alfresco.repo.event2` is a virtual topic."""
    root = tmp_path_factory.mktemp("sw-broker-event2") / "lab"
    yield from run_broker(root, EVENT2_BROKER_TEST_PORTS, EVENT2_TOPIC)


def stomp_connection(lab: BrokerLab) -> stomp.Connection12:
    host, port = HOST, lab.layout.ports.stomp
    connection = stomp.Connection12([(host, port)], reconnect_attempts_max=1, timeout=5)
    connection.connect(lab.user, lab.password, wait=True)
    return connection


def publish(lab: BrokerLab, destination: str, bodies: Iterable[str]) -> None:
    """Send persistent messages over STOMP; returns once the broker has taken them all.

    `destination` is STOMP's: `/topic/<name>` or `/queue/<name>`. The last message asks
    for a receipt, which the broker sends after every earlier frame was processed.
    """
    connection = stomp_connection(lab)
    waiter = ReceiptWaiter("published")
    connection.set_listener("waiter", waiter)
    try:
        pending = list(bodies)
        for index, body in enumerate(pending):
            receipt = {"receipt": "published"} if index == len(pending) - 1 else {}
            connection.send(destination, body, headers={"persistent": "true"}, **receipt)
        if pending:
            await_receipt(waiter, f"{len(pending)} messages to {destination}")
    finally:
        connection.disconnect()


def await_receipt(waiter: ReceiptWaiter, what: str, timeout: float = PUBLISH_TIMEOUT) -> None:
    """Wait for the broker's RECEIPT of the last frame; fail, saying so, after `timeout`."""
    if not waiter.arrived.wait(timeout):
        raise AssertionError(
            f"the broker gave no receipt for {what} within {timeout:.0f} s "
            "(producer flow control: a queue nobody consumes is full?)"
        )


class ReceiptWaiter(stomp.ConnectionListener):
    def __init__(self, receipt: str) -> None:
        self.receipt = receipt
        self.arrived = threading.Event()

    def on_receipt(self, frame: stomp.utils.Frame) -> None:
        if frame.headers.get("receipt-id") == self.receipt:
            self.arrived.set()


def subscribe_confirmed(
    connection: stomp.Connection12,
    destination: str,
    *,
    id: str,
    ack: str = "auto",
    timeout: float = 10.0,
) -> None:
    """SUBSCRIBE, and return once the broker's RECEIPT says the subscription exists.

    Without it, messages published right after `subscribe()` can reach the broker before
    the SUBSCRIBE was processed, and a topic keeps nothing for a subscriber it does not
    know yet: on a loaded machine the first events are lost to the test.
    """
    waiter = ReceiptWaiter(f"subscribed-{id}")
    connection.set_listener(f"receipt-{id}", waiter)
    try:
        connection.subscribe(destination, id=id, ack=ack, headers={"receipt": waiter.receipt})
        if not waiter.arrived.wait(timeout):
            raise AssertionError(f"no RECEIPT for the SUBSCRIBE to {destination} in {timeout} s")
    finally:
        connection.remove_listener(f"receipt-{id}")


def new_sync_id() -> str:
    """A fresh GUID per test, so each test has queues of its own."""
    return str(uuid.uuid4())
