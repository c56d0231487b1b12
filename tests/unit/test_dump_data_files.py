"""A directory dump's data files, compressed and counted while pg_dump writes them
(runbook/backup/data_files.py). The files here are written as pg_dump writes them with
--compress=0: COPY text, one line per row, then the end marker. That real pg_dump output
is exactly this, and that pg_restore reads what the wizard makes of it, is checked against
PostgreSQL in tests/integration/test_dump_row_counts.py."""

from __future__ import annotations

import gzip
import os
import threading
import time
from pathlib import Path

import pytest

from syncwizard.errors import SyncWizardError
from syncwizard.runbook.backup import data_files
from syncwizard.runbook.backup.data_files import COPY_END, DataFiles, gzip_level


def copy_text(rows: list[bytes]) -> bytes:
    return b"".join(row + b"\n" for row in rows) + COPY_END


TRICKY = [
    b"1\tline1\\nline2\\r\\\\back\\tslash",  # a newline in a value is written as \n
    b"\\N\t\\N",
    b"",  # a row of a table without columns
    b"\\\\.",  # the value `\.` is written with its backslash doubled: not the end marker
    b"2\t" + "ünïcode".encode(),
]


def names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_each_data_file_becomes_its_gzip_with_its_rows_counted_exactly(tmp_path: Path) -> None:
    (tmp_path / "3391.dat").write_bytes(copy_text([]))
    (tmp_path / "3392.dat").write_bytes(copy_text(TRICKY))
    (tmp_path / "3393.dat").write_bytes(copy_text(TRICKY * 3))
    (tmp_path / "blob_24626.dat").write_bytes(b"hello\n\n\n")  # a large object: no rows
    (tmp_path / "blobs.toc").write_bytes(b"24626 blob_24626.dat\n")
    (tmp_path / "toc.dat").write_bytes(b"\n" * 9)
    files = DataFiles(tmp_path, level=1)
    files.start()
    result = files.finish()
    assert (result.rows, result.problems) == ({3391: 0, 3392: 5, 3393: 15}, {})
    assert names(tmp_path) == {
        "3391.dat.gz",
        "3392.dat.gz",
        "3393.dat.gz",
        "blob_24626.dat.gz",
        "blobs.toc",
        "toc.dat",
    }
    assert gzip.decompress((tmp_path / "3393.dat.gz").read_bytes()) == copy_text(TRICKY * 3)
    assert gzip.decompress((tmp_path / "blob_24626.dat.gz").read_bytes()) == b"hello\n\n\n"
    assert (tmp_path / "toc.dat").read_bytes() == b"\n" * 9


def test_uncompressed_the_data_files_stay_as_pg_dump_wrote_them(tmp_path: Path) -> None:
    (tmp_path / "5.dat").write_bytes(copy_text(TRICKY))
    (tmp_path / "blob_1.dat").write_bytes(b"x")
    files = DataFiles(tmp_path, level=None)
    files.start()
    result = files.finish()
    assert (result.rows, result.problems) == ({5: 5}, {})
    assert names(tmp_path) == {"5.dat", "blob_1.dat"}
    assert (tmp_path / "5.dat").read_bytes() == copy_text(TRICKY)


@pytest.mark.parametrize(
    ("compress", "level"), [(None, 1), ("0", None), ("1", 1), ("5", 1), ("6", 3), ("9", 3)]
)
def test_the_profiles_gzip_level_picks_isals(compress: str | None, level: int | None) -> None:
    assert gzip_level(compress) == level


def write_slowly(path: Path, data: bytes, pieces: int) -> None:
    step = len(data) // pieces + 1
    with path.open("wb") as out:
        for at in range(0, len(data), step):
            out.write(data[at : at + step])
            out.flush()
            time.sleep(0.005)


def test_files_are_followed_as_they_grow_and_read_to_their_end_at_the_finish(
    tmp_path: Path,
) -> None:
    lines = [f"{n}\t{'x' * (n % 97)}".encode() for n in range(200_000)]
    text = copy_text(lines)
    files = DataFiles(tmp_path, level=1)
    files.start()
    writers = [
        threading.Thread(target=write_slowly, args=(tmp_path / "5.dat", text, 40)),
        threading.Thread(target=write_slowly, args=(tmp_path / "6.dat", text, 40)),
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    (tmp_path / "7.dat").write_bytes(copy_text(TRICKY))  # written after the last look
    result = files.finish()
    assert (result.rows, result.problems) == ({5: 200_000, 6: 200_000, 7: 5}, {})
    assert gzip.decompress((tmp_path / "6.dat.gz").read_bytes()) == text


def can_punch(folder: Path) -> bool:
    probe = folder / "probe"
    probe.write_bytes(b"x" * 8192)
    with probe.open("r+b") as held:
        punched = data_files._punch(held.fileno(), 0, 4096)
    probe.unlink()
    return punched


def test_what_was_read_is_punched_out_of_the_text_while_it_grows(tmp_path: Path) -> None:
    if not can_punch(tmp_path):
        pytest.skip(f"the file system of {tmp_path} cannot punch holes")
    piece = b"".join(f"{n}\t{'y' * 200}\n".encode() for n in range(20_000))  # ~4 MB
    path = tmp_path / "12.dat"
    files = DataFiles(tmp_path, level=1)
    files.start()
    allocated = []
    with path.open("wb") as out:
        for _ in range(8):
            out.write(piece)
            out.flush()
            deadline = time.monotonic() + 10
            while files._files.get(12) is None or files._files[12].read_bytes < out.tell():
                assert time.monotonic() < deadline, "the follower did not read on"
                time.sleep(0.01)
            allocated.append(path.stat().st_blocks * 512)
        out.write(COPY_END)
    result = files.finish()
    assert result.rows == {12: 8 * 20_000}
    assert max(allocated) < 3 * len(piece), f"not punched out as it was read: {allocated}"
    assert not path.exists() and (tmp_path / "12.dat.gz").exists()


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (copy_text(TRICKY)[:-1], "does not end as pg_dump ends"),
        (b"1\n2\n", "does not end as pg_dump ends"),
        (b"1\\.\n\n\n", "does not end as pg_dump ends"),  # no newline before it
    ],
    ids=["cut short", "no marker", "marker inside a row"],
)
def test_a_data_file_cut_short_is_not_counted_and_stays_as_pg_dump_wrote_it(
    tmp_path: Path, data: bytes, why: str
) -> None:
    (tmp_path / "8.dat").write_bytes(data)
    files = DataFiles(tmp_path, level=1)
    files.start()
    result = files.finish()
    assert result.rows == {}
    assert why in result.problems[8] and "8.dat" in result.problems[8]
    assert names(tmp_path) == {"8.dat"} and (tmp_path / "8.dat").read_bytes() == data


def test_a_file_that_cannot_be_compressed_keeps_its_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "9.dat").write_bytes(copy_text(TRICKY))
    real_fsync = os.fsync

    def full_disk(fd: int) -> None:
        if os.readlink(f"/proc/self/fd/{fd}").endswith("9.dat.gz"):
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full_disk)
    files = DataFiles(tmp_path, level=1)
    files.start()
    result = files.finish()
    assert result.rows == {} and "No space left on device" in result.problems[9]
    assert names(tmp_path) == {"9.dat"} and (tmp_path / "9.dat").read_bytes() == copy_text(TRICKY)


def test_closing_before_the_finish_stops_the_thread(tmp_path: Path) -> None:
    files = DataFiles(tmp_path / "not yet", level=1)
    files.start()
    files.close()
    assert not any(t.name == "data-files" and t.is_alive() for t in threading.enumerate())


def wait_until_followed(files: DataFiles, count: int) -> None:
    deadline = time.monotonic() + 10
    while len(files._files) < count or any(f.read_bytes == 0 for f in files._files.values()):
        assert time.monotonic() < deadline, "the files were not followed"
        time.sleep(0.01)


def open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts open files in /proc")
def test_a_complete_file_is_closed_as_soon_as_it_is_read_whatever_the_number_of_tables(
    tmp_path: Path,
) -> None:
    for dump_id in range(1000, 1400):  # more tables than many systems let a process open
        (tmp_path / f"{dump_id}.dat").write_bytes(copy_text(TRICKY))
    before = open_files()
    files = DataFiles(tmp_path, level=1)
    files.start()
    wait_until_followed(files, 400)
    assert open_files() <= before + 2
    result = files.finish()
    assert result.rows == dict.fromkeys(range(1000, 1400), 5) and result.problems == {}


@pytest.mark.parametrize("change", ["replaced", "grown"])
def test_a_file_changed_after_it_was_read_is_not_counted(tmp_path: Path, change: str) -> None:
    (tmp_path / "11.dat").write_bytes(copy_text(TRICKY))
    files = DataFiles(tmp_path, level=None)
    files.start()
    wait_until_followed(files, 1)
    if change == "replaced":  # e.g. by an earlier attempt's file of the same name
        (tmp_path / "11.dat").unlink()  # (its inode number may be reused: the size differs)
        (tmp_path / "11.dat").write_bytes(copy_text(TRICKY * 2))
    else:
        with (tmp_path / "11.dat").open("ab") as grown:
            grown.write(b"3\n")
    result = files.finish()
    assert result.rows == {} and "is not all of the file that was read" in result.problems[11]


def test_a_file_written_again_after_it_was_sealed_is_kept_as_written(tmp_path: Path) -> None:
    (tmp_path / "13.dat").write_bytes(copy_text(TRICKY))
    files = DataFiles(tmp_path, level=1)
    files.start()
    deadline = time.monotonic() + 10
    while not (files._files.get(13) and files._files[13].sealed):
        assert time.monotonic() < deadline, "the file was not sealed"
        time.sleep(0.01)
    (tmp_path / "13.dat").write_bytes(copy_text(TRICKY * 2))
    result = files.finish()
    assert "again after it was complete" in result.problems[13]
    assert names(tmp_path) == {"13.dat"}


def test_a_file_that_fails_once_its_read_text_was_punched_out_fails_the_dump(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not can_punch(tmp_path):
        pytest.skip(f"the file system of {tmp_path} cannot punch holes")
    piece = b"".join(f"{n}\t{'z' * 200}\n".encode() for n in range(40_000))  # ~8 MB
    path = tmp_path / "14.dat"
    files = DataFiles(tmp_path, level=1)
    files.start()
    with path.open("wb") as out:
        out.write(piece)
        out.flush()
        deadline = time.monotonic() + 10
        while files._files.get(14) is None or files._files[14].text_whole:
            assert time.monotonic() < deadline, "nothing was punched out"
            time.sleep(0.01)
        real_fsync = os.fsync

        def full_disk(fd: int) -> None:
            if os.readlink(f"/proc/self/fd/{fd}").endswith("14.dat.gz"):
                raise OSError(28, "No space left on device")
            real_fsync(fd)

        monkeypatch.setattr(os, "fsync", full_disk)
        out.write(COPY_END)
    with pytest.raises(SyncWizardError, match="No space left on device") as failed:
        files.finish()
    assert "cannot be kept" in failed.value.message
