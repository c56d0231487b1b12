"""Counting a directory dump's rows in its data files, followed while they are written
(runbook/backup/data_file_rows.py). The files here are written as pg_dump writes them: COPY
text, one line per row, then the end marker; gzipped as one stream, or plain. That real
pg_dump output is exactly this is checked against PostgreSQL in
tests/integration/test_dump_row_counts.py."""

from __future__ import annotations

import os
import threading
import time
import zlib
from pathlib import Path

import pytest

from syncwizard.runbook.backup.data_file_rows import COPY_END, DataFileRows


def copy_text(rows: list[bytes]) -> bytes:
    return b"".join(row + b"\n" for row in rows) + COPY_END


def gzipped(data: bytes, level: int = 1) -> bytes:
    deflate = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return deflate.compress(data) + deflate.flush()


TRICKY = [
    b"1\tline1\\nline2\\r\\\\back\\tslash",  # a newline in a value is written as \n
    b"\\N\t\\N",
    b"",  # a row of a table without columns
    b"\\\\.",  # the value `\.` is written with its backslash doubled: not the end marker
    b"2\t" + "ünïcode".encode(),
]


def test_a_gzipped_and_a_plain_data_file_hold_their_rows_exactly(tmp_path: Path) -> None:
    (tmp_path / "3391.dat.gz").write_bytes(gzipped(copy_text([])))
    (tmp_path / "3392.dat.gz").write_bytes(gzipped(copy_text(TRICKY)))
    (tmp_path / "3393.dat").write_bytes(copy_text(TRICKY * 3))
    (tmp_path / "3394.dat").write_bytes(copy_text([]))
    (tmp_path / "blob_24626.dat.gz").write_bytes(gzipped(b"hello\n\n\n"))  # a large object
    (tmp_path / "toc.dat").write_bytes(b"\n" * 9)
    rows = DataFileRows(tmp_path)
    rows.start()
    assert rows.finish(tmp_path) == ({3391: 0, 3392: 5, 3393: 15, 3394: 0}, {})


def test_files_are_followed_as_they_grow_and_read_to_their_end_at_the_finish(
    tmp_path: Path,
) -> None:
    partial, final = tmp_path / "dump.partial", tmp_path / "dump"
    partial.mkdir()
    lines = [f"{n}\t{'x' * (n % 97)}".encode() for n in range(200_000)]
    text = copy_text(lines)
    packed = gzipped(text)
    rows = DataFileRows(partial)
    rows.start()

    def write(name: str, data: bytes, pieces: int) -> None:
        step = len(data) // pieces + 1
        with (partial / name).open("wb") as out:
            for at in range(0, len(data), step):
                out.write(data[at : at + step])
                out.flush()
                time.sleep(0.005)

    writers = [
        threading.Thread(target=write, args=("5.dat.gz", packed, 40)),
        threading.Thread(target=write, args=("6.dat", text, 40)),
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    (partial / "7.dat.gz").write_bytes(gzipped(copy_text(TRICKY)))  # written after the last look
    partial.rename(final)  # as PgDump does when pg_dump has succeeded
    assert rows.finish(final) == ({5: 200_000, 6: 200_000, 7: 5}, {})


@pytest.mark.parametrize(
    ("name", "data", "why"),
    [
        ("8.dat.gz", gzipped(copy_text(TRICKY))[:-9], "does not end as pg_dump ends"),
        ("8.dat.gz", gzipped(copy_text(TRICKY))[:-4] + b"\0\0\0\0", "cannot be read"),
        ("8.dat.gz", b"not gzip at all", "cannot be read"),
        ("8.dat", copy_text(TRICKY)[:-1], "does not end as pg_dump ends"),
        ("8.dat", b"1\n2\n", "does not end as pg_dump ends"),
        ("8.dat", b"1\\.\n\n\n", "does not end as pg_dump ends"),  # no newline before it
    ],
    ids=[
        "gzip cut short",
        "gzip bad checksum",
        "not gzip",
        "plain cut short",
        "no marker",
        "marker inside a row",
    ],
)
def test_a_data_file_cut_short_or_damaged_is_not_counted(
    tmp_path: Path, name: str, data: bytes, why: str
) -> None:
    (tmp_path / name).write_bytes(data)
    rows = DataFileRows(tmp_path)
    rows.start()
    counted, problems = rows.finish(tmp_path)
    assert counted == {}
    assert why in problems[8] and name in problems[8]


def test_gzip_members_one_after_another_are_one_file(tmp_path: Path) -> None:
    first, rest = copy_text(TRICKY)[:20], copy_text(TRICKY)[20:]
    (tmp_path / "9.dat.gz").write_bytes(gzipped(first) + gzipped(rest, 6))
    rows = DataFileRows(tmp_path)
    rows.start()
    assert rows.finish(tmp_path) == ({9: 5}, {})


def test_a_highly_compressed_file_is_inflated_a_bounded_piece_at_a_time(tmp_path: Path) -> None:
    text = b"same\n" * 4_000_000 + COPY_END  # 20 MB that gzip packs into ~60 kB
    (tmp_path / "10.dat.gz").write_bytes(gzipped(text, 6))
    rows = DataFileRows(tmp_path)
    rows.start()
    assert rows.finish(tmp_path) == ({10: 4_000_000}, {})


def test_closing_before_the_finish_stops_the_thread(tmp_path: Path) -> None:
    rows = DataFileRows(tmp_path / "not yet")
    rows.start()
    rows.close()
    assert not any(t.name == "data-file-rows" and t.is_alive() for t in threading.enumerate())


def wait_until_followed(rows: DataFileRows, files: int) -> None:
    deadline = time.monotonic() + 10
    while len(rows._files) < files or any(f.read_bytes == 0 for f in rows._files.values()):
        assert time.monotonic() < deadline, "the files were not followed"
        time.sleep(0.01)


def open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts open files in /proc")
def test_a_complete_file_is_closed_as_soon_as_it_is_read_whatever_the_number_of_tables(
    tmp_path: Path,
) -> None:
    for dump_id in range(1000, 1400):  # more tables than many systems let a process open
        (tmp_path / f"{dump_id}.dat.gz").write_bytes(gzipped(copy_text(TRICKY)))
    before = open_files()
    rows = DataFileRows(tmp_path)
    rows.start()
    wait_until_followed(rows, 400)
    assert open_files() <= before + 2
    counted, problems = rows.finish(tmp_path)
    assert counted == dict.fromkeys(range(1000, 1400), 5) and problems == {}


@pytest.mark.parametrize("change", ["replaced", "grown"])
def test_a_file_changed_after_it_was_read_is_not_counted(tmp_path: Path, change: str) -> None:
    (tmp_path / "11.dat").write_bytes(copy_text(TRICKY))
    rows = DataFileRows(tmp_path)
    rows.start()
    wait_until_followed(rows, 1)
    if change == "replaced":  # e.g. by an earlier attempt's file of the same name
        (tmp_path / "11.dat").unlink()  # (its inode number may be reused: the size differs)
        (tmp_path / "11.dat").write_bytes(copy_text(TRICKY * 2))
    else:
        with (tmp_path / "11.dat").open("ab") as grown:
            grown.write(b"3\n")
    counted, problems = rows.finish(tmp_path)
    assert counted == {} and "is not all of the file that was read" in problems[11]
