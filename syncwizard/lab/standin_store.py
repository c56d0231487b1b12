"""The stand-in's Sync DB: its persistent GUID and the recording of each consumed event."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from syncwizard.lab.node_events import NODE_REMOVED, NodeEvent


def connect(conninfo: str, passfile: Path, application: str) -> psycopg.Connection:
    return psycopg.connect(
        conninfo, passfile=str(passfile), connect_timeout=5, application_name=application
    )


def ensure_sync_id(sync: psycopg.Connection) -> str:
    """The GUID in `sync_service_id`, created (uuid4) on the first start and kept after."""
    with sync.transaction():
        sync.execute(
            "INSERT INTO sync_service_id (id, guid) VALUES (1, %s) ON CONFLICT (id) DO NOTHING",
            (uuid.uuid4(),),
        )
        row = sync.execute("SELECT guid FROM sync_service_id WHERE id = 1").fetchone()
    assert row is not None
    return str(row[0])


def record_event(sync: psycopg.Connection, event: NodeEvent) -> bool:
    """Apply one event to `sync_node` and log it, in one transaction. False if seen before.

    Idempotent on the event id, so a redelivery (the ack was lost) changes nothing.
    """
    event_at = datetime.fromtimestamp(event.timestamp_ms / 1000, UTC)
    with sync.transaction():
        logged = sync.execute(
            "INSERT INTO sync_event_log (message_id, node_uuid, event_type, event_time) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (message_id) DO NOTHING RETURNING id",
            (event.id, event.node_id, event.type, event_at),
        ).fetchone()
        if logged is None:
            return False
        if event.type == NODE_REMOVED:
            sync.execute("DELETE FROM sync_node WHERE node_uuid = %s", (event.node_id,))
        else:
            sync.execute(
                "INSERT INTO sync_node (node_uuid, name, last_event_type, last_event_id, "
                "last_event_at, synced_at) VALUES (%s, %s, %s, %s, %s, now()) "
                "ON CONFLICT (node_uuid) DO UPDATE SET name = EXCLUDED.name, "
                "last_event_type = EXCLUDED.last_event_type, "
                "last_event_id = EXCLUDED.last_event_id, "
                "last_event_at = EXCLUDED.last_event_at, synced_at = now()",
                (event.node_id, event.name, event.type, event.id, event_at),
            )
    return True
