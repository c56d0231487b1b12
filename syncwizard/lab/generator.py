"""The lab's repository: changes nodes in the repository DB and publishes the matching events.

Like Alfresco, it commits each change first and publishes its event after, to
`/topic/<topic>` (persistent), where the broker's virtual topic copies it into
the Sync Service's `Consumer.<guid>.<topic>` queue.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
import uuid
from collections.abc import Callable

import psycopg
import stomp
import stomp.exception

from syncwizard.errors import SyncWizardError
from syncwizard.lab.layout import HOST, LabLayout, read_settings
from syncwizard.lab.node_events import (
    HEADERS,
    NODE_ADDED,
    NODE_REMOVED,
    NODE_UPDATED,
    NodeEvent,
    new_event,
)
from syncwizard.lab.postgres import conninfo
from syncwizard.lab.stomp_link import LinkListener, close, open_link

CONTENT_TYPE_QNAME = "{http://www.alfresco.org/model/content/1.0}content"
FOLDER_TYPE_QNAME = "{http://www.alfresco.org/model/content/1.0}folder"
NAME_QNAME = "{http://www.alfresco.org/model/content/1.0}name"
# The mix of changes: mostly new documents, some edits, a few deletions.
ADDED_SHARE = 0.80
UPDATED_SHARE = 0.12
KNOWN_NODES_LIMIT = 5000
_REVISION = re.compile(r" \(rev \d+\)$")


class RepositoryChanges:
    """The generator's changes to the repository DB, each committed on its own."""

    def __init__(self, db: psycopg.AsyncConnection, rng: random.Random) -> None:
        self._db = db
        self._rng = rng
        self._live: list[tuple[str, str]] = []  # (uuid, name) of documents we may edit/delete
        self._folders: list[int] = []

    async def load(self) -> None:
        async with self._db.transaction():
            cursor = await self._db.execute(
                "SELECT id FROM alf_node WHERE type_qname = %s AND NOT deleted",
                (FOLDER_TYPE_QNAME,),
            )
            self._folders = [row[0] for row in await cursor.fetchall()]
            cursor = await self._db.execute(
                "SELECT uuid::text, name FROM alf_node WHERE type_qname = %s AND NOT deleted "
                "ORDER BY id DESC LIMIT %s",
                (CONTENT_TYPE_QNAME, KNOWN_NODES_LIMIT),
            )
            self._live = [(row[0], row[1]) for row in await cursor.fetchall()]

    def _pick(self) -> str:
        draw = self._rng.random()
        if not self._live or draw < ADDED_SHARE:
            return NODE_ADDED
        return NODE_UPDATED if draw < ADDED_SHARE + UPDATED_SHARE else NODE_REMOVED

    async def change(self) -> NodeEvent:
        """Make one change and commit it; the event that tells of it."""
        kind = self._pick()
        if kind == NODE_ADDED:
            node_id, name = await self._add()
        else:
            index = self._rng.randrange(len(self._live))
            node_id, old_name = self._live[index]
            if kind == NODE_UPDATED:
                name = f"{_REVISION.sub('', old_name)} (rev {self._rng.randint(2, 99)})"
                changed = await self._update(node_id, name)
                self._live[index] = (node_id, name)
            else:
                name = old_name
                changed = await self._remove(node_id)
                self._live[index] = self._live[-1]
                self._live.pop()
            if not changed:  # deleted behind our back: add a node instead
                kind = NODE_ADDED
                node_id, name = await self._add()
        return new_event(kind, node_id, name, int(time.time() * 1000))

    async def _add(self) -> tuple[str, str]:
        node_id = str(uuid.uuid4())
        name = f"generated-{node_id[:8]}.txt"
        parent = self._rng.choice(self._folders) if self._folders else None
        async with self._db.transaction():
            cursor = await self._db.execute(
                "INSERT INTO alf_node (uuid, type_qname, name, parent_id, created_at, modified_at) "
                "VALUES (%s, %s, %s, %s, now(), now()) RETURNING id",
                (node_id, CONTENT_TYPE_QNAME, name, parent),
            )
            row = await cursor.fetchone()
            assert row is not None
            await self._db.execute(
                "INSERT INTO alf_node_properties (node_id, qname, string_value) "
                "VALUES (%s, %s, %s)",
                (row[0], NAME_QNAME, name),
            )
        self._live.append((node_id, name))
        return node_id, name

    async def _update(self, node_id: str, name: str) -> bool:
        async with self._db.transaction():
            cursor = await self._db.execute(
                "UPDATE alf_node SET name = %s, modified_at = now() "
                "WHERE uuid = %s AND NOT deleted RETURNING id",
                (name, node_id),
            )
            row = await cursor.fetchone()
            if row is not None:
                await self._db.execute(
                    "UPDATE alf_node_properties SET string_value = %s "
                    "WHERE node_id = %s AND qname = %s",
                    (name, row[0], NAME_QNAME),
                )
        return row is not None

    async def _remove(self, node_id: str) -> bool:
        async with self._db.transaction():
            cursor = await self._db.execute(
                "UPDATE alf_node SET deleted = true, modified_at = now() "
                "WHERE uuid = %s AND NOT deleted",
                (node_id,),
            )
        return cursor.rowcount == 1


async def repository_db(
    layout: LabLayout, application: str = "syncwizard-lab-generator"
) -> psycopg.AsyncConnection:
    """A connection to the lab's repository DB, or an error saying the lab seems down."""
    try:
        return await psycopg.AsyncConnection.connect(
            conninfo(layout, "repository"),
            passfile=str(layout.pgpass),
            connect_timeout=5,
            application_name=application,
        )
    except psycopg.Error as exc:
        raise SyncWizardError(
            f"Cannot open the lab's repository DB: {str(exc).strip()}",
            hint="Is the lab up? Run `syncwizard lab up`, then `syncwizard lab status`.",
            system="repository_db",
        ) from None


def _broker_password(layout: LabLayout) -> str:
    try:
        return layout.broker_password_file.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return "admin"


def _connect_stomp(layout: LabLayout) -> tuple[stomp.Connection12, LinkListener]:
    from syncwizard.lab.broker import parts_stomp_port

    port = parts_stomp_port(layout)  # in the current flavour, the lab's own link
    try:
        return open_link(HOST, port, "admin", _broker_password(layout))
    except (OSError, stomp.exception.StompException) as exc:
        raise SyncWizardError(
            f"The lab broker refused or did not answer STOMP on {HOST}:{port} "
            f"({exc or type(exc).__name__}).",
            hint="Is the lab up? Run `syncwizard lab up`, then `syncwizard lab status`.",
            system="stomp",
        ) from None


def _disconnect(connection: stomp.Connection12, link: LinkListener) -> None:
    # DISCONNECT carries a receipt: the broker answers once it has every event sent before.
    close(connection, link, wait=10.0)


async def generate(
    layout: LabLayout,
    *,
    rate: float,
    duration: float,
    on_progress: Callable[[int], None] | None = None,
    seed: int | None = None,
) -> int:
    """Change `rate` nodes a second for `duration` seconds, each followed by its event.

    Returns how many events were published.
    """
    if rate <= 0 or duration < 0:
        raise SyncWizardError(
            f"Cannot generate events at {rate:g}/s for {duration:g} s.",
            hint="Give a rate above 0 and a duration of 0 s or more, e.g. --rate 50 --for 30s.",
            system="lab",
        )
    destination = f"/topic/{read_settings(layout).topic}"
    total = round(rate * duration)
    db = await repository_db(layout)
    published = 0
    async with db:
        repository = RepositoryChanges(db, random.Random(seed))
        link: tuple[stomp.Connection12, LinkListener] | None = None
        try:
            await repository.load()
            link = await asyncio.to_thread(_connect_stomp, layout)
            connection = link[0]
            loop = asyncio.get_running_loop()
            started = loop.time()
            for number in range(total):
                delay = started + number / rate - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                event = await repository.change()
                await asyncio.to_thread(
                    connection.send, destination, event.to_json(), headers=dict(HEADERS)
                )
                published += 1
                if on_progress is not None:
                    on_progress(published)
        except psycopg.Error as exc:
            raise SyncWizardError(
                f"A change to the lab's repository DB failed after {published} events: "
                f"{str(exc).strip()}",
                hint="Check the lab database with `syncwizard lab status`.",
                system="repository_db",
            ) from None
        except (OSError, stomp.exception.StompException) as exc:
            raise SyncWizardError(
                f"Publishing to {destination} failed after {published} events "
                f"({exc or type(exc).__name__}); the broker connection was lost.",
                hint="Check the lab broker with `syncwizard lab status`.",
                system="stomp",
            ) from None
        finally:
            if link is not None:
                await asyncio.to_thread(_disconnect, *link)
    return published
