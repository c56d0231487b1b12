"""The events archive of a restore run, read back: the TUI's table and its count.

The archive is the JSON-lines file `event_archive_writer.ArchiveAppender` writes, one
line per message taken off the queue: `{"headers": {...}, "body": "..."}` (or
`"body_base64"` when the body is not UTF-8). An event is a complete line: a last line
without its newline (a writer killed mid-line) is not counted and not read.

The table's columns come from the event's JSON body, tolerant of its shape:
- the lab's and Alfresco's legacy node events (`VirtualTopic.alfresco.repo.events.nodes`):
  `{"type": "NODEADDED", "nodeId": "<uuid>", "timestamp": <epoch ms>, ...}`;
- Alfresco's event2 (CloudEvents, `alfresco.repo.event2`):
  `{"type": "org.alfresco.event.node.Created", "time": "<ISO 8601>",
  "data": {"resource": {"id": "<uuid>", ...}}, ...}`.
Anything else leaves the field "" (the time falls back to the JMSTimestamp).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Any

from syncwizard.errors import SyncWizardError

_CHUNK = 1 << 20
_SECONDS_BEFORE_MS = 10**11  # epoch values below this are seconds, not milliseconds


@dataclass(frozen=True)
class PendingEvent:
    """An archived event as the table shows it."""

    message_id: str
    timestamp: int  # JMSTimestamp, epoch milliseconds (0 if the broker sent none)
    headers: dict[str, str] = field(repr=False)
    body: str = field(repr=False)
    # Read from the event's JSON body (event_fields); "" when unknown.
    event_type: str = ""  # e.g. NODEADDED, org.alfresco.event.node.Created
    node_id: str = ""
    event_time: str = ""  # ISO 8601: the event's own time, else the JMSTimestamp (UTC)


# --- the fields of the table ---------------------------------------------------------------


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


def _row(headers: dict[str, str], body: str, fields: tuple[str, str, str]) -> PendingEvent:
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
    return _row(headers, body, event_fields(body))


# --- reading an archive --------------------------------------------------------------------


def _unreadable(path: Path, why: str) -> SyncWizardError:
    return SyncWizardError(
        f"The event archive {path} cannot be read: {why}.",
        hint="the archive is written by the wizard; if it was edited or damaged, keep it as "
        "it is (it holds the events taken off the queue) and look at it with a text editor",
        system="stomp",
    )


def _message(path: Path, number: int, record: Any) -> tuple[dict[str, str], str]:
    """The headers and body of line `number`'s parsed record."""
    try:
        headers = record["headers"]
        body = record.get("body")
        if body is None:
            raw = base64.b64decode(record["body_base64"], validate=True)
            body = raw.decode("utf-8", errors="replace")
    except (KeyError, TypeError, AttributeError, ValueError, binascii.Error):
        body = headers = None
    if not isinstance(headers, dict) or not isinstance(body, str):
        raise _unreadable(path, f"line {number} is not an archived message")
    return headers, body


def _parse_many(array_text: bytes | str, count: int) -> list[Any] | None:
    """Parse `count` JSON texts joined into one array in one call (much faster than a call
    each); None when some text is not a single JSON value."""
    try:
        values = json.loads(array_text)
    except ValueError:
        return None
    return values if isinstance(values, list) and len(values) == count else None


def _records(path: Path, first: int, lines: list[bytes]) -> list[Any]:
    records = _parse_many(b"[" + b",".join(lines) + b"]", len(lines))
    if records is not None:
        return records
    for number, line in enumerate(lines, start=first):  # find the line at fault
        try:
            json.loads(line)
        except ValueError:
            raise _unreadable(path, f"line {number} is not JSON") from None
    raise _unreadable(path, f"lines {first} to {first + len(lines) - 1} are not JSON")


def _event_fields_all(bodies: list[str]) -> list[tuple[str, str, str]]:
    objects = [body for body in bodies if _looks_like_object(body)]
    parsed = _parse_many("[" + ",".join(objects) + "]", len(objects))
    if parsed is None:  # some body is not JSON: one at a time
        return [event_fields(body) for body in bodies]
    values = iter(parsed)
    return [
        fields_of(next(values)) if _looks_like_object(body) else ("", "", "") for body in bodies
    ]


_BATCH = 2000  # lines parsed per call


def _batches(path: Path, start: int, limit: int | None) -> Iterator[tuple[int, list[bytes]]]:
    """(number of the first line, complete lines) in batches; a last line cut short is not
    an event and is left out."""
    try:
        file = path.open("rb")
    except OSError as exc:
        raise _unreadable(path, exc.strerror or str(exc)) from None
    with file:
        lines = islice(file, start, None if limit is None else start + limit)
        number = start + 1
        while batch := list(islice(lines, _BATCH)):
            if not batch[-1].endswith(b"\n"):
                batch.pop()
            if batch:
                yield number, batch
            number += len(batch)


def iter_archive(path: Path, *, start: int = 0, limit: int | None = None) -> Iterator[PendingEvent]:
    """The archived events from the `start`-th (0-based), at most `limit` of them."""
    if start < 0 or (limit is not None and limit < 0):
        raise ValueError(f"start {start} and limit {limit} must not be negative")
    for first, lines in _batches(path, start, limit):
        messages = [
            _message(path, number, record)
            for number, record in enumerate(_records(path, first, lines), start=first)
        ]
        fields = _event_fields_all([body for _, body in messages])
        for (headers, body), row_fields in zip(messages, fields, strict=True):
            yield _row(headers, body, row_fields)


def read_archive(path: Path, *, start: int = 0, limit: int | None = None) -> list[PendingEvent]:
    """The archived events from the `start`-th (0-based), at most `limit` of them."""
    return list(iter_archive(path, start=start, limit=limit))


def count_archive(path: Path) -> int:
    """How many events the archive at `path` holds (its complete lines)."""
    count = 0
    try:
        with path.open("rb") as file:
            while chunk := file.read(_CHUNK):
                count += chunk.count(b"\n")
    except OSError as exc:
        raise _unreadable(path, exc.strerror or str(exc)) from None
    return count
