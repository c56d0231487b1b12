"""The events archive on disk: private, only ever appended to, whole lines only, and an
event the broker delivers again written once."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from syncwizard.clients.event_archive_writer import ArchiveAppender
from syncwizard.errors import SyncWizardError
from syncwizard.runbook.restore.archive import count_archive


def event(number: int) -> dict[str, str]:
    return {"message-id": f"ID:host-1:1:1:1:{number}", "ack": f"token-{number}"}


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def test_a_new_archive_is_private_and_its_lines_are_on_disk_after_sync(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    archive = ArchiveAppender(path)
    assert archive.add(event(1), b"one")
    archive.sync()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [line["body"] for line in lines(path)] == ["one"]
    archive.close()


def test_an_existing_archive_is_appended_to_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    first = ArchiveAppender(path)
    first.add(event(1), b"one")
    first.close()

    second = ArchiveAppender(path)
    assert second.count == 1 and second.written == 0
    second.add(event(2), b"two")
    second.close()

    assert [line["body"] for line in lines(path)] == ["one", "two"]
    assert second.count == 2


def test_the_delivery_token_is_not_kept(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    archive = ArchiveAppender(path)
    archive.add(event(1), b"one")
    archive.close()
    assert lines(path)[0]["headers"] == {"message-id": "ID:host-1:1:1:1:1"}


def test_a_line_cut_short_at_the_end_is_cut_off_when_opened_again(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    archive = ArchiveAppender(path)
    archive.add(event(1), b"one")
    archive.close()
    with path.open("ab") as file:
        file.write(b'{"headers":{"message-id":"ID:host-1:1:1:1:2"},"bo')

    again = ArchiveAppender(path)
    assert again.count == 1
    assert again.add(event(2), b"two")  # not taken for a duplicate: its line was not whole
    again.close()
    assert [line["body"] for line in lines(path)] == ["one", "two"]
    assert count_archive(path) == 2


def test_an_event_delivered_again_is_not_written_twice(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    archive = ArchiveAppender(path)
    archive.add(event(1), b"one")
    archive.close()

    again = ArchiveAppender(path)
    assert not again.add(event(1), b"one")
    assert again.add(event(2), b"two")
    assert not again.add(event(2), b"two")
    again.close()

    assert (again.written, again.duplicates, again.count) == (1, 2, 2)
    assert len(lines(path)) == 2


def test_only_the_last_lines_are_remembered_so_memory_stays_flat(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    archive = ArchiveAppender(path, window=10)
    for number in range(100):
        archive.add(event(number), b"x")
    archive.close()

    again = ArchiveAppender(path, window=10)
    assert len(again._recent._ids) == 10
    assert not again.add(event(99), b"x") and not again.add(event(90), b"x")
    assert again.add(event(5), b"x")  # long acknowledged: the broker never sends it again
    again.close()


def test_a_folder_that_cannot_be_written_is_named_with_what_to_do(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    blocked = folder / "events.jsonl"
    blocked.mkdir()  # a directory where the file should be
    with pytest.raises(SyncWizardError) as caught:
        ArchiveAppender(blocked)
    assert str(blocked) in caught.value.message
    assert "run the step again" in caught.value.hint


def test_a_full_disk_is_an_error_that_keeps_every_line_synced_before(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    archive = ArchiveAppender(path)
    archive.add(event(1), b"one")
    archive.sync()
    full = os.open("/dev/full", os.O_WRONLY)
    os.dup2(full, archive._file.fileno())  # from now on every write finds the disk full
    os.close(full)
    with pytest.raises(SyncWizardError) as caught:
        archive.add(event(2), b"x" * (2 << 20))  # larger than the buffer: written at once
    assert "cannot be written" in caught.value.message and "make room" in caught.value.hint
    with pytest.raises(SyncWizardError):
        archive.close()
    assert [line["body"] for line in lines(path)] == ["one"]
