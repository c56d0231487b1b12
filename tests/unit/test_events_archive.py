"""The event archive: its file handling, and browses cut short by a scripted STOMP peer."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import stat
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from syncwizard.clients import events
from syncwizard.clients.events import ArchiveWriter, archive_pending, browse_pending
from syncwizard.errors import SyncWizardError

# --- addresses and lines ------------------------------------------------------------------


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
    assert events.stomp_address(url) == address


@pytest.mark.parametrize("url", ["http://mq:61613", "mq:61613", "stomp://", "stomp://mq:99999"])
def test_a_bad_stomp_address_names_the_expected_form(url: str) -> None:
    with pytest.raises(SyncWizardError) as caught:
        events.stomp_address(url)
    assert "stomp://host:port" in caught.value.message or "port" in caught.value.message
    assert "broker.stomp" in caught.value.hint


def test_a_line_holds_headers_and_the_text_body() -> None:
    line = events.archive_line({"message-id": "ID:1", "timestamp": "5"}, "grüße\n".encode())
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert json.loads(line) == {
        "headers": {"message-id": "ID:1", "timestamp": "5"},
        "body": "grüße\n",
    }


def test_a_binary_body_is_kept_as_base64() -> None:
    record = json.loads(events.archive_line({}, b"\xff\x00\xfe"))
    assert base64.b64decode(record["body_base64"]) == b"\xff\x00\xfe"
    assert "body" not in record


# --- the writer ---------------------------------------------------------------------------


def test_the_archive_is_private_and_partial_until_finished(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    writer = ArchiveWriter(path)
    writer.write({"message-id": "ID:1"}, b"one")
    partial = tmp_path / "events.jsonl.partial"
    assert partial.exists() and not path.exists()
    assert stat.S_IMODE(partial.stat().st_mode) == 0o600

    result = writer.finish(complete=True)

    assert (result.path, result.count, result.complete) == (path, 1, True)
    assert not partial.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["body"] == "one"


def test_an_incomplete_archive_is_renamed_and_keeps_its_lines(tmp_path: Path) -> None:
    writer = ArchiveWriter(tmp_path / "events.jsonl")
    for n in range(3):
        writer.write({"message-id": f"ID:{n}"}, b"x")
    result = writer.finish(complete=False, reason="the broker closed the connection")
    assert result.path == tmp_path / "events.incomplete.jsonl"
    assert (result.count, result.complete) == (3, False)
    assert result.reason == "the broker closed the connection"
    assert len(result.path.read_text().splitlines()) == 3


def test_a_second_incomplete_archive_gets_a_number(tmp_path: Path) -> None:
    (tmp_path / "events.incomplete.jsonl").write_text("first try\n")
    result = ArchiveWriter(tmp_path / "events.jsonl").finish(complete=False)
    assert result.path == tmp_path / "events.incomplete-2.jsonl"
    assert (tmp_path / "events.incomplete.jsonl").read_text() == "first try\n"


def test_an_existing_archive_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text("kept\n")
    with pytest.raises(SyncWizardError, match="never overwritten"):
        ArchiveWriter(path)
    assert path.read_text() == "kept\n"


def test_abandoning_an_empty_archive_leaves_nothing(tmp_path: Path) -> None:
    ArchiveWriter(tmp_path / "events.jsonl").abandon()
    assert list(tmp_path.iterdir()) == []


def test_abandoning_an_archive_with_lines_keeps_them_as_incomplete(tmp_path: Path) -> None:
    writer = ArchiveWriter(tmp_path / "events.jsonl")
    writer.write({}, b"kept")
    writer.abandon()
    assert [p.name for p in tmp_path.iterdir()] == ["events.incomplete.jsonl"]


# --- browses against a scripted STOMP peer ------------------------------------------------


def message_frame(subscription: str, number: int, body: bytes = b"event") -> bytes:
    head = (
        f"MESSAGE\ndestination:/queue/Q\nmessage-id:ID:fake-{number}\n"
        f"subscription:{subscription}\ntimestamp:{1_700_000_000_000 + number}\n"
        f"content-length:{len(body)}\n\n"
    )
    return head.encode() + body + b"\0"


def end_frame(subscription: str) -> bytes:
    return f"MESSAGE\nsubscription:{subscription}\nmessage-id:0\nbrowser:end\n\n\0".encode()


Script = Callable[[socket.socket, str], None]


class ScriptedBroker:
    """Plays a broker for one connection: CONNECTED, then `script` after the SUBSCRIBE."""

    def __init__(self, script: Script) -> None:
        self._script = script
        self._buffer = b""
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"stomp://127.0.0.1:{self._listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        connection, _ = self._listener.accept()
        with connection:
            login = self._read_frame(connection)  # STOMP or CONNECT
            if not login:
                return
            connection.sendall(b"CONNECTED\nversion:1.2\n\n\0")
            subscribe = self._read_frame(connection)
            subscription = subscribe.split(b"\nid:", 1)[1].split(b"\n", 1)[0].decode()
            self._script(connection, subscription)

    def _read_frame(self, connection: socket.socket) -> bytes:
        while b"\0" not in self._buffer:
            chunk = connection.recv(4096)
            if not chunk:
                return b""
            self._buffer += chunk
        frame, self._buffer = self._buffer.split(b"\0", 1)
        return frame.lstrip(b"\r\n")

    def close(self) -> None:
        self._listener.close()
        self._thread.join(timeout=5)


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


def send_then(after: Callable[[socket.socket], None], count: int = 3) -> Script:
    def script(connection: socket.socket, subscription: str) -> None:
        for number in range(count):
            connection.sendall(message_frame(subscription, number))
        after(connection)

    return script


def drop(connection: socket.socket) -> None:
    connection.shutdown(socket.SHUT_RDWR)


def stay_silent(connection: socket.socket) -> None:
    """Send nothing more; return when the client says DISCONNECT or goes away."""
    connection.settimeout(5)
    received = b""
    while b"DISCONNECT" not in received:
        chunk = connection.recv(4096)
        if not chunk:
            return
        received += chunk


async def archive(url: str, path: Path, **options: object) -> events.ArchiveResult:
    return await archive_pending(url, "admin", "admin", "Q", path, **options)  # type: ignore[arg-type]


async def test_the_end_frame_completes_the_archive(scripted: StartPeer, tmp_path: Path) -> None:
    peer = scripted(send_then(lambda c: c.sendall(end_frame("syncwizard-browse")), count=5))
    result = await archive(peer.url, tmp_path / "events.jsonl")
    assert (result.count, result.complete, result.reason) == (5, True, "")
    lines = [json.loads(line) for line in result.path.read_text().splitlines()]
    assert [line["headers"]["message-id"] for line in lines] == [f"ID:fake-{n}" for n in range(5)]


async def test_a_dropped_connection_keeps_the_lines_and_marks_the_archive_incomplete(
    scripted: StartPeer, tmp_path: Path
) -> None:
    peer = scripted(send_then(drop, count=4))
    result = await archive(peer.url, tmp_path / "events.jsonl")
    assert (result.count, result.complete) == (4, False)
    assert result.path == tmp_path / "events.incomplete.jsonl"
    assert "closed the connection" in result.reason
    assert len(result.path.read_text().splitlines()) == 4
    assert not (tmp_path / "events.jsonl").exists()
    assert not (tmp_path / "events.jsonl.partial").exists()


async def test_an_error_frame_mid_browse_is_the_reason(scripted: StartPeer, tmp_path: Path) -> None:
    def error(connection: socket.socket) -> None:
        connection.sendall(b"ERROR\nmessage:Queue was deleted\n\n\0")
        drop(connection)

    peer = scripted(send_then(error, count=2))
    result = await archive(peer.url, tmp_path / "events.jsonl")
    assert (result.count, result.complete, result.reason) == (2, False, "Queue was deleted")


async def test_a_stalled_browse_ends_incomplete_after_the_idle_timeout(
    scripted: StartPeer, tmp_path: Path
) -> None:
    peer = scripted(send_then(stay_silent, count=1))
    started = time.monotonic()
    result = await archive(peer.url, tmp_path / "events.jsonl", idle_timeout=0.3)
    assert time.monotonic() - started < 1.5
    assert (result.count, result.complete) == (1, False)
    assert result.reason == "no message from the broker for 0.3 s"


async def test_cancelling_keeps_what_arrived_as_an_incomplete_archive(
    scripted: StartPeer, tmp_path: Path
) -> None:
    peer = scripted(send_then(stay_silent, count=2))
    task = asyncio.create_task(archive(peer.url, tmp_path / "events.jsonl"))
    incomplete = tmp_path / "events.incomplete.jsonl"
    await asyncio.sleep(0.5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(incomplete.read_text().splitlines()) == 2


async def test_progress_is_reported_on_the_event_loop(scripted: StartPeer, tmp_path: Path) -> None:
    loop_thread = threading.get_ident()
    calls: list[tuple[int, bool]] = []

    def on_progress(count: int) -> None:
        calls.append((count, threading.get_ident() == loop_thread))

    def slow_end(connection: socket.socket) -> None:
        time.sleep(0.35)  # a few ticks while the browse runs
        connection.sendall(end_frame("syncwizard-browse"))

    peer = scripted(send_then(slow_end, count=3))
    await archive(peer.url, tmp_path / "events.jsonl", on_progress=on_progress)
    assert len(calls) >= 2
    assert calls[-1] == (3, True)
    assert all(on_loop for _, on_loop in calls)


async def test_a_browse_for_a_table_cut_short_is_an_error(scripted: StartPeer) -> None:
    peer = scripted(send_then(drop, count=2))
    with pytest.raises(SyncWizardError) as caught:
        await browse_pending(peer.url, "admin", "admin", "Q", limit=None)
    assert caught.value.system == "stomp"
    assert "stopped after 2 messages" in caught.value.message


async def test_a_login_refused_by_an_error_frame_is_a_stomp_error(
    scripted: StartPeer, tmp_path: Path
) -> None:
    class RefusingBroker(ScriptedBroker):
        def _serve(self) -> None:
            connection, _ = self._listener.accept()
            with connection:
                connection.recv(4096)
                connection.sendall(
                    b"ERROR\nmessage:User name [admin] or password is invalid.\n\n\0"
                )

    peer = RefusingBroker(lambda c, s: None)
    try:
        with pytest.raises(SyncWizardError) as caught:
            await archive(peer.url, tmp_path / "events.jsonl")
    finally:
        peer.close()
    assert "password is invalid" in caught.value.message
    assert "broker.password_env" in caught.value.hint
    assert list(tmp_path.iterdir()) == []
