"""Clearing a queue by consuming it into the events archive: nothing removed is ever lost.

A STOMP subscription with `ack: client-individual` takes each event off the queue; its
line is written to the archive (event_archive_writer.ArchiveAppender), and only once a
batch of lines is durable (one fsync) is each of its events acknowledged, which is
what removes it from the queue. So an event gone from the queue is in the archive by
construction, however large the backlog (a consumer gets every message; a browse gets
only what the broker holds in memory) and whatever arrives meanwhile.

The consumer runs until the caller's `until(progress)` says so (e.g. the queue reports
nothing pending), the caller is cancelled, or something fails (the broker hangs up, the
disk is full). Events delivered but not yet durable are never acknowledged: on a
disconnect the broker gives them back to the queue, and the next clear picks them up.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import stomp
import stomp.exception

from syncwizard.clients.event_archive_writer import ArchiveAppender
from syncwizard.clients.stomp_session import (
    StompTarget,
    connect,
    quietly_disconnect,
    stomp_address,
)
from syncwizard.errors import SyncWizardError

BATCH = 500  # events made durable with one fsync, then acknowledged
PREFETCH = 2000  # events the broker may hand us ahead of our acknowledgements
MAX_DELAY = 0.05  # seconds an event may wait for its batch when the queue trickles
TICK = 0.02  # how often the worker thread looks at stop and the batch's age
SUBSCRIPTION = "syncwizard-clear"


@dataclass(frozen=True)
class ClearCounts:
    """How far a clear has come."""

    archived: int  # events in the archive file (this and earlier attempts)
    written: int  # lines this consumer wrote
    duplicates: int  # deliveries already in the archive (an earlier attempt's), not written again
    removed: int  # events this consumer acknowledged: taken off the queue, all durable
    elapsed: float  # seconds since the subscription

    @property
    def rate(self) -> float:
        """Events removed per second so far."""
        return self.removed / self.elapsed if self.elapsed > 0 else 0.0


@dataclass(frozen=True)
class ClearResult:
    counts: ClearCounts
    failure: str = ""  # why the clear stopped before `until` ended it ("" when it did)


class _Consumer(stomp.ConnectionListener):
    """The per-message path (stomp.py's receiver thread) and the batching around it."""

    def __init__(self, path: Path, batch: int, max_delay: float) -> None:
        self.path = path
        self._appender: ArchiveAppender | None = None  # opened once the broker let us in
        self._batch = batch
        self._max_delay = max_delay
        self._lock = threading.Lock()
        self._unacked: list[str] = []  # ack ids of events written, not yet durable
        self._oldest = 0.0  # when the oldest of them arrived
        self.connection: stomp.Connection12 | None = None
        self.started = time.monotonic()
        self.removed = 0
        self.stopping = False
        self.failure = ""
        self.done = threading.Event()

    # stomp.py's receiver thread
    def on_message(self, frame: Any) -> None:
        with self._lock:
            if self.stopping:
                return  # neither written nor acknowledged: the broker keeps it
            headers = frame.headers
            assert self._appender is not None
            try:
                self._appender.add(headers, frame.body)
            except SyncWizardError as exc:
                self._fail(exc.message)
                return
            if not self._unacked:
                self._oldest = time.monotonic()
            self._unacked.append(headers["ack"])
            if len(self._unacked) >= self._batch:
                self._commit()

    def on_error(self, frame: Any) -> None:
        with self._lock:
            self._fail(frame.headers.get("message") or "the broker sent ERROR")

    def on_disconnected(self) -> None:
        with self._lock:
            if not self.stopping:
                self._fail("the broker closed the connection")

    # under the lock
    def _fail(self, why: str) -> None:
        if not self.stopping:
            self.stopping, self.failure = True, why
            self._unacked.clear()  # not known durable: never acknowledged
        self.done.set()

    def _commit(self) -> None:
        """Make the batch durable, then acknowledge each of its events."""
        if not self._unacked or self._appender is None:
            return
        try:
            self._appender.sync()
        except SyncWizardError as exc:
            self._fail(exc.message)
            return
        assert self.connection is not None
        try:
            for ack_id in self._unacked:
                self.connection.ack(ack_id)
        except (OSError, stomp.exception.StompException) as exc:
            # Durable but maybe not acknowledged: the broker may deliver some again, and
            # the appender knows them.
            self._fail(ack_failure(exc))
            return
        self.removed += len(self._unacked)
        self._unacked.clear()

    # the worker thread
    def commit_if_due(self) -> None:
        with self._lock:
            if self._unacked and time.monotonic() - self._oldest >= self._max_delay:
                self._commit()

    def stop(self) -> None:
        """No more events: acknowledge what is written, take nothing further."""
        with self._lock:
            if not self.stopping:
                self._commit()
                self.stopping = True
            self.done.set()

    def open_archive(self) -> None:
        self._appender = ArchiveAppender(self.path)

    def close_archive(self) -> None:
        """Sync and close; a failing sync only loses lines never acknowledged."""
        with self._lock:
            self.stopping = True
        if self._appender is not None:
            with contextlib.suppress(SyncWizardError):
                self._appender.close()

    def counts(self) -> ClearCounts:
        appender = self._appender
        return ClearCounts(
            archived=appender.count if appender else 0,
            written=appender.written if appender else 0,
            duplicates=appender.duplicates if appender else 0,
            removed=self.removed,
            elapsed=time.monotonic() - self.started,
        )


def _consume_blocking(
    target: StompTarget, queue: str, consumer: _Consumer, stop: threading.Event, prefetch: int
) -> None:
    connection, session = connect(target, {"syncwizard-clear": consumer})
    consumer.connection = connection
    try:
        consumer.open_archive()
        consumer.started = time.monotonic()
        connection.subscribe(
            destination=f"/queue/{queue}",
            id=SUBSCRIPTION,
            ack="client-individual",
            headers={"activemq.prefetchSize": str(prefetch)},
        )
        while not consumer.done.wait(TICK):
            if stop.is_set():
                consumer.stop()
            else:
                consumer.commit_if_due()
    finally:
        quietly_disconnect(connection, session)
        consumer.close_archive()


async def consume_into_archive(
    target: StompTarget,
    queue: str,
    path: Path,
    *,
    until: Callable[[ClearCounts], Awaitable[bool]],
    on_progress: Callable[[ClearCounts], None] | None = None,
    check_every: float = 0.5,
    batch: int = BATCH,
    prefetch: int = PREFETCH,
    max_delay: float = MAX_DELAY,
) -> ClearResult:
    """Take the events of `queue` into the archive at `path` until `until(counts)` is true.

    `until` and `on_progress` run on the event loop every `check_every` seconds; when
    `until` raises, the consumer stops (acknowledging what is durable) and the error
    goes on. Raises SyncWizardError when the broker cannot be reached or refuses the
    login (no file is touched then) or the archive cannot be opened; a clear cut short
    later returns its counts with `failure` saying why.
    """
    if batch >= prefetch:
        raise ValueError(f"batch {batch} must be smaller than prefetch {prefetch}")
    stomp_address(target.url)  # a bad URL fails before any file is touched
    consumer = _Consumer(path, batch, max_delay)
    stop = threading.Event()
    worker = asyncio.ensure_future(
        asyncio.to_thread(_consume_blocking, target, queue, consumer, stop, prefetch)
    )
    try:
        while not worker.done():
            await asyncio.wait([worker], timeout=check_every)
            counts = consumer.counts()
            if on_progress is not None:
                on_progress(counts)
            if not worker.done() and not consumer.done.is_set() and await until(counts):
                stop.set()
        worker.result()  # a refused connection raises here
    except BaseException:
        stop.set()
        await asyncio.wait([worker])
        raise
    counts = consumer.counts()
    if on_progress is not None:
        on_progress(counts)
    return ClearResult(counts, consumer.failure)


def ack_failure(exc: Exception) -> str:
    """Why the acknowledgements failed, in words: stomp.py's NotConnectedException, as the
    broker drops the connection under them, has no message of its own."""
    said = str(exc) or type(exc).__name__
    if isinstance(exc, ConnectionError | stomp.exception.NotConnectedException):
        said = f"the broker closed the connection ({said})"
    return f"acknowledging failed: {said}"
