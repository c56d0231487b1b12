"""The lab's repository in a hurry: a backlog of N changes and their N events, in seconds.

`generate` (generator.py) makes one change at a time, one transaction and one send each,
like a repository in use; a weekend outage leaves 100,000 events waiting. Here the
changes are made in batches: each batch's adds, edits and removals in one transaction
(set-based SQL over arrays), and only once it has committed are its events published,
as Alfresco does (change committed, then event). The events are the generator's
(node_events.py), sent persistent to the same `/topic/<topic>` without a receipt each:
STOMP frames written back to back, as fast as the broker reads them (TCP pushes back
when it cannot keep up), while the next batch is written to the DB. The last event asks
for a receipt, so when it comes every event is on the broker.

Within a batch a node is changed at most once, and a node's events go out in the order
of its changes on one connection: when an event arrives its node is as the event says,
or as a later event of it says.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
import stomp
import stomp.exception

from syncwizard.errors import SyncWizardError
from syncwizard.lab.generator import (
    _REVISION,
    ADDED_SHARE,
    CONTENT_TYPE_QNAME,
    FOLDER_TYPE_QNAME,
    NAME_QNAME,
    UPDATED_SHARE,
    _connect_stomp,
    _disconnect,
    repository_db,
)
from syncwizard.lab.layout import LabLayout, read_settings
from syncwizard.lab.node_events import (
    HEADERS,
    NODE_ADDED,
    NODE_REMOVED,
    NODE_UPDATED,
    NodeEvent,
    new_event,
)
from syncwizard.lab.stomp_link import LinkListener

# Changes a transaction: large enough that the per-statement cost vanishes, small enough
# that the broker already takes a batch's events while the next batch is written.
BATCH_SIZE = 5000
# Each event takes ~1 KB of the broker's store (2 GB in the lab): a million fits.
MAX_BACKLOG = 1_000_000
RECEIPT_ID = "backlog-complete"
# How long the broker may take to store what it has already read when the last event
# asks for its receipt (it answers in order, after every earlier frame).
RECEIPT_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Backlog:
    """What `make_backlog` did: events published, in how long, of which writing the DB."""

    events: int
    seconds: float
    db_seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0


@dataclass
class _Change:
    kind: str
    node_id: str
    name: str


class _Pool:
    """The documents the backlog may edit or remove: (uuid, name), picked at random."""

    def __init__(self, rng: random.Random, nodes: list[tuple[str, str]], folders: list[int]):
        self.rng = rng
        self.nodes = nodes
        self.folders = folders

    def plan(self, count: int) -> list[_Change]:
        """`count` changes, in the generator's mix, no node twice; the pool follows them."""
        changes: list[_Change] = []
        untouched = self.nodes  # picked nodes are swapped out of it
        kept: list[tuple[str, str]] = []
        for _ in range(count):
            draw = self.rng.random()
            if not untouched or draw < ADDED_SHARE:
                node_id = str(uuid.uuid4())
                name = f"generated-{node_id[:8]}.txt"
                changes.append(_Change(NODE_ADDED, node_id, name))
                kept.append((node_id, name))
                continue
            index = self.rng.randrange(len(untouched))
            node_id, old_name = untouched[index]
            untouched[index] = untouched[-1]
            untouched.pop()
            if draw < ADDED_SHARE + UPDATED_SHARE:
                name = f"{_REVISION.sub('', old_name)} (rev {self.rng.randint(2, 99)})"
                changes.append(_Change(NODE_UPDATED, node_id, name))
                kept.append((node_id, name))
            else:
                changes.append(_Change(NODE_REMOVED, node_id, old_name))
        self.nodes = untouched + kept
        return changes

    def parent(self) -> int | None:
        return self.rng.choice(self.folders) if self.folders else None


_ADD = """
WITH added AS (
    INSERT INTO alf_node (uuid, type_qname, name, parent_id, created_at, modified_at)
    SELECT u, %(type)s, n, p, now(), now()
    FROM unnest(%(uuids)s::uuid[], %(names)s::text[], %(parents)s::bigint[]) AS t(u, n, p)
    RETURNING id, name
)
INSERT INTO alf_node_properties (node_id, qname, string_value)
SELECT id, %(qname)s, name FROM added
"""
_UPDATE = """
WITH changed AS (
    UPDATE alf_node AS a SET name = t.n, modified_at = now()
    FROM unnest(%(uuids)s::uuid[], %(names)s::text[]) AS t(u, n)
    WHERE a.uuid = t.u AND NOT a.deleted
    RETURNING a.id, a.uuid, a.name
), props AS (
    UPDATE alf_node_properties AS p SET string_value = c.name
    FROM changed AS c WHERE p.node_id = c.id AND p.qname = %(qname)s
)
SELECT uuid::text FROM changed
"""
_REMOVE = """
UPDATE alf_node SET deleted = true, modified_at = now()
WHERE uuid = ANY(%(uuids)s::uuid[]) AND NOT deleted
RETURNING uuid::text
"""


async def _apply(db: psycopg.AsyncConnection, pool: _Pool, changes: list[_Change]) -> None:
    """Make the batch's changes in one transaction. An edit or removal whose node went
    away behind our back becomes an add, as in the generator."""
    updates = [c for c in changes if c.kind == NODE_UPDATED]
    removals = [c for c in changes if c.kind == NODE_REMOVED]
    async with db.transaction():
        done: set[str] = set()
        if updates:
            cursor = await db.execute(
                _UPDATE,
                {
                    "uuids": [c.node_id for c in updates],
                    "names": [c.name for c in updates],
                    "qname": NAME_QNAME,
                },
            )
            done.update(row[0] for row in await cursor.fetchall())
        if removals:
            cursor = await db.execute(_REMOVE, {"uuids": [c.node_id for c in removals]})
            done.update(row[0] for row in await cursor.fetchall())
        gone = {c.node_id for c in updates + removals} - done
        for change in updates + removals:
            if change.node_id in gone:
                change.kind, change.node_id = NODE_ADDED, str(uuid.uuid4())
                change.name = f"generated-{change.node_id[:8]}.txt"
                pool.nodes.append((change.node_id, change.name))
        if gone:
            pool.nodes = [node for node in pool.nodes if node[0] not in gone]
        adds = [c for c in changes if c.kind == NODE_ADDED]
        if adds:
            await db.execute(
                _ADD,
                {
                    "type": CONTENT_TYPE_QNAME,
                    "uuids": [c.node_id for c in adds],
                    "names": [c.name for c in adds],
                    "parents": [pool.parent() for _ in adds],
                    "qname": NAME_QNAME,
                },
            )


def _frame_head(destination: str) -> bytes:
    headers = {**HEADERS, "destination": destination}
    return b"SEND\n" + "".join(f"{k}:{v}\n" for k, v in sorted(headers.items())).encode()


def _frames(head: bytes, events: list[NodeEvent], *, receipt: str | None) -> bytes:
    """The events as STOMP 1.2 SEND frames, back to back (the last one with `receipt`)."""
    parts: list[bytes] = []
    last = len(events) - 1
    for number, event in enumerate(events):
        body = event.to_json().encode()
        tail = f"receipt:{receipt}\n" if receipt and number == last else ""
        parts.append(head + f"content-length:{len(body)}\n{tail}\n".encode() + body + b"\x00")
    return b"".join(parts)


class _Receipt(stomp.ConnectionListener):
    def __init__(self) -> None:
        self.received = threading.Event()

    def on_receipt(self, frame: stomp.utils.Frame) -> None:
        if frame.headers.get("receipt-id") == RECEIPT_ID:
            self.received.set()


def _publish(connection: stomp.Connection12, data: bytes) -> None:
    connection.transport.send(data)  # blocks while the broker cannot take more


def _await_receipt(receipt: _Receipt, link: LinkListener, timeout: float) -> str:
    """'' once the broker acknowledged the last event, else why not."""
    deadline = time.monotonic() + timeout
    while not receipt.received.wait(0.1):
        if link.closed.is_set():
            return f"the broker closed the connection ({link.error or 'no reason given'})"
        if time.monotonic() > deadline:
            return f"no receipt for the last event within {timeout:g} s"
    return ""


def _refuse_count(count: int) -> None:
    if not 0 < count <= MAX_BACKLOG:
        raise SyncWizardError(
            f"Cannot make a backlog of {count:,} events.",
            hint=f"Give a number from 1 to {MAX_BACKLOG:,}, e.g. --backlog 100000.",
            system="lab",
        )


async def make_backlog(
    layout: LabLayout,
    count: int,
    *,
    seed: int | None = None,
    batch_size: int = BATCH_SIZE,
    on_progress: Callable[[int], None] | None = None,
) -> Backlog:
    """Make `count` changes in the repository DB and publish their `count` events.

    With the Sync Service stopped they wait on its `Consumer.<guid>.<topic>` queue.
    """
    _refuse_count(count)
    destination = f"/topic/{read_settings(layout).topic}"
    head = _frame_head(destination)
    started = time.monotonic()
    db_seconds = 0.0
    published = 0
    async with await repository_db(layout, "syncwizard-lab-backlog") as db:
        link: tuple[stomp.Connection12, LinkListener] | None = None
        sending: asyncio.Task[None] | None = None
        receipt = _Receipt()
        try:
            pool = await _load_pool(db, random.Random(seed))
            # One connection: the broker keeps its frames in the order sent, so the events
            # of a node stay in order (several did not go faster on 2 busy cores).
            link = await asyncio.to_thread(_connect_stomp, layout)
            link[0].set_listener("backlog-receipt", receipt)
            for first in range(0, count, batch_size):
                size = min(batch_size, count - first)
                changes = pool.plan(size)
                at = time.monotonic()
                await _apply(db, pool, changes)  # committed: now its events may go out
                db_seconds += time.monotonic() - at
                now_ms = int(time.time() * 1000)
                events = [new_event(c.kind, c.node_id, c.name, now_ms) for c in changes]
                last = first + size == count
                data = _frames(head, events, receipt=RECEIPT_ID if last else None)
                if sending is not None:  # the broker takes a batch while the next is written
                    await sending
                    published = first
                    if on_progress is not None:
                        on_progress(published)
                sending = asyncio.create_task(asyncio.to_thread(_publish, link[0], data))
            if sending is not None:
                await sending
            why = await asyncio.to_thread(_await_receipt, receipt, link[1], RECEIPT_TIMEOUT_S)
            if why:
                raise SyncWizardError(
                    f"Publishing the backlog to {destination} failed: {why}.",
                    hint="Check the lab broker with `syncwizard lab status` and its log.",
                    system="stomp",
                )
            published = count
            if on_progress is not None:
                on_progress(published)
        except psycopg.Error as exc:
            raise SyncWizardError(
                f"A batch of changes to the lab's repository DB failed after {published:,} "
                f"events: {str(exc).strip()}",
                hint="Check the lab database with `syncwizard lab status`.",
                system="repository_db",
            ) from None
        except (OSError, stomp.exception.StompException) as exc:
            raise SyncWizardError(
                f"Publishing to {destination} failed after about {published:,} events "
                f"({exc or type(exc).__name__}); the broker connection was lost.",
                hint="Check the lab broker with `syncwizard lab status`.",
                system="stomp",
            ) from None
        finally:
            if sending is not None and not sending.done():  # a DB batch failed meanwhile
                with contextlib.suppress(OSError, stomp.exception.StompException):
                    await sending
            if link is not None:
                await asyncio.to_thread(_disconnect, *link)
    seconds = time.monotonic() - started
    return Backlog(count, seconds, db_seconds)


async def _load_pool(db: psycopg.AsyncConnection, rng: random.Random) -> _Pool:
    async with db.transaction():
        cursor = await db.execute(
            "SELECT id FROM alf_node WHERE type_qname = %s AND NOT deleted", (FOLDER_TYPE_QNAME,)
        )
        folders = [row[0] for row in await cursor.fetchall()]
        cursor = await db.execute(
            "SELECT uuid::text, name FROM alf_node WHERE type_qname = %s AND NOT deleted "
            "ORDER BY id",
            (CONTENT_TYPE_QNAME,),
        )
        nodes = [(row[0], row[1]) for row in await cursor.fetchall()]
    return _Pool(rng, nodes, folders)
