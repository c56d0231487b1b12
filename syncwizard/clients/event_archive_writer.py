"""Writing the events archive: each event taken off the queue becomes one durable line.

The promise the restore makes rests on this file: an event is acknowledged to the
broker (and so removed from the queue) only after `ArchiveAppender.sync()` has made
its line durable. The archive is only ever appended to:

- created mode 0600, its folder entry fsynced, so the file itself survives a crash;
- a last line without its newline (a writer killed mid-line) is cut off when the file
  is opened again: that event was not acknowledged, so the broker delivers it again;
- an event the broker delivers again because its acknowledgement was lost with a
  killed process is already in the file: the message ids of the last lines are kept
  (`window`), and such an event is acknowledged without a second line.

Line format: `{"headers": {...}, "body": "..."}`, or `"body_base64"` for a body that is
not UTF-8 (runbook/restore/archive.py reads it back).
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
from collections import deque
from collections.abc import Mapping
from json.encoder import encode_basestring as encode_json_string
from pathlib import Path
from typing import Any, BinaryIO

from syncwizard.errors import SyncWizardError
from syncwizard.paths import fsync_dir

WRITE_BUFFER = 1 << 20
# Ids remembered against redelivery. Only events written but not yet acknowledged can
# come back (at most one batch and the broker's prefetch), so this is plenty.
DEDUP_WINDOW = 20_000
_TAIL_CHUNK = 1 << 20
# Headers that belong to one delivery, not to the event: never written.
DELIVERY_HEADERS = frozenset({"ack"})


def message_record(headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """One archive line's content: the headers and the body (base64 if not UTF-8)."""
    try:
        return {"headers": dict(headers), "body": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"headers": dict(headers), "body_base64": base64.b64encode(body).decode("ascii")}


class LineEncoder:
    """Builds archive lines, the same JSON as `message_record` compactly encoded, 3-4x faster.

    This is the per-message path of a clear. Most header pairs repeat on every message
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
            if pair[0] in DELIVERY_HEADERS:
                continue
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


def archive_line(headers: Mapping[str, str], body: bytes) -> bytes:
    """One archive line: `message_record(headers, body)` as compact JSON, newline-ended."""
    return LineEncoder(cache_limit=0)(headers, body)


def _cannot_write(path: Path, exc: OSError) -> SyncWizardError:
    return SyncWizardError(
        f"The events archive {path} cannot be written: {exc.strerror or exc}.",
        hint="every event already written stays in it and is still acknowledged only once "
        "durable; make room (or fix the folder's rights), then run the step again: it "
        "appends to the same archive",
        system="archive",
    )


class _RecentIds:
    """The message ids of the last `size` lines, for telling a redelivery from a new event."""

    def __init__(self, size: int) -> None:
        self._order: deque[str] = deque()
        self._ids: set[str] = set()
        self._size = size

    def __contains__(self, message_id: str) -> bool:
        return message_id in self._ids

    def add(self, message_id: str) -> None:
        if len(self._order) >= self._size:
            self._ids.discard(self._order.popleft())
        self._order.append(message_id)
        self._ids.add(message_id)


def _tail_lines(file: BinaryIO, end: int, wanted: int) -> list[bytes]:
    """The last `wanted` complete lines before offset `end` (which ends a line)."""
    lines: list[bytes] = []
    position, carry = end, b""
    while position > 0 and len(lines) <= wanted:
        start = max(0, position - _TAIL_CHUNK)
        file.seek(start)
        block = file.read(position - start) + carry
        pieces = block.split(b"\n")
        carry = pieces[0] if start > 0 else b""
        lines[:0] = [piece for piece in (pieces[1:] if start > 0 else pieces) if piece]
        position = start
    return lines[-wanted:] if wanted else []


def _message_id(line: bytes) -> str:
    try:
        record = json.loads(line)
        value = record["headers"]["message-id"]
    except (ValueError, KeyError, TypeError):
        return ""
    return value if isinstance(value, str) else ""


class ArchiveAppender:
    """The events archive opened to append; see the module's docstring for the guarantees.

    Not thread-safe: the one consumer thread writes and syncs.
    """

    def __init__(self, path: Path, *, window: int = DEDUP_WINDOW) -> None:
        self.path = path
        try:
            created = not path.exists()
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            raw = os.fdopen(fd, "r+b", buffering=WRITE_BUFFER)
        except OSError as exc:
            raise _cannot_write(path, exc) from None
        self._file: BinaryIO = raw
        self._recent = _RecentIds(window)
        self._line = LineEncoder()
        try:
            if created:
                fsync_dir(path.parent)
            self.count = self._open_existing(window)
        except OSError as exc:
            self._file.close()
            raise _cannot_write(path, exc) from None
        self.written = 0  # lines written by this appender
        self.duplicates = 0  # deliveries found already in the archive

    def _open_existing(self, window: int) -> int:
        """Cut a torn last line off, remember the last ids; the number of complete lines."""
        file = self._file
        size = file.seek(0, io.SEEK_END)
        count, end = 0, 0
        file.seek(0)
        while chunk := file.read(_TAIL_CHUNK):
            count += chunk.count(b"\n")
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                end = file.tell() - len(chunk) + newline + 1
        if end != size:  # a line cut short by a killed writer: its event was never acked
            file.truncate(end)
            os.fsync(file.fileno())
        for line in _tail_lines(file, end, window):
            if message_id := _message_id(line):
                self._recent.add(message_id)
        file.seek(end)
        return count

    def add(self, headers: Mapping[str, str], body: bytes) -> bool:
        """Write the event's line (not yet durable: `sync`). False when it is in the archive
        already (a redelivery): nothing is written then."""
        message_id = headers.get("message-id", "")
        if message_id:
            if message_id in self._recent:
                self.duplicates += 1
                return False
            self._recent.add(message_id)
        try:
            self._file.write(self._line(headers, body))
        except OSError as exc:
            raise _cannot_write(self.path, exc) from None
        self.written += 1
        self.count += 1
        return True

    def sync(self) -> None:
        """Make every line written so far durable."""
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as exc:
            raise _cannot_write(self.path, exc) from None

    def close(self) -> None:
        """Sync and close; lines already written stay whatever happens."""
        try:
            self.sync()
        finally:
            with contextlib.suppress(OSError):
                self._file.close()
