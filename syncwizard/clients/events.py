"""The pending events of a queue, browsed over STOMP without consuming them: only to show them.

A STOMP 1.1+ subscription with `browser: true` makes ActiveMQ send a copy of the
messages on the queue, then a MESSAGE frame with `browser: end`; the queue keeps
its messages. A browse returns what the broker holds in memory (about half of a
60,000-event queue on the lab's broker), so it never proves completeness: the
restore clears a queue with event_consumer.consume_into_archive, never by browsing.

Browsing a queue that does not exist creates it (ActiveMQ creates destinations on
subscription), and a new `Consumer.*` queue then starts receiving copies from its
virtual topic: look the queue up with Jolokia first.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import stomp

from syncwizard.clients.event_fields import PendingEvent, pending_event
from syncwizard.clients.stomp_session import StompTarget, connect, quietly_disconnect
from syncwizard.errors import SyncWizardError

TICK = 0.1  # seconds between checks for stop and stall


class _BrowseListener(stomp.ConnectionListener):
    """Runs in stomp.py's receiver thread; collects up to `limit` events."""

    def __init__(self, limit: int | None) -> None:
        self.events: list[PendingEvent] = []
        self._limit = limit
        self.finished = threading.Event()
        self.error = ""
        self.frames = 0  # MESSAGE frames seen, to notice a stalled browse

    def finish(self, error: str = "") -> None:
        if not self.finished.is_set():
            self.error = error
            self.finished.set()

    def on_error(self, frame: Any) -> None:
        self.finish(frame.headers.get("message") or "the broker sent ERROR")

    def on_disconnected(self) -> None:
        self.finish("the broker closed the connection")

    def on_message(self, frame: Any) -> None:
        self.frames += 1
        if self.finished.is_set():
            return
        headers = frame.headers
        if headers.get("browser") == "end":
            self.finish()
            return
        body = frame.body.decode("utf-8", errors="replace")
        self.events.append(pending_event(dict(headers), body))
        if self._limit is not None and len(self.events) >= self._limit:
            self.finish()


def _browse_blocking(
    target: StompTarget, queue: str, listener: _BrowseListener, stop: threading.Event, idle: float
) -> None:
    connection, session = connect(target, {"syncwizard-browse": listener})
    try:
        connection.subscribe(
            destination=f"/queue/{queue}",
            id="syncwizard-browse",
            ack="auto",
            headers={"browser": "true"},
        )
        frames_seen, quiet_since = -1, time.monotonic()
        while not listener.finished.wait(TICK):
            if stop.is_set():
                listener.finish("cancelled")
            elif listener.frames != frames_seen:
                frames_seen, quiet_since = listener.frames, time.monotonic()
            elif time.monotonic() - quiet_since > idle:
                listener.finish(f"no message from the broker for {idle:g} s")
    finally:
        quietly_disconnect(connection, session)


async def browse_pending(
    stomp_url: str,
    user: str,
    password: str,
    queue: str,
    *,
    limit: int | None = 400,
    ca_bundle: Path | None = None,
    idle_timeout: float = 30.0,
) -> list[PendingEvent]:
    """The first `limit` pending messages of `queue` (as many as the broker hands a browser
    if None), leaving the queue as is.

    Raises a SyncWizardError when the broker cannot be reached, refuses the login, or
    the browse is cut short.
    """
    if limit is not None and limit <= 0:
        return []
    target = StompTarget(stomp_url, user, password, ca_bundle)
    listener = _BrowseListener(limit)
    stop = threading.Event()
    task = asyncio.ensure_future(
        asyncio.to_thread(_browse_blocking, target, queue, listener, stop, idle_timeout)
    )
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        stop.set()
        await asyncio.wait([task])
        raise
    if listener.error:
        raise SyncWizardError(
            f"Browsing queue {queue} at {stomp_url} stopped after {len(listener.events)} "
            f"messages: {listener.error}.",
            hint="check the broker's log and try again",
            system="stomp",
        )
    return listener.events
