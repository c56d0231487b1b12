"""A TCP proxy in front of the lab PostgreSQL that goes silent, as a network black hole does.

`mode="mute"` accepts a connection and then never answers (a firewall that lets the
handshake through and drops everything after it); `mode="after_login"` relays the
startup, the login and the first `pass_queries` queries, then swallows the next query
and everything after it, in both directions (the network failing once a session is
open). The kernel still acknowledges
every byte, so no TCP timeout or keepalive ends such a wait: only a deadline of ours does.
`mode="relay"` passes everything, so a test can see the same path work.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Literal

Mode = Literal["mute", "after_login", "relay"]

_STARTUP_V3 = 196608  # protocol 3.0 in a startup packet; SSL/GSS requests carry other codes
_QUERY_TYPES = (b"Q", b"P")  # simple query, Parse (the extended protocol)


@dataclass
class SilentProxy:
    upstream: tuple[str, int]
    mode: Mode
    port: int = 0
    pass_queries: int = 0  # after_login: queries relayed before it goes silent
    connections: int = 0  # connections accepted so far
    swallowed: int = 0  # queries that never reached the server
    _stop: threading.Event = field(default_factory=threading.Event)
    _sockets: list[socket.socket] = field(default_factory=list)

    def conninfo(self, dbname: str, user: str) -> str:
        return f"host=127.0.0.1 port={self.port} dbname={dbname} user={user}"

    def serve(self, client: socket.socket) -> None:
        self.connections += 1
        client.settimeout(None)
        self._sockets.append(client)
        if self.mode == "mute":
            self._stop.wait()  # hold the connection open, answer nothing
            return
        try:
            server = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            return
        server.settimeout(None)
        self._sockets.append(server)
        gate = threading.Event()  # set once the first query was seen: both ways go silent
        threading.Thread(target=self._copy, args=(server, client, gate), daemon=True).start()
        self._client_to_server(client, server, gate)

    def _client_to_server(
        self, client: socket.socket, server: socket.socket, gate: threading.Event
    ) -> None:
        buffer = b""
        typed = False  # after the startup packet every message starts with a type byte
        queries = 0
        while not self._stop.is_set():
            chunk = _receive(client)
            if not chunk:
                return
            if gate.is_set():
                continue
            buffer += chunk
            while True:
                header = 5 if typed else 4
                if len(buffer) < header:
                    break
                if typed:
                    kind, length = buffer[:1], struct.unpack("!I", buffer[1:5])[0] + 1
                else:
                    kind, length = b"", struct.unpack("!I", buffer[:4])[0]
                if len(buffer) < length:
                    break
                message, buffer = buffer[:length], buffer[length:]
                if self.mode == "after_login" and kind in _QUERY_TYPES:
                    queries += 1
                    if queries > self.pass_queries:
                        self.swallowed += 1
                        gate.set()
                        buffer = b""
                        break
                if not typed and len(message) >= 8:
                    typed = struct.unpack("!I", message[4:8])[0] == _STARTUP_V3
                with suppress(OSError):
                    server.sendall(message)

    def _copy(self, source: socket.socket, target: socket.socket, gate: threading.Event) -> None:
        while not self._stop.is_set():
            chunk = _receive(source)
            if not chunk:
                return
            if not gate.is_set():
                with suppress(OSError):
                    target.sendall(chunk)

    def close(self) -> None:
        self._stop.set()
        for sock in self._sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in recv
            with suppress(OSError):
                sock.close()


def _receive(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""


@contextmanager
def silent_proxy(upstream_port: int, mode: Mode, *, pass_queries: int = 0) -> Iterator[SilentProxy]:
    """A SilentProxy on 127.0.0.1 in front of 127.0.0.1:`upstream_port`; closed on exit."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    proxy = SilentProxy(("127.0.0.1", upstream_port), mode, listener.getsockname()[1], pass_queries)

    def accept_loop() -> None:
        while not proxy._stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=proxy.serve, args=(client,), daemon=True).start()

    acceptor = threading.Thread(target=accept_loop, daemon=True)
    acceptor.start()
    try:
        yield proxy
    finally:
        proxy.close()
        acceptor.join(timeout=5)
        listener.close()
