"""What an event message says, as the events table shows it: its message id and time, the
event's type and node. Shared by the browse of a queue (events.py) and the restore's
reading of its events archive (runbook/restore/archive.py).

The fields come from the event's JSON body, tolerant of its shape:
- the lab's and Alfresco's legacy node events (`VirtualTopic.alfresco.repo.events.nodes`):
  `{"type": "NODEADDED", "nodeId": "<uuid>", "timestamp": <epoch ms>, ...}`;
- Alfresco's event2 (CloudEvents, `alfresco.repo.event2`):
  `{"type": "org.alfresco.event.node.Created", "time": "<ISO 8601>",
  "data": {"resource": {"id": "<uuid>", ...}}, ...}`.
Anything else leaves the field "" (the time falls back to the JMSTimestamp).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

_SECONDS_BEFORE_MS = 10**11  # epoch values below this are seconds, not milliseconds


@dataclass(frozen=True)
class PendingEvent:
    """A pending event (browsed, or archived by the restore's clear) as the table shows it."""

    message_id: str
    timestamp: int  # JMSTimestamp, epoch milliseconds (0 if the broker sent none)
    headers: dict[str, str] = field(repr=False)
    body: str = field(repr=False)
    # Read from the event's JSON body (event_fields); "" when unknown.
    event_type: str = ""  # e.g. NODEADDED, org.alfresco.event.node.Created
    node_id: str = ""
    event_time: str = ""  # ISO 8601: the event's own time, else the JMSTimestamp (UTC)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


@lru_cache(maxsize=4096)
def _iso_second(epoch_s: int) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def iso_time_ms(epoch_ms: int) -> str:
    """Epoch milliseconds -> `2026-11-26T07:10:19.123Z` (UTC); "" when out of range."""
    try:
        second = _iso_second(epoch_ms // 1000)
    except (OverflowError, OSError, ValueError):
        return ""
    return f"{second}.{epoch_ms % 1000:03d}Z"


def _event_time(value: Any) -> str:
    if isinstance(value, bool):
        return ""
    if isinstance(value, int | float) and value > 0:
        ms = value if value >= _SECONDS_BEFORE_MS else value * 1000
        return iso_time_ms(int(ms))
    return _text(value)


def fields_of(data: Any) -> tuple[str, str, str]:
    """(event type, node id, event time as ISO 8601) of a parsed event body; "" if unknown."""
    if not isinstance(data, dict):
        return "", "", ""
    event_type = _text(data.get("type")) or _text(data.get("eventType"))
    node_id = _text(data.get("nodeId"))
    if not node_id:
        payload = data.get("data")
        resource = payload.get("resource") if isinstance(payload, dict) else None
        if isinstance(resource, dict):
            node_id = _text(resource.get("id"))
    event_time = _event_time(data.get("timestamp")) or _event_time(data.get("time"))
    return event_type, node_id, event_time


def _looks_like_object(body: str) -> bool:
    return body.startswith("{") and body.endswith("}")


def event_fields(body: str) -> tuple[str, str, str]:
    """(event type, node id, event time as ISO 8601) from an event's JSON body; "" if unknown."""
    if not _looks_like_object(body):
        return "", "", ""
    try:
        return fields_of(json.loads(body))
    except ValueError:
        return "", "", ""


def _timestamp(headers: dict[str, str]) -> int:
    try:
        return int(headers.get("timestamp", "0"))
    except ValueError:
        return 0


def event_row(headers: dict[str, str], body: str, fields: tuple[str, str, str]) -> PendingEvent:
    """The row of a message whose body's fields are read already (event_fields_many)."""
    timestamp = _timestamp(headers)
    event_type, node_id, event_time = fields
    if not event_time and timestamp > 0:
        event_time = iso_time_ms(timestamp)
    return PendingEvent(
        message_id=headers.get("message-id", ""),
        timestamp=timestamp,
        headers=headers,
        body=body,
        event_type=event_type,
        node_id=node_id,
        event_time=event_time,
    )


def pending_event(headers: dict[str, str], body: str) -> PendingEvent:
    """A row of the table: the message's id and timestamp, the event's type, node and time."""
    return event_row(headers, body, event_fields(body))


def parse_many(array_text: bytes | str, count: int) -> list[Any] | None:
    """Parse `count` JSON texts joined into one array in one call (much faster than a call
    each); None when some text is not a single JSON value."""
    try:
        values = json.loads(array_text)
    except ValueError:
        return None
    return values if isinstance(values, list) and len(values) == count else None


def event_fields_many(bodies: list[str]) -> list[tuple[str, str, str]]:
    """event_fields of each body, the JSON ones parsed in one call."""
    objects = [body for body in bodies if _looks_like_object(body)]
    parsed = parse_many("[" + ",".join(objects) + "]", len(objects))
    if parsed is None:  # some body is not JSON: one at a time
        return [event_fields(body) for body in bodies]
    values = iter(parsed)
    return [
        fields_of(next(values)) if _looks_like_object(body) else ("", "", "") for body in bodies
    ]
