"""A STOMP 1.2 connection to the broker, opened for the wizard's own reading and clearing.

stomp.py runs its own receiver thread; the callers here block (they run in a worker
thread, `asyncio.to_thread`) and hand frames over through a `stomp.ConnectionListener`.
Every failure to connect or log in becomes a SyncWizardError that names the broker,
the user and what to check; the password never appears in one.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import stomp
import stomp.exception

from syncwizard.errors import SyncWizardError

# stomp.py logs connection failures as warnings; we report them as SyncWizardErrors, and
# Python's last-resort handler would otherwise print them across the TUI.
logging.getLogger("stomp.py").addHandler(logging.NullHandler())

DEFAULT_PORT = 61613
REACH_HINT = (
    "check that the broker runs, that its STOMP connector is enabled, and that "
    "broker.stomp in the profile names the right host and port (ActiveMQ's default is 61613)"
)


def stomp_address(url: str) -> tuple[str, int, bool]:
    """`stomp://host:port` or `stomp+ssl://host:port` -> (host, port, use_tls)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("stomp", "stomp+ssl") or not parts.hostname:
        raise SyncWizardError(
            f"{url!r} is not a STOMP address: expected stomp://host:port or stomp+ssl://host:port",
            hint="set broker.stomp in the profile, e.g. stomp://mq.example.org:61613",
            system="config",
        )
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise SyncWizardError(
            f"{url!r} has an invalid port: expected a number from 1 to 65535",
            hint="set broker.stomp in the profile, e.g. stomp://mq.example.org:61613",
            system="config",
        ) from None
    return parts.hostname, port, scheme == "stomp+ssl"


@dataclass(frozen=True)
class StompTarget:
    """Where and as whom to reach the broker over STOMP."""

    url: str
    user: str
    password: str = field(repr=False)
    ca_bundle: Path | None = None
    connect_timeout: float = 10.0


class SessionListener(stomp.ConnectionListener):
    """Tells the blocking side when the broker said CONNECTED, an ERROR, or hung up."""

    def __init__(self) -> None:
        self.connected = threading.Event()
        self.closed = threading.Event()
        self.error = ""

    def on_connected(self, frame: Any) -> None:
        self.connected.set()

    def on_error(self, frame: Any) -> None:
        body = frame.body.decode("utf-8", "replace") if isinstance(frame.body, bytes) else ""
        first_body_line = next(iter(body.strip().splitlines()), "")
        self.error = frame.headers.get("message") or first_body_line or "the broker sent ERROR"
        self.connected.set()

    def on_disconnected(self) -> None:
        self.closed.set()
        self.connected.set()


def _nothing_listens(host: str, port: int, timeout: float) -> bool:
    """True when host:port actively refuses a TCP connection (no connector there), as opposed
    to a timeout, an unknown host or a broker that answered and then refused."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


def no_connector(target: StompTarget, host: str, port: int) -> SyncWizardError:
    return SyncWizardError(
        f"STOMP at {target.url}: nothing listens on {host}:{port} (connection refused): the "
        "broker has no STOMP connector there. ActiveMQ 5.19.7+ and 6.2.6+ ship with STOMP "
        "commented out in conf/activemq.xml (only OpenWire, port 61616, is open), and compose "
        "still maps 61613 to nothing.",
        hint="set broker.stomp to the broker's STOMP connector if it has one elsewhere; "
        'otherwise the broker needs one for the restore: a <transportConnector name="stomp" '
        'uri="stomp://127.0.0.1:61613"/> in conf/activemq.xml, applied by a broker restart '
        "while the Sync Service and repository are stopped, and removed afterwards",
        system="stomp",
    )


def refused(target: StompTarget, why: str, hint: str) -> SyncWizardError:
    return SyncWizardError(
        f"STOMP at {target.url} did not accept a connection as user {target.user!r}: "
        f"{why.rstrip('.')}.",
        hint=hint,
        system="stomp",
    )


def connect(
    target: StompTarget, listeners: dict[str, stomp.ConnectionListener]
) -> tuple[stomp.Connection12, SessionListener]:
    """Connect and wait for CONNECTED; `listeners` get the frames. Raises SyncWizardError."""
    host, port, use_tls = stomp_address(target.url)
    connection = stomp.Connection12(
        [(host, port)],
        reconnect_attempts_max=1,
        timeout=target.connect_timeout,
        heartbeats=(0, 0),
        auto_decode=False,
    )
    if use_tls:
        ca_certs = str(target.ca_bundle) if target.ca_bundle else None
        connection.set_ssl(for_hosts=[(host, port)], ca_certs=ca_certs)
    session = SessionListener()
    connection.set_listener("syncwizard-session", session)
    for name, listener in listeners.items():
        connection.set_listener(name, listener)
    try:
        connection.connect(target.user, target.password, wait=False)
    except (OSError, stomp.exception.StompException) as exc:
        if _nothing_listens(host, port, min(2.0, target.connect_timeout)):
            raise no_connector(target, host, port) from None
        why = str(exc) or f"no connection to {host}:{port} (refused, unreachable or timed out)"
        raise refused(target, why, REACH_HINT) from None
    if not session.connected.wait(target.connect_timeout) or not connection.is_connected():
        reason = session.error or f"no CONNECTED frame within {target.connect_timeout:.0f} s"
        quietly_disconnect(connection)
        credentials = "password" in reason.lower() or "user" in reason.lower()
        hint = (
            "check broker.user and the broker password (broker.password_env or "
            "broker.password_file); STOMP uses the broker's users, which may differ from the "
            "console's"
            if credentials
            else REACH_HINT
        )
        raise refused(target, reason, hint)
    return connection, session


def quietly_disconnect(
    connection: stomp.Connection12, session: SessionListener | None = None
) -> None:
    """DISCONNECT (with a receipt, so frames sent before are handled), then close the socket."""
    try:
        if connection.is_connected():
            connection.disconnect(receipt="syncwizard-bye")
            if session is not None:
                session.closed.wait(10.0)
    except (OSError, stomp.exception.StompException):
        pass
    finally:
        with contextlib.suppress(OSError, AttributeError):
            connection.transport.disconnect_socket()


def probe(target: StompTarget) -> None:
    """Connect and disconnect: the channel a clear will consume through accepts us.
    Blocking (run it in a thread); raises the same SyncWizardError a clear would."""
    connection, session = connect(target, {})
    quietly_disconnect(connection, session)
