"""Counting the rows of a mariadb-dump/mysqldump stream as it goes by.

The dump runs in one consistent snapshot (`--single-transaction`) that no other session
can share, so the exact row count of each table is read from the dump itself: an
`INSERT INTO `t` VALUES (...),(...);` statement holds whole rows, one `(` outside quoted
strings per row (the tools write numbers, NULL, quoted strings and, with --hex-blob,
0x literals: nothing else with a parenthesis). mysqldump writes a statement on one line;
mariadb-dump 10.11 writes each row on a line of its own after `INSERT INTO `t` VALUES`.
A quoted string never spans lines (the tools escape a newline as \\n), so a line can be
read on its own. A `CREATE TABLE` line registers a table
with no rows yet, so an empty table is counted as 0. The same counter shows a restore's
progress, fed with the file as it is sent to the server.
"""

from __future__ import annotations

import re

_CREATE = re.compile(rb"^CREATE TABLE `((?:[^`]|``)+)`")
_INSERT = re.compile(rb"^INSERT INTO `((?:[^`]|``)+)` (?:\([^)]*\) )?VALUES\s")
_QUOTED = re.compile(rb"'(?:[^'\\]|\\.|'')*'", re.S)
DONE_MARKER = b"-- Dump completed"


def _name(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").replace("``", "`")


def rows_in_values(values: bytes) -> int:
    """The rows of one INSERT's VALUES part: the `(` outside quoted strings."""
    if b"'" in values:
        values = _QUOTED.sub(b"''", values)
    return values.count(b"(")


class RowCounter:
    """Feed it the stream in chunks of any size; `counts` is {table: rows so far}."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.current: str = ""
        self.completed = False  # the tool's closing comment was seen
        self.bytes = 0
        self._partial = b""
        self._in_insert = False

    @property
    def rows(self) -> int:
        return sum(self.counts.values())

    def feed(self, chunk: bytes) -> None:
        self.bytes += len(chunk)
        data = self._partial + chunk
        lines = data.split(b"\n")
        self._partial = lines.pop()
        for line in lines:
            self._line(line)

    def finish(self) -> None:
        if self._partial:
            self._line(self._partial)
            self._partial = b""

    def _values(self, values: bytes) -> None:
        if b"'" in values:
            values = _QUOTED.sub(b"''", values)
        self.counts[self.current] += values.count(b"(")
        self._in_insert = not values.rstrip().endswith(b";")

    def _line(self, line: bytes) -> None:
        if self._in_insert:
            self._values(line)
        elif line.startswith(b"INSERT INTO `"):
            match = _INSERT.match(line.rstrip() + b" ")
            if match:
                name = _name(match.group(1))
                self.current = name
                self.counts.setdefault(name, 0)
                self._values(line[match.end() :] if match.end() <= len(line) else b"")
        elif line.startswith(b"CREATE TABLE `"):
            match = _CREATE.match(line)
            if match:
                name = _name(match.group(1))
                self.current = name
                self.counts.setdefault(name, 0)
        elif line.startswith(DONE_MARKER):
            self.completed = True
