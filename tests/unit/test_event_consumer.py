"""Clearing a queue into the archive, against a scripted STOMP broker: each event is
acknowledged only once its line is durable, a redelivery is written once, and every way a
clear is cut short keeps what was written and acknowledges nothing else."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import stomp.exception
from stomp_peer import (
    Script,
    ScriptedBroker,
    drop,
    headers_of,
    message_frame,
    stay_until_disconnect,
)

from syncwizard.clients import event_consumer
from syncwizard.clients.event_consumer import ClearCounts, ClearResult, consume_into_archive
from syncwizard.clients.stomp_session import StompTarget, stomp_address
from syncwizard.errors import SyncWizardError

StartPeer = Callable[[Script], ScriptedBroker]


@pytest.fixture
def scripted() -> Iterator[StartPeer]:
    brokers: list[ScriptedBroker] = []

    def start(script: Script) -> ScriptedBroker:
        brokers.append(ScriptedBroker(script))
        return brokers[-1]

    yield start
    for broker in brokers:
        broker.close()


def archived_ids(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [json.loads(line)["headers"]["message-id"] for line in path.read_bytes().splitlines()]


class AckingBroker:
    """Sends `count` events, then reads ACKs; at each ACK it notes whether the acknowledged
    event's line was already in the archive file (on disk, where a crash would find it)."""

    def __init__(self, path: Path, count: int, *, first: int = 0, redelivered: bool = False):
        self.path, self.count, self.first, self.redelivered = path, count, first, redelivered
        self.acked: list[str] = []
        self.in_archive_when_acked: list[bool] = []
        self.all_acked = threading.Event()

    def __call__(self, peer: ScriptedBroker, connection: socket.socket, subscription: str) -> None:
        for number in range(self.first, self.first + self.count):
            connection.sendall(message_frame(subscription, number, redelivered=self.redelivered))
        connection.settimeout(10)
        while frame := peer.read_frame(connection):
            if frame.startswith(b"ACK"):
                ack_id = headers_of(frame)["id"]
                message_id = "ID:fake-" + ack_id.removeprefix("ack-")
                self.acked.append(ack_id)
                self.in_archive_when_acked.append(message_id in archived_ids(self.path))
                if len(self.acked) == self.count:
                    self.all_acked.set()
            elif frame.startswith(b"DISCONNECT"):
                return


def target(peer: ScriptedBroker) -> StompTarget:
    return StompTarget(peer.url, "admin", "admin", connect_timeout=5)


async def clear(
    peer: ScriptedBroker,
    path: Path,
    until: Callable[[ClearCounts], bool] = lambda counts: False,
    **options: object,
) -> ClearResult:
    async def ask(counts: ClearCounts) -> bool:
        return until(counts)

    return await consume_into_archive(
        target(peer),
        "Q",
        path,
        until=ask,
        check_every=0.05,
        **options,  # type: ignore[arg-type]
    )


async def test_each_event_is_acknowledged_only_once_its_line_is_in_the_archive(
    scripted: StartPeer, tmp_path: Path
) -> None:
    path = tmp_path / "events.jsonl"
    broker = AckingBroker(path, 25)
    peer = scripted(broker)

    result = await clear(peer, path, lambda counts: broker.all_acked.is_set(), batch=10)

    assert result.failure == ""
    assert sorted(broker.acked) == sorted(f"ack-{n}" for n in range(25))
    assert all(broker.in_archive_when_acked)
    assert archived_ids(path) == [f"ID:fake-{n}" for n in range(25)]
    assert (result.counts.archived, result.counts.written, result.counts.removed) == (25, 25, 25)
    assert peer.subscribe_headers["ack"] == "client-individual"
    assert int(peer.subscribe_headers["activemq.prefetchSize"]) > 10


async def test_the_archive_is_private_and_holds_no_delivery_tokens(
    scripted: StartPeer, tmp_path: Path
) -> None:
    path = tmp_path / "events.jsonl"
    broker = AckingBroker(path, 3)
    await clear(scripted(broker), path, lambda counts: broker.all_acked.is_set())
    assert path.stat().st_mode & 0o777 == 0o600
    line = json.loads(path.read_bytes().splitlines()[0])
    assert line["body"] == "event" and "ack" not in line["headers"]
    assert line["headers"]["subscription"] == "syncwizard-clear"


async def test_an_event_delivered_again_after_a_kill_is_written_once(
    scripted: StartPeer, tmp_path: Path
) -> None:
    """The first attempt wrote events 0-4 and died before acknowledging them: the broker
    delivers them again, with 5-7 that are new."""
    path = tmp_path / "events.jsonl"
    first = AckingBroker(path, 5)
    await clear(scripted(first), path, lambda counts: first.all_acked.is_set())
    again = AckingBroker(path, 8, redelivered=True)

    result = await clear(scripted(again), path, lambda counts: again.all_acked.is_set())

    assert archived_ids(path) == [f"ID:fake-{n}" for n in range(8)]
    assert len(again.acked) == 8 and all(again.in_archive_when_acked)
    assert (result.counts.written, result.counts.duplicates, result.counts.removed) == (3, 5, 8)
    assert result.counts.archived == 8


async def test_a_line_cut_short_by_a_kill_is_dropped_and_its_event_written_again(
    scripted: StartPeer, tmp_path: Path
) -> None:
    path = tmp_path / "events.jsonl"
    first = AckingBroker(path, 2)
    await clear(scripted(first), path, lambda counts: first.all_acked.is_set())
    with path.open("ab") as file:
        file.write(b'{"headers":{"message-id":"ID:fake-2"},"bo')  # the kill, mid-line
    again = AckingBroker(path, 2, first=2)

    await clear(scripted(again), path, lambda counts: again.all_acked.is_set())

    assert archived_ids(path) == ["ID:fake-0", "ID:fake-1", "ID:fake-2", "ID:fake-3"]


async def test_a_dropped_connection_is_the_failure_and_keeps_every_acknowledged_line(
    scripted: StartPeer, tmp_path: Path
) -> None:
    path = tmp_path / "events.jsonl"

    def script(peer: ScriptedBroker, connection: socket.socket, subscription: str) -> None:
        for number in range(4):
            connection.sendall(message_frame(subscription, number))
        connection.settimeout(10)
        acks = 0
        while acks < 4 and (frame := peer.read_frame(connection)):
            acks += frame.startswith(b"ACK")
        connection.sendall(message_frame(subscription, 4))  # never acknowledged
        drop(connection)

    result = await clear(scripted(script), path, max_delay=0.0)

    assert "closed the connection" in result.failure
    assert result.counts.removed == 4
    assert archived_ids(path)[:4] == [f"ID:fake-{n}" for n in range(4)]


async def test_an_error_frame_mid_clear_is_the_failure(scripted: StartPeer, tmp_path: Path) -> None:
    def script(peer: ScriptedBroker, connection: socket.socket, subscription: str) -> None:
        connection.sendall(message_frame(subscription, 0))
        connection.sendall(b"ERROR\nmessage:Queue was deleted\n\n\0")
        stay_until_disconnect(peer, connection)

    result = await clear(scripted(script), tmp_path / "events.jsonl")
    assert result.failure == "Queue was deleted"


async def test_when_until_raises_the_clear_stops_and_the_error_goes_on(
    scripted: StartPeer, tmp_path: Path
) -> None:
    path = tmp_path / "events.jsonl"
    broker = AckingBroker(path, 3)

    def until(counts: ClearCounts) -> bool:
        if broker.all_acked.is_set():
            raise SyncWizardError("another consumer attached", hint="stop it", system="broker")
        return False

    with pytest.raises(SyncWizardError, match="another consumer"):
        await clear(scripted(broker), path, until)
    assert archived_ids(path) == ["ID:fake-0", "ID:fake-1", "ID:fake-2"]


async def test_cancelling_acknowledges_what_is_durable_and_nothing_more(
    scripted: StartPeer, tmp_path: Path
) -> None:
    path = tmp_path / "events.jsonl"
    broker = AckingBroker(path, 6)
    task = asyncio.create_task(clear(scripted(broker), path))
    await asyncio.to_thread(broker.all_acked.wait, 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(broker.acked) == 6 and all(broker.in_archive_when_acked)


async def test_progress_is_reported_on_the_event_loop(scripted: StartPeer, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    broker = AckingBroker(path, 3)
    loop_thread = threading.get_ident()
    calls: list[tuple[int, bool]] = []

    def on_progress(counts: ClearCounts) -> None:
        calls.append((counts.removed, threading.get_ident() == loop_thread))

    await clear(
        scripted(broker), path, lambda counts: broker.all_acked.is_set(), on_progress=on_progress
    )
    assert calls and calls[-1] == (3, True)
    assert all(on_loop for _, on_loop in calls)


async def test_a_login_refused_by_an_error_frame_touches_no_file(tmp_path: Path) -> None:
    class RefusingBroker(ScriptedBroker):
        def _serve(self) -> None:
            connection, _ = self._listener.accept()
            with connection:
                connection.recv(4096)
                connection.sendall(
                    b"ERROR\nmessage:User name [admin] or password is invalid.\n\n\0"
                )

    peer = RefusingBroker(lambda p, c, s: None)
    try:
        with pytest.raises(SyncWizardError) as caught:
            await clear(peer, tmp_path / "events.jsonl")
    finally:
        peer.close()
    assert "password is invalid" in caught.value.message
    assert "broker.password_env" in caught.value.hint
    assert list(tmp_path.iterdir()) == []


async def test_an_unreachable_broker_is_named_with_what_to_check(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once closed
    peer_url = f"stomp://127.0.0.1:{port}"
    with pytest.raises(SyncWizardError) as caught:
        await consume_into_archive(
            StompTarget(peer_url, "admin", "admin", connect_timeout=2),
            "Q",
            tmp_path / "events.jsonl",
            until=lambda counts: asyncio.sleep(0, True),
        )
    assert peer_url in caught.value.message and "STOMP connector" in caught.value.hint
    assert list(tmp_path.iterdir()) == []


# --- addresses ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("stomp://mq.example.org:61613", ("mq.example.org", 61613, False)),
        ("stomp+ssl://mq.example.org:61614", ("mq.example.org", 61614, True)),
        ("stomp://127.0.0.1", ("127.0.0.1", 61613, False)),
        ("STOMP://mq:1", ("mq", 1, False)),
    ],
)
def test_stomp_addresses_are_parsed(url: str, address: tuple[str, int, bool]) -> None:
    assert stomp_address(url) == address


@pytest.mark.parametrize("url", ["http://mq:61613", "mq:61613", "stomp://", "stomp://mq:99999"])
def test_a_bad_stomp_address_names_the_expected_form(url: str) -> None:
    with pytest.raises(SyncWizardError) as caught:
        stomp_address(url)
    assert "stomp://host:port" in caught.value.message or "port" in caught.value.message
    assert "broker.stomp" in caught.value.hint


def test_acknowledgements_cut_by_a_dropped_connection_say_so() -> None:
    """The broker may drop the connection while the acknowledgements go out (before its
    disconnect is seen): the failure still says what happened."""
    assert event_consumer.ack_failure(stomp.exception.NotConnectedException()) == (
        "acknowledging failed: the broker closed the connection (NotConnectedException)"
    )
    assert event_consumer.ack_failure(BrokenPipeError(32, "Broken pipe")) == (
        "acknowledging failed: the broker closed the connection ([Errno 32] Broken pipe)"
    )
    assert event_consumer.ack_failure(OSError(5, "I/O error")) == (
        "acknowledging failed: [Errno 5] I/O error"
    )
