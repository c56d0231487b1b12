"""The pending events of a queue, browsed over STOMP without consuming them.

A STOMP 1.1+ subscription with `browser: true` makes ActiveMQ send a copy of
every message on the queue, then a MESSAGE frame with `browser: end`; the queue
keeps its messages. stomp.py runs its own receiver thread: frames are handled
there, and the asyncio side waits in a worker thread (`asyncio.to_thread`).

Browsing a queue that does not exist creates it (ActiveMQ creates destinations
on subscription), and a new `Consumer.*` queue then starts receiving copies
from its virtual topic: look the queue up with Jolokia first.

Archive format: JSON lines, one per message, `{"headers": {...}, "body": "..."}`
(`"body_base64"` instead of `"body"` when the body is not UTF-8). The file is
written as `<name>.partial` (mode 0600) and renamed to `<name>` once the broker
has sent `browser: end`. When the browse is cut short (connection dropped,
ERROR frame, no frame for `idle_timeout` seconds, cancelled) every line already
received is kept, and the file is renamed to `<stem>.incomplete<suffix>`
instead, e.g. `events.incomplete.jsonl`, and the result says `complete=False`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from json.encoder import encode_basestring as encode_json_string
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
TICK = 0.1  # seconds between checks for stop, stall and progress
WRITE_BUFFER = 1 << 20
# Frame handler: gets headers and body, returns False to end the browse early.
FrameHandler = Callable[[dict[str, str], bytes], bool]


@dataclass(frozen=True)
class ArchiveResult:
    path: Path  # the final file: `<name>` when complete, `<stem>.incomplete<suffix>` if not
    count: int
    complete: bool
    reason: str = ""  # why the archive is incomplete


@dataclass(frozen=True)
class PendingEvent:
    message_id: str
    timestamp: int  # JMSTimestamp, epoch milliseconds (0 if the broker sent none)
    headers: dict[str, str] = field(repr=False)
    body: str = field(repr=False)
    # Read from the event's JSON body (event_archive.event_fields); "" when unknown.
    event_type: str = ""  # e.g. NODEADDED, org.alfresco.event.node.Created
    node_id: str = ""
    event_time: str = ""  # ISO 8601: the event's own time, else the JMSTimestamp (UTC)


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


def message_record(headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """One archive line's content: the headers and the body (base64 if not UTF-8)."""
    try:
        return {"headers": headers, "body": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"headers": headers, "body_base64": base64.b64encode(body).decode("ascii")}


class LineEncoder:
    """Builds archive lines, the same JSON as `message_record` compactly encoded, 3-4x faster.

    This is the per-message path of an archive. Most header pairs repeat on every message
    of a queue (destination, subscription, priority, persistent, ...): their JSON text is
    kept; the first `cache_limit` distinct pairs are, so the repeating ones get in first.
    """

    def __init__(self, cache_limit: int = 512) -> None:
        self._pairs: dict[tuple[str, str], str] = {}
        self._cache_limit = cache_limit

    def __call__(self, headers: Mapping[str, str], body: bytes) -> bytes:
        pairs, quote = self._pairs, encode_json_string
        pieces = []
        for pair in headers.items():
            piece = pairs.get(pair)
            if piece is None:
                piece = quote(pair[0]) + ":" + quote(pair[1])
                if len(pairs) < self._cache_limit:
                    pairs[pair] = piece
            pieces.append(piece)
        try:
            body_field = '"body":' + quote(body.decode("utf-8"))
        except UnicodeDecodeError:
            body_field = '"body_base64":"' + base64.b64encode(body).decode("ascii") + '"'
        return ('{"headers":{' + ",".join(pieces) + "}," + body_field + "}\n").encode()


_ARCHIVE_LINE = LineEncoder()


def archive_line(headers: Mapping[str, str], body: bytes) -> bytes:
    """One archive line: `message_record(headers, body)` as compact JSON, newline-ended."""
    return _ARCHIVE_LINE(headers, body)


def partial_path(path: Path) -> Path:
    return path.with_name(path.name + ".partial")


def incomplete_path(path: Path) -> Path:
    """`events.jsonl` -> `events.incomplete.jsonl`, numbered if that exists already."""
    candidate = path.with_name(f"{path.stem}.incomplete{path.suffix}")
    number = 2
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}.incomplete-{number}{path.suffix}")
        number += 1
    return candidate


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ArchiveWriter:
    """Buffered JSON-lines writer of one archive: `.partial` while open, renamed at the end."""

    def __init__(self, path: Path) -> None:
        if path.exists():
            raise SyncWizardError(
                f"The event archive {path} exists already; it is never overwritten.",
                hint="choose another file name or move the existing archive away",
                system="stomp",
            )
        self.path = path
        self.partial = partial_path(path)
        fd = os.open(self.partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        self._file: io.BufferedWriter = os.fdopen(fd, "wb", buffering=WRITE_BUFFER)
        self._line = LineEncoder()
        self.count = 0

    def write(self, headers: Mapping[str, str], body: bytes) -> None:
        self._file.write(self._line(headers, body))
        self.count += 1

    def _close(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()

    def abandon(self) -> None:
        """Drop an archive that received nothing; one with lines is kept as incomplete."""
        if self.count:
            self.finish(complete=False, reason="abandoned")
            return
        self._file.close()
        self.partial.unlink(missing_ok=True)

    def finish(self, *, complete: bool, reason: str = "") -> ArchiveResult:
        """Make every line durable and give the file its final name."""
        self._close()
        final = self.path if complete else incomplete_path(self.path)
        os.replace(self.partial, final)
        _fsync_dir(final.parent)
        return ArchiveResult(final, self.count, complete, reason)


class _BrowseListener(stomp.ConnectionListener):
    """Runs in stomp.py's receiver thread; hands each message to `handle`.

    Kept lean: this is the per-message path, and stomp.py's own parsing already costs
    most of the time a browse takes.
    """

    def __init__(self, handle: FrameHandler) -> None:
        self._handle = handle
        self.connected = threading.Event()
        self.finished = threading.Event()
        self.done = False  # no more messages wanted: end, error, or the handler said stop
        self.ended = False  # the broker sent `browser: end`, or the handler stopped early
        self.error = ""
        self.frames = 0  # MESSAGE frames seen, to notice a stalled browse

    def on_connected(self, frame: Any) -> None:
        self.connected.set()

    def on_error(self, frame: Any) -> None:
        body = frame.body.decode("utf-8", "replace") if isinstance(frame.body, bytes) else ""
        first_body_line = next(iter(body.strip().splitlines()), "")
        self.finish(
            error=frame.headers.get("message") or first_body_line or "the broker sent ERROR"
        )

    def on_disconnected(self) -> None:
        self.finish(error="" if self.done else "the broker closed the connection")

    def finish(self, *, error: str = "", ended: bool = False) -> None:
        if not self.done:
            self.done, self.ended, self.error = True, ended, error
        self.connected.set()
        self.finished.set()

    def on_message(self, frame: Any) -> None:
        self.frames += 1
        if self.done:
            return
        headers = frame.headers
        if headers.get("browser") == "end":
            self.finish(ended=True)
            return
        try:
            wanted_more = self._handle(headers, frame.body)
        except Exception as exc:  # e.g. disk full: stop, keep what was written
            self.finish(error=f"handling message {headers.get('message-id')} failed: {exc}")
            return
        if not wanted_more:
            self.finish(ended=True)


@dataclass(frozen=True)
class _Target:
    url: str
    user: str
    password: str = field(repr=False)
    queue: str
    ca_bundle: Path | None = None
    connect_timeout: float = 10.0
    idle_timeout: float = 30.0


def _refused(target: _Target, why: str, hint: str) -> SyncWizardError:
    return SyncWizardError(
        f"STOMP at {target.url} did not accept a connection as user {target.user!r}: "
        f"{why.rstrip('.')}.",
        hint=hint,
        system="stomp",
    )


def _connect(target: _Target, listener: _BrowseListener) -> stomp.Connection12:
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
    connection.set_listener("syncwizard-browse", listener)
    reach_hint = (
        "check that the broker runs, that its STOMP connector is enabled, and that "
        "broker.stomp in the profile names the right host and port (ActiveMQ's default is 61613)"
    )
    try:
        connection.connect(target.user, target.password, wait=False)
    except (OSError, stomp.exception.StompException) as exc:
        why = str(exc) or f"no connection to {host}:{port} (refused, unreachable or timed out)"
        raise _refused(target, why, reach_hint) from None
    if not listener.connected.wait(target.connect_timeout) or not connection.is_connected():
        reason = listener.error or f"no CONNECTED frame within {target.connect_timeout:.0f} s"
        _quietly_disconnect(connection)
        credentials = "password" in reason.lower() or "user" in reason.lower()
        hint = (
            "check broker.user and the broker password (broker.password_env or "
            "broker.password_file); STOMP uses the broker's users, which may differ from the "
            "console's"
            if credentials
            else reach_hint
        )
        raise _refused(target, reason, hint)
    return connection


def _quietly_disconnect(connection: stomp.Connection12) -> None:
    with contextlib.suppress(OSError, stomp.exception.StompException):
        connection.disconnect()


def _browse_blocking(
    target: _Target,
    handle: FrameHandler,
    stop: threading.Event,
    tick: Callable[[], None] | None = None,
) -> str:
    """Browse `target.queue`, handing each message to `handle`; `tick()` runs every 0.1 s.

    Returns "" when the browse ended normally, else why it was cut short. Raises a
    SyncWizardError if the broker could not be reached or refused the login.
    """
    listener = _BrowseListener(handle)
    connection = _connect(target, listener)
    try:
        connection.subscribe(
            destination=f"/queue/{target.queue}",
            id="syncwizard-browse",
            ack="auto",
            headers={"browser": "true"},
        )
        frames_seen, quiet_since = -1, time.monotonic()
        while not listener.finished.wait(TICK):
            if tick is not None:
                tick()
            if stop.is_set():
                listener.finish(error="cancelled")
            elif listener.frames != frames_seen:
                frames_seen, quiet_since = listener.frames, time.monotonic()
            elif time.monotonic() - quiet_since > target.idle_timeout:
                listener.finish(error=f"no message from the broker for {target.idle_timeout:g} s")
        return "" if listener.ended else listener.error
    finally:
        _quietly_disconnect(connection)


async def _run_browse(
    target: _Target, handle: FrameHandler, tick: Callable[[], None] | None = None
) -> str:
    """`_browse_blocking` in a worker thread; on cancellation it stops within 0.1 s."""
    stop = threading.Event()
    browse = asyncio.to_thread(_browse_blocking, target, handle, stop, tick)
    task = asyncio.ensure_future(browse)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        stop.set()
        await asyncio.wait([task])
        raise


async def archive_pending(
    stomp_url: str,
    user: str,
    password: str,
    queue: str,
    path: Path,
    *,
    on_progress: Callable[[int], None] | None = None,
    ca_bundle: Path | None = None,
    idle_timeout: float = 30.0,
) -> ArchiveResult:
    """Write every pending message of `queue` to the JSON-lines file `path`, leaving the queue.

    `on_progress(count)` is called on the event loop about every 0.1 s and at the end.
    Raises a SyncWizardError when the broker cannot be reached or refuses the login
    (nothing is written then); a browse cut short later returns `complete=False`.
    """
    target = _Target(stomp_url, user, password, queue, ca_bundle, idle_timeout=idle_timeout)
    stomp_address(stomp_url)  # a bad URL fails before any file is created
    loop = asyncio.get_running_loop()
    writer = ArchiveWriter(path)

    def handle(headers: dict[str, str], body: bytes) -> bool:
        writer.write(headers, body)
        return True

    def tick() -> None:
        if on_progress is not None:
            loop.call_soon_threadsafe(on_progress, writer.count)

    try:
        reason = await _run_browse(target, handle, tick)
    except SyncWizardError:
        writer.abandon()  # refused before any message: no file is left behind
        raise
    except BaseException:
        writer.finish(complete=False, reason="cancelled")
        raise
    result = writer.finish(complete=not reason, reason=reason)
    if on_progress is not None:
        on_progress(result.count)
    return result


def _pending_event(headers: dict[str, str], body: bytes) -> PendingEvent:
    from syncwizard.clients.event_archive import pending_event  # it imports this module

    return pending_event(dict(headers), body.decode("utf-8", errors="replace"))


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
    """The first `limit` pending messages of `queue` (all if None), leaving the queue as is.

    Raises a SyncWizardError when the broker cannot be reached, refuses the login, or
    the browse is cut short.
    """
    target = _Target(stomp_url, user, password, queue, ca_bundle, idle_timeout=idle_timeout)
    events: list[PendingEvent] = []

    def handle(headers: dict[str, str], body: bytes) -> bool:
        events.append(_pending_event(headers, body))
        return limit is None or len(events) < limit

    if limit is not None and limit <= 0:
        return events
    reason = await _run_browse(target, handle)
    if reason:
        raise SyncWizardError(
            f"Browsing queue {queue} at {stomp_url} stopped after {len(events)} messages: "
            f"{reason}.",
            hint="check the broker's log and try again",
            system="stomp",
        )
    return events
