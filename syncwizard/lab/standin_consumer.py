"""The stand-in's STOMP consumer of `Consumer.<guid>.<topic>`, transactional like the real one.

Each event is written to the Sync DB in one transaction and acknowledged only
after the commit (`ack: client-individual`). If the DB write fails the message
stays unacknowledged; the consumer drops its connection so the broker
redelivers, and reconnects with backoff, as it does when the broker goes away.

The writing and acknowledging run on a worker thread of their own, in arrival order,
never on stomp.py's receiver thread: ActiveMQ's STOMP transport holds the connection's
lock while it writes a dispatch, and reads our ACKs only with that lock. An ACK sent
from the receiver thread could block on a full socket while the broker blocks writing
to us, neither reading: with thousands pending (a weekend's backlog) both sides waited
for ever. The receiver thread now only queues each frame, so it always reads on.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from queue import SimpleQueue

import psycopg
import stomp
import stomp.exception

from syncwizard.lab.node_events import BadEvent, parse_event
from syncwizard.lab.standin_health import EventLag, Outcome
from syncwizard.lab.standin_store import connect, record_event
from syncwizard.lab.stomp_link import LinkListener, close, open_link

PREFETCH_SIZE = 3000  # the real Sync Service subscribes with consumer.prefetchSize=3000
BACKOFF_INITIAL_S = 0.5
BACKOFF_MAX_S = 2.0

log = logging.getLogger("syncwizard.lab.standin")


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    user: str
    password: str

    def __repr__(self) -> str:
        return f"BrokerAddress({self.host}:{self.port}, user={self.user})"


class _Messages(stomp.ConnectionListener):
    def __init__(self, consumer: EventConsumer) -> None:
        self._consumer = consumer

    def on_error(self, frame: stomp.utils.Frame) -> None:
        log.error("broker sent an ERROR frame: %s", frame.headers.get("message", ""))

    def on_disconnected(self) -> None:
        self._consumer.wake()

    def on_message(self, frame: stomp.utils.Frame) -> None:
        self._consumer.handle(frame)


class EventConsumer:
    """Keeps one subscription alive and records each event; `check()` reports on it."""

    def __init__(
        self,
        broker: BrokerAddress,
        queue: str,
        sync_conninfo: str,
        passfile: Path,
        lag: EventLag,
    ) -> None:
        self._broker = broker
        self.destination = f"/queue/{queue}"
        self._sync_conninfo = sync_conninfo
        self._passfile = passfile
        self._lag = lag
        self._db: psycopg.Connection | None = None
        self._connection: stomp.Connection12 | None = None
        self._link: LinkListener | None = None
        self._halted = False  # a DB write failed: process nothing more on this connection
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._status = Outcome(False, "not connected yet")
        self._thread: threading.Thread | None = None
        # Frames in arrival order with the connection they came on (at most the prefetch).
        self._inbox: SimpleQueue[tuple[stomp.Connection12, stomp.utils.Frame] | None] = (
            SimpleQueue()
        )
        self._worker: threading.Thread | None = None
        self.processed = 0

    # --- health -------------------------------------------------------------------------
    def check(self) -> Outcome:
        return self._status

    def wake(self) -> None:
        self._wake.set()

    # --- lifecycle ----------------------------------------------------------------------
    def start(self) -> None:
        self._worker = threading.Thread(target=self._work, name="sync-writer", daemon=True)
        self._worker.start()
        self._thread = threading.Thread(target=self._run, name="stomp-consumer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._inbox.put(None)
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._worker is not None:
            self._worker.join(timeout=10)
        if self._db is not None:
            self._db.close()

    def _run(self) -> None:
        backoff = BACKOFF_INITIAL_S
        where = f"{self._broker.host}:{self._broker.port}"
        while not self._stop.is_set():
            try:
                listener = self._connect()
            except psycopg.Error as exc:
                reason = f"the Sync DB is unavailable ({str(exc).strip() or type(exc).__name__})"
            except (OSError, stomp.exception.StompException) as exc:
                detail = f" ({exc})" if str(exc) else ""
                reason = f"the broker at {where} refused or did not answer{detail}"
            else:
                reason = ""
            if reason:
                self._teardown()  # a subscribe that failed may leave a half-open link
                self._status = Outcome(False, f"not consuming: {reason}; retry in {backoff:g} s")
                log.warning("consumer not connected: %s; retry in %g s", reason, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
                continue
            backoff = BACKOFF_INITIAL_S
            self._status = Outcome(True, f"connected to {where}, subscribed to {self.destination}")
            log.info("subscribed to %s at %s", self.destination, where)
            while not (self._stop.is_set() or listener.closed.is_set() or self._halted):
                self._wake.wait(1.0)
                self._wake.clear()
            if not self._stop.is_set():
                reason = "a Sync DB write failed" if self._halted else "the broker closed it"
                self._status = Outcome(False, f"connection to {where} lost: {reason}; reconnecting")
                log.warning("STOMP connection lost (%s); reconnecting", reason)
            self._teardown()
        self._status = Outcome(False, "stopped")

    def _connect(self) -> LinkListener:
        if self._db is None or self._db.closed:
            self._db = connect(self._sync_conninfo, self._passfile, "syncwizard-standin-consumer")
        self._halted = False
        broker = self._broker
        connection, link = open_link(
            broker.host,
            broker.port,
            broker.user,
            broker.password,
            listeners={"consumer": _Messages(self)},
        )
        self._connection, self._link = connection, link
        connection.subscribe(
            self.destination,
            id="sync-consumer",
            ack="client-individual",
            headers={"activemq.prefetchSize": str(PREFETCH_SIZE)},
        )
        return link

    def _teardown(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and self._link is not None:
            close(connection, self._link)

    # --- one event ------------------------------------------------------------------------
    def handle(self, frame: stomp.utils.Frame) -> None:
        """stomp.py's receiver thread: queue the frame for the worker, and read on."""
        connection = self._connection
        if not self._halted and connection is not None:
            self._inbox.put((connection, frame))

    def _work(self) -> None:
        while not self._stop.is_set():
            item = self._inbox.get()
            if item is None:
                continue
            connection, frame = item
            if connection is not self._connection:
                continue  # came on a connection since lost: the broker delivers it again
            try:
                self._process(connection, frame)
            except (OSError, stomp.exception.StompException) as exc:
                # The ACK did not go out: the connection is going; the consumer reconnects.
                log.warning("acknowledging failed: %s", exc or type(exc).__name__)

    def _process(self, connection: stomp.Connection12, frame: stomp.utils.Frame) -> None:
        db = self._db
        if self._halted or db is None:
            return  # left unacknowledged: the broker redelivers after the reconnect
        ack_id = frame.headers.get("ack", "")
        message_id = frame.headers.get("message-id", "?")
        try:
            event = parse_event(frame.body)
        except BadEvent as exc:
            log.warning("dropping message %s: not a node event: %s", message_id, exc)
            connection.ack(ack_id)
            return
        try:
            record_event(db, event)
        except psycopg.Error as exc:
            log.error("Sync DB write failed for event %s: %s", event.id, str(exc).strip())
            self._halted = True
            db.close()
            self._wake.set()
            return
        connection.ack(ack_id)
        self._lag.record(event.timestamp_ms)
        self.processed += 1
