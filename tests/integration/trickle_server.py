"""A real HTTP server that answers too slowly, as an overloaded service or a stuck proxy does.

It reads the request, then sends its status line and headers at once and the body one
byte every `interval` seconds (`mode="body"`), or even the headers a byte at a time
(`mode="headers"`). Each byte arrives well within httpx's per-read timeout, so only an
overall deadline ends such a call. `mode="normal"` answers at once, so one server can
serve a good answer between slow ones.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Literal

Mode = Literal["body", "headers", "normal"]


@dataclass
class TrickleServer:
    port: int
    body: bytes
    content_type: str
    mode: Mode = "body"
    interval: float = 0.5
    requests: int = 0  # requests read so far
    _stop: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(0.2)
            if not self._read_request(connection):
                return
            self.requests += 1
            head = (
                "HTTP/1.1 200 OK\r\n"
                f"Content-Type: {self.content_type}\r\n"
                f"Content-Length: {len(self.body)}\r\n"
                "Connection: close\r\n\r\n"
            ).encode()
            if self.mode == "normal":
                connection.sendall(head + self.body)
                return
            if self.mode == "body":
                connection.sendall(head)
            slow = head + self.body if self.mode == "headers" else self.body
            for index in range(len(slow)):
                if self._stop.wait(self.interval):
                    return
                try:
                    connection.sendall(slow[index : index + 1])
                except OSError:  # the client gave up: what a deadline does
                    return

    def _read_request(self, connection: socket.socket) -> bool:
        """Read the request line, the headers and a Content-Length body; False on hang-up."""
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = self._receive(connection)
            if not chunk:
                return False
            received += chunk
        head, _, body = received.partition(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        while len(body) < length:
            chunk = self._receive(connection)
            if not chunk:
                return False
            body += chunk
        return True

    def _receive(self, connection: socket.socket) -> bytes:
        while not self._stop.is_set():
            try:
                return connection.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return b""
        return b""


@contextmanager
def trickling(
    body: bytes, content_type: str = "application/json", *, mode: Mode = "body"
) -> Iterator[TrickleServer]:
    """A TrickleServer on 127.0.0.1, stopped (its connections closed) on exit."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    server = TrickleServer(listener.getsockname()[1], body, content_type, mode)
    threads: list[threading.Thread] = []

    def accept_loop() -> None:
        while not server._stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=server.answer, args=(connection,), daemon=True)
            threads.append(thread)
            thread.start()

    acceptor = threading.Thread(target=accept_loop, daemon=True)
    acceptor.start()
    try:
        yield server
    finally:
        server._stop.set()
        acceptor.join(timeout=5)
        listener.close()
        for thread in threads:
            with suppress(RuntimeError):
                thread.join(timeout=5)
