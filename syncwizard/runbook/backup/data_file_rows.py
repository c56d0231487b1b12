"""Exact row counts read from a directory-format dump's data files while pg_dump writes them.

pg_dump writes each table's rows into `<dump id>.dat.gz` (`.dat` with --compress=0) as
COPY text: one line per row (a newline inside a value is written as the two characters
`\\n`, so no row spans lines), then its end marker `\\.` and two empty lines. A data line
can never be `\\.` alone (a backslash in a value is written as `\\\\`). So a complete data
file holds exactly (its newlines - 3) rows, and it is complete when it ends with the
marker right after a row's newline (or is the marker alone: an empty table) and, gzipped,
its gzip stream has ended (its trailer and checksum read).

A thread follows every data file as pg_dump appends to it (tail -f style) and counts the
newlines of what it inflates, so the counting overlaps the dump and ends moments after
pg_dump does. It inflates with ISA-L (the `isal` package, zlib's interface): 0.8 s of CPU
for the 482 MB of COPY text of the bench database where the standard library's zlib
takes 1.6 s (bench/README.md), and, like zlib, it lets other threads run meanwhile.
A file is closed as soon as it is complete (a database may hold more tables than a
process may open files); when pg_dump has completed, every file must still be the one
that was read (same inode) with nothing added since, or it is not counted. Which table a
file holds is known from the archive's table of contents, written when the dump is
complete.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from io import FileIO
from pathlib import Path
from typing import cast

from isal import isal_zlib

COPY_END = b"\\.\n\n\n"  # pg_dump's end of a table's COPY data
_END_LINES = COPY_END.count(b"\n")
_DATA_FILE = re.compile(r"(\d+)\.dat(\.gz)?")  # blob_<oid>.dat holds a large object, not rows
# Bytes read, and inflated, at a time: small enough for the inflated text to stay in the
# CPU's cache while its newlines are counted (a 16% saving over 1 MiB reads here).
_READ = 256 << 10
_INFLATED = 1 << 20
POLL = 0.05  # seconds between looks when pg_dump has written nothing new
# The follower runs at the lowest priority, on the CPU pg_dump and the server leave idle.
# What it has not read when pg_dump completes is read by `finish`, at normal priority.
FOLLOWER_NICE = 19
_INFLATE_ERROR = cast("type[Exception]", isal_zlib.error)  # its stubs type it as an instance


def _gzip_inflater() -> isal_zlib.Decompress:
    return isal_zlib.decompressobj(wbits=16 + isal_zlib.MAX_WBITS)


class _DataFile:
    """One data file, read as far as pg_dump has written it. Open only until it is
    complete: a database may have more tables than a process may have open files."""

    def __init__(self, path: Path, gzipped: bool) -> None:
        self.path = path
        self._file: FileIO | None = FileIO(path, "rb")
        stat = os.fstat(self._file.fileno())
        self._identity = (stat.st_dev, stat.st_ino)
        self._inflater = _gzip_inflater() if gzipped else None
        self.read_bytes = 0  # of the file
        self.newlines = 0
        self.size = 0  # bytes of COPY text so far
        self._tail = b""  # its last bytes, enough to see the end marker after a newline
        self.error: str | None = None

    @property
    def complete(self) -> bool:
        """pg_dump has written all of it: it ends with the end marker, right after a row's
        newline (or alone: an empty table), and, gzipped, its gzip stream has ended (its
        checksum checked). A data line is never `\\.` alone, so the marker is the end."""
        if self.error is not None or (self._inflater is not None and not self._inflater.eof):
            return False
        marker_alone = self.size == len(COPY_END) and self._tail == COPY_END
        return marker_alone or self._tail == b"\n" + COPY_END

    def read_on(self) -> bool:
        """Read what was appended since the last call; True if there was anything."""
        if self._file is None:
            return False
        try:
            data = self._file.read(_READ)
            if not data:
                return False
            self.read_bytes += len(data)
            if self._inflater is None:
                self._take(data)
            else:
                self._inflate(data)
        except (OSError, _INFLATE_ERROR) as exc:
            self.error = f"{self.path.name} cannot be read to its end: {exc}"
        if self.error is not None or self.complete:
            self.close()
        return True

    def _inflate(self, data: bytes) -> None:
        assert self._inflater is not None
        while data:
            if self._inflater.eof:  # a further gzip member (pg_dump writes one)
                self._inflater = _gzip_inflater()
            self._take(self._inflater.decompress(data, _INFLATED))
            while self._inflater.unconsumed_tail:
                self._take(self._inflater.decompress(self._inflater.unconsumed_tail, _INFLATED))
            data = self._inflater.unused_data if self._inflater.eof else b""

    def _take(self, text: bytes) -> None:
        if text:
            self.newlines += text.count(b"\n")
            self.size += len(text)
            self._tail = (self._tail + text[-len(COPY_END) - 1 :])[-len(COPY_END) - 1 :]

    def is_all_of(self, path: Path) -> bool:
        """Is the file at `path` the one read here (the same inode), and was all of it read?"""
        try:
            there = os.stat(path)
        except OSError:
            return False
        return (there.st_dev, there.st_ino) == self._identity and there.st_size == self.read_bytes

    def rows(self) -> int | None:
        """The exact rows of a complete file; None if it is not one."""
        return self.newlines - _END_LINES if self.complete else None

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class DataFileRows:
    """Follows the data files pg_dump writes into `folder` (its `.partial` folder) in a
    thread of its own, from `start()` to `finish()`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._files: dict[int, _DataFile] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="data-file-rows", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _follow(self) -> None:
        if sys.platform == "linux":  # where a thread has a nice value of its own
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), FOLLOWER_NICE)
        while not self._stop.is_set():
            self._look(self.folder)
            if not any([f.read_on() for f in self._files.values()]):
                self._stop.wait(POLL)

    def _look(self, folder: Path) -> None:
        """Open the data files that appeared in `folder` since the last look."""
        try:
            entries = list(os.scandir(folder))
        except OSError:  # not created yet, or renamed when pg_dump completed
            return
        for entry in entries:
            match = _DATA_FILE.fullmatch(entry.name)
            if match and int(match[1]) not in self._files:
                with contextlib.suppress(OSError):  # gone: the dump failed and was removed
                    data_file = _DataFile(Path(entry.path), gzipped=bool(match[2]))
                    self._files[int(match[1])] = data_file

    def finish(self, folder: Path) -> tuple[dict[int, int], dict[int, str]]:
        """After pg_dump completed and its output became `folder`: read every data file to
        its end. Blocks (run it in a thread). Returns (exact rows by dump id, why a data
        file could not be counted, by dump id)."""
        self.stop()
        try:
            self._look(folder)
            rows: dict[int, int] = {}
            problems: dict[int, str] = {}
            for dump_id, data_file in self._files.items():
                while data_file.read_on():
                    pass
                name, counted = data_file.path.name, data_file.rows()
                if data_file.error is not None:
                    problems[dump_id] = data_file.error
                elif not data_file.is_all_of(folder / name):
                    problems[dump_id] = f"{name} in {folder} is not all of the file that was read"
                elif counted is None:
                    problems[dump_id] = f"{name} does not end as pg_dump ends a table's data"
                else:
                    rows[dump_id] = counted
            return rows, problems
        finally:
            self.close()

    def stop(self) -> None:
        """Stop following (the thread ends after the read it is in)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def close(self) -> None:
        self.stop()
        for data_file in self._files.values():
            data_file.close()
