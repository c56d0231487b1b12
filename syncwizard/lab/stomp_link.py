"""A STOMP connection for the lab's own processes (stand-in, generator), opened with care.

Two things stomp.py's `connect(wait=True)` does not do: it waits forever for a
CONNECTED frame, and it cannot tell when Linux has connected the socket to
itself. The lab's ports lie in the ephemeral range, so while the broker is down
a connect to 127.0.0.1:<stomp port> can pick that very port as its local port
(a TCP "self-connect"); the socket then holds the port and the broker cannot
bind it when it comes back. This module drops such a socket at once.
"""

from __future__ import annotations

import contextlib
import threading
import time

import stomp
import stomp.exception

CONNECT_TIMEOUT_S = 5.0


class LinkListener(stomp.ConnectionListener):
    """Tells when the broker said CONNECTED, an ERROR, or closed the connection."""

    def __init__(self) -> None:
        self.connected = threading.Event()
        self.closed = threading.Event()
        self.error = ""

    def on_connected(self, frame: stomp.utils.Frame) -> None:
        self.connected.set()

    def on_error(self, frame: stomp.utils.Frame) -> None:
        self.error = frame.headers.get("message", "") or frame.body.strip()[:200]

    def on_disconnected(self) -> None:
        self.closed.set()


def _connected_to_itself(connection: stomp.Connection12) -> bool:
    sock = getattr(connection.transport, "socket", None)
    if sock is None:
        return False
    try:
        return bool(sock.getsockname() == sock.getpeername())
    except OSError:
        return False


def close(connection: stomp.Connection12, link: LinkListener, *, wait: float = 2.0) -> None:
    """DISCONNECT politely if connected, then make sure the socket is closed."""
    try:
        if connection.is_connected():
            connection.disconnect()
            link.closed.wait(wait)
    except (OSError, stomp.exception.StompException):
        pass
    finally:
        with contextlib.suppress(OSError):
            connection.transport.disconnect_socket()


def open_link(
    host: str,
    port: int,
    user: str,
    password: str,
    *,
    listeners: dict[str, stomp.ConnectionListener] | None = None,
    timeout: float = CONNECT_TIMEOUT_S,
) -> tuple[stomp.Connection12, LinkListener]:
    """Connect (STOMP 1.2) and wait for CONNECTED; raise ConnectFailedException saying why."""
    connection = stomp.Connection12([(host, port)], reconnect_attempts_max=1, timeout=timeout)
    link = LinkListener()
    connection.set_listener("link", link)
    for name, listener in (listeners or {}).items():
        connection.set_listener(name, listener)
    connection.connect(user, password, wait=False)
    if _connected_to_itself(connection):
        close(connection, link, wait=0)
        raise stomp.exception.ConnectFailedException("nothing listens there (self-connect)")
    deadline = time.monotonic() + timeout
    while not (link.connected.is_set() or link.closed.is_set()) and time.monotonic() < deadline:
        link.connected.wait(0.05)
    if not link.connected.is_set():
        close(connection, link, wait=0)
        reason = link.error or f"no CONNECTED frame within {timeout:g} s"
        raise stomp.exception.ConnectFailedException(reason)
    return connection, link
