"""The events archive of a restore run, read back: the TUI's table, the clear's count.

The archive is the JSON-lines file `clients/event_archive_writer.ArchiveAppender`
writes, one line per message the clear took off the queue: `{"headers": {...}, "body":
"..."}` (or `"body_base64"` when the body is not UTF-8). An event is a complete line: a
last line without its newline (a writer killed mid-line) is not counted and not read.
Each line becomes a row as clients/event_fields.py reads an event.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import Any

from syncwizard.clients.event_fields import (
    PendingEvent,
    event_fields_many,
    event_row,
    parse_many,
)
from syncwizard.errors import SyncWizardError

_CHUNK = 1 << 20


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


def _records(path: Path, first: int, lines: list[bytes]) -> list[Any]:
    records = parse_many(b"[" + b",".join(lines) + b"]", len(lines))
    if records is not None:
        return records
    for number, line in enumerate(lines, start=first):  # find the line at fault
        try:
            json.loads(line)
        except ValueError:
            raise _unreadable(path, f"line {number} is not JSON") from None
    raise _unreadable(path, f"lines {first} to {first + len(lines) - 1} are not JSON")


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
        fields = event_fields_many([body for _, body in messages])
        for (headers, body), row_fields in zip(messages, fields, strict=True):
            yield event_row(headers, body, row_fields)


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
