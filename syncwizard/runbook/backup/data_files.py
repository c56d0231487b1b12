"""A directory dump's data files, compressed and counted by the wizard while pg_dump writes them.

pg_dump writes each table's rows into `<dump id>.dat` as plain COPY text (the step runs it
with --compress=0): one line per row (a newline inside a value is written as the two
characters `\\n`, so no row spans lines), then its end marker `\\.` and two empty lines. A
data line can never be `\\.` alone (a backslash in a value is written as `\\\\`). So a
complete data file holds exactly (its newlines - 3) rows, and it is complete, pg_dump has
written its last byte, when it ends with the marker right after a row's newline (or is the
marker alone: an empty table).

A thread follows every data file as pg_dump appends to it (tail -f style). Of each piece it
reads it counts the newlines and, unless the dump is uncompressed, deflates it with ISA-L
(the `isal` package) into `<dump id>.dat.gz`: the same gzip pg_dump would write, which
pg_restore reads in place of a `.dat` (its table of contents names `<dump id>.dat`; every
pg_restore since 9.1 falls back to the `.gz` file, and `pg_restore --list` shows
"Compression: 0"). Why not let pg_dump compress: PostgreSQL 15's pg_dump has only zlib, and
counting rows in its output means inflating it again. On the bench database's 482 MB of COPY
text zlib level 1 costs 4.3 s of CPU for 166 MB; ISA-L level 1 costs 1.2 s, newlines counted,
for 149 MB (bench/README.md).

What has been read is punched out of the `.dat` (fallocate PUNCH_HOLE, where the file system
can): the plain text never waits on disk, and pages punched before writeback are never
written. When a file is complete its `.gz` is fsynced and then its `.dat` removed: there is
never a moment where neither holds the table. pg_dump runs with --no-sync and `finish`
fsyncs what it keeps (toc.dat, blobs.toc, a large object's files, compressed the same way).
A file that cannot be compressed or read to its end keeps its `.dat` as pg_dump wrote it
(its `.gz` removed) and its rows are counted in the snapshot instead, unless part of its
text was already punched out: then the dump fails (it is removed, and the step runs again).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import sys
import threading
from dataclasses import dataclass, field
from io import FileIO
from pathlib import Path
from typing import cast

from isal import isal_zlib

from syncwizard.errors import SyncWizardError

COPY_END = b"\\.\n\n\n"  # pg_dump's end of a table's COPY data
_END_LINES = COPY_END.count(b"\n")
_DATA_FILE = re.compile(r"(\d+)\.dat")  # a table's rows
_LARGE_OBJECT = re.compile(r"blob_\d+\.dat")  # a large object's bytes: no rows to count
_READ = 256 << 10  # bytes read, counted and deflated at a time
_PUNCH = 4 << 20  # punch what was read once this much is waiting
_BLOCK = 4096
POLL = 0.05  # seconds between looks when pg_dump has written nothing new
_GZIP = 16 + isal_zlib.MAX_WBITS
_DEFLATE_ERROR = cast("type[Exception]", isal_zlib.error)  # its stubs type it as an instance


def gzip_level(compress: str | None) -> int | None:
    """ISA-L's level for the profile's gzip level ("0" to "9"); None: keep the text plain.
    ISA-L level 1 already packs COPY text tighter than zlib's level 6 (149 vs 148 MB on the
    bench database), level 3 a little tighter still at 1.5x the CPU."""
    if compress is None:
        return 1
    level = int(compress)
    if level == 0:
        return None
    return 1 if level < 6 else 3


class _HolePuncher:
    """fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE) on Linux; elsewhere, or on a
    file system that cannot, nothing (the `.dat` then stays until it is complete)."""

    _MODE = 0x02 | 0x01

    def __init__(self) -> None:
        self._call = None
        if sys.platform == "linux":
            with contextlib.suppress(OSError, AttributeError):
                call = ctypes.CDLL(None, use_errno=True).fallocate
                call.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
                call.restype = ctypes.c_int
                self._call = call

    def __call__(self, fd: int, offset: int, length: int) -> bool:
        """Free `length` bytes at `offset`; False if this file system cannot."""
        if self._call is None or length <= 0:
            return False
        if self._call(fd, self._MODE, offset, length) == 0:
            return True
        code = ctypes.get_errno()
        if code in (errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
            return False
        raise OSError(code, os.strerror(code))


_punch = _HolePuncher()


class _DataFile:
    """One table's data file, read as far as pg_dump has written it. Open only until it is
    complete: a database may have more tables than a process may have open files."""

    def __init__(self, path: Path, level: int | None) -> None:
        self.path = path
        self.gz_path = path.with_name(path.name + ".gz")
        # Open for writing too, only so that what was read can be punched out of it.
        self._file: FileIO | None = FileIO(path, "rb" if level is None else "r+b")
        stat = os.fstat(self._file.fileno())
        self._identity = (stat.st_dev, stat.st_ino)
        self._out: FileIO | None = None
        self._deflater: isal_zlib.Compress | None = None
        if level is not None:
            self._out = FileIO(self.gz_path, "wb")
            self._deflater = isal_zlib.compressobj(level, isal_zlib.DEFLATED, _GZIP)
        self._punched = 0
        self._can_punch = level is not None
        self.read_bytes = 0
        self.newlines = 0
        self._tail = b""  # its last bytes, enough to see the end marker after a newline
        self.error: str | None = None
        self.sealed = False  # compressed, fsynced, and its `.dat` removed

    @property
    def complete(self) -> bool:
        """pg_dump has written all of it: it ends with the end marker, right after a row's
        newline (or alone: an empty table). A data line is never `\\.` alone."""
        if self.error is not None:
            return False
        marker_alone = self.read_bytes == len(COPY_END) and self._tail == COPY_END
        return marker_alone or self._tail == b"\n" + COPY_END

    def read_on(self) -> bool:
        """Read what was appended since the last call; True if there was anything."""
        if self._file is None:
            return False
        try:
            text = self._file.read(_READ)
            if not text:
                return False
            self.read_bytes += len(text)
            self.newlines += text.count(b"\n")
            self._tail = (self._tail + text[-len(COPY_END) - 1 :])[-len(COPY_END) - 1 :]
            if self._deflater is not None and self._out is not None:
                self._out.write(self._deflater.compress(text))
                self._punch_read()
            if self.complete and self._deflater is not None:
                self._seal()
        except (OSError, _DEFLATE_ERROR) as exc:
            self.fail(f"{self.path.name} could not be {self._verb}: {exc}")
        if self.error is not None or self.complete:
            self.close()
        return True

    @property
    def _verb(self) -> str:
        return "read and compressed" if self._deflater is not None else "read"

    def _punch_read(self) -> None:
        assert self._file is not None
        end = self.read_bytes // _BLOCK * _BLOCK
        if self._can_punch and end - self._punched >= _PUNCH:
            self._can_punch = _punch(self._file.fileno(), self._punched, end - self._punched)
            if self._can_punch:
                self._punched = end

    @property
    def text_whole(self) -> bool:
        """Does the `.dat` still hold all pg_dump wrote (nothing of it punched out)?"""
        return self._punched == 0

    def _seal(self) -> None:
        """The text is complete: end the gzip stream, make it durable, then remove the text."""
        assert self._deflater is not None and self._out is not None
        self._out.write(self._deflater.flush())
        os.fsync(self._out.fileno())
        self._out.close()
        self._out = None
        self.path.unlink()
        self.sealed = True

    def fail(self, why: str) -> None:
        """Give up on it: its `.dat` stays as pg_dump wrote it, without a `.gz` beside it
        (pg_restore would read the `.dat` first)."""
        self.error = self.error or why
        self.close()
        if self._deflater is not None and self.path.exists():
            with contextlib.suppress(OSError):
                self.gz_path.unlink()

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
        for handle in (self._file, self._out):
            if handle is not None:
                handle.close()
        self._file = self._out = None


@dataclass
class DataFilesResult:
    rows: dict[int, int] = field(default_factory=dict)  # exact rows, by dump id
    problems: dict[int, str] = field(default_factory=dict)  # why a file was not counted


class DataFiles:
    """Follows the data files pg_dump writes into `folder` (its `.partial` folder) in a
    thread of its own, from `start()` to `finish()`, compressing them at ISA-L's `level`
    (None: left plain) and counting their rows."""

    def __init__(self, folder: Path, level: int | None) -> None:
        self.folder = folder
        self.level = level
        self._files: dict[int, _DataFile] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="data-files", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _follow(self) -> None:
        while not self._stop.is_set():
            self._look()
            if not any([f.read_on() for f in self._files.values()]):
                self._stop.wait(POLL)

    def _look(self) -> None:
        """Open the data files that appeared in the folder since the last look."""
        try:
            entries = list(os.scandir(self.folder))
        except OSError:  # not created yet, or the dump failed and was removed
            return
        for entry in entries:
            match = _DATA_FILE.fullmatch(entry.name)
            if match and int(match[1]) not in self._files:
                with contextlib.suppress(OSError):  # gone: the dump failed and was removed
                    self._files[int(match[1])] = _DataFile(Path(entry.path), self.level)

    def finish(self) -> DataFilesResult:
        """After pg_dump has succeeded, before its folder is renamed: read, compress and
        count every data file to its end, compress the large objects', and make it all
        durable. Blocks (run it in a thread)."""
        self.stop()
        result = DataFilesResult()
        try:
            self._look()
            for dump_id, data_file in self._files.items():
                while data_file.read_on():
                    pass
                if why := self._why_not_counted(data_file):
                    data_file.fail(why)
                    if not data_file.sealed and not data_file.text_whole:
                        raise SyncWizardError(
                            f"{data_file.error or why}; what was already compressed was "
                            f"freed from {data_file.path.name}, so this dump cannot be kept",
                            hint="the dump is removed; run the backup again (resume)",
                            system="backup_dir",
                        )
                    result.problems[dump_id] = data_file.error or why
                else:
                    result.rows[dump_id] = cast(int, data_file.rows())  # counted: complete
            self._compress_large_objects()
            self._sync()
            return result
        finally:
            self.close()

    def _why_not_counted(self, data_file: _DataFile) -> str | None:
        name = data_file.path.name
        if data_file.error is not None:
            return data_file.error
        if data_file.sealed:
            if data_file.path.exists():
                return f"pg_dump wrote {name} again after it was complete"
        elif not data_file.is_all_of(data_file.path):
            return f"{name} in {self.folder} is not all of the file that was read"
        if data_file.rows() is None:
            return f"{name} does not end as pg_dump ends a table's data"
        return None

    def _compress_large_objects(self) -> None:
        if self.level is None:
            return
        for path in self.folder.iterdir():
            if _LARGE_OBJECT.fullmatch(path.name):
                target = path.with_name(path.name + ".gz")
                deflater = isal_zlib.compressobj(self.level, isal_zlib.DEFLATED, _GZIP)
                with path.open("rb") as text, target.open("wb") as out:
                    while piece := text.read(_READ):
                        out.write(deflater.compress(piece))
                    out.write(deflater.flush())
                    out.flush()
                    os.fsync(out.fileno())
                path.unlink()

    def _sync(self) -> None:
        """pg_dump ran with --no-sync: fsync every file a sealed data file did not, and
        the folder."""
        sealed = {f.gz_path.name for f in self._files.values() if f.sealed}
        for path in self.folder.iterdir():
            if path.name not in sealed and path.is_file():
                fd = os.open(path, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        fd = os.open(self.folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def stop(self) -> None:
        """Stop following (the thread ends after the read it is in)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def close(self) -> None:
        self.stop()
        for data_file in self._files.values():
            data_file.close()
