"""The run journal: fsynced JSON lines, tolerant reading, run listing, locks, secrets."""

from __future__ import annotations

import json
import multiprocessing
import os
import stat
import time
from pathlib import Path

import pytest

from syncwizard.errors import SyncWizardError
from syncwizard.runbook.journal import (
    Journal,
    abandon,
    find_unfinished,
    list_runs,
    load_run,
    new_run_id,
    read_entries,
)
from syncwizard.runbook.model import EventKind, StepEvent, StepState


def started(run_dir: Path, steps: list[str], **extra: object) -> Journal:
    journal = Journal.create(run_dir, secrets=["hunter2"])
    journal.append(
        StepEvent(
            run_id=run_dir.name,
            kind=EventKind.RUN_STARTED,
            data={"runbook": "backup", "steps": steps, **extra},
        )
    )
    return journal


def state(run_dir: Path, step: str, value: StepState, **data: object) -> StepEvent:
    return StepEvent(
        run_id=run_dir.name, kind=EventKind.STATE, step_id=step, state=value, data=data
    )


def test_run_ids_sort_by_time_and_name_the_runbook() -> None:
    early, late = new_run_id("backup", 1_800_000_000), new_run_id("backup", 1_800_000_001)
    assert early == "backup-20270115T080000Z" and early < late


def test_a_run_folder_and_journal_are_private(tmp_path: Path) -> None:
    run_dir = tmp_path / "runs" / "backup-1"
    started(run_dir, ["a"]).close()
    assert stat.S_IMODE(run_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((run_dir / "journal.jsonl").stat().st_mode) == 0o600


def test_secrets_are_masked_in_every_line(tmp_path: Path) -> None:
    run_dir = tmp_path / "runs" / "backup-1"
    journal = started(run_dir, ["a"])
    journal.append(state(run_dir, "a", StepState.DONE, note="password hunter2 leaked"))
    journal.close()
    text = (run_dir / "journal.jsonl").read_text()
    assert "hunter2" not in text and "********" in text


def test_a_broker_password_that_is_a_word_masks_values_not_the_words_of_a_message(
    tmp_path: Path,
) -> None:
    run_dir = tmp_path / "runs" / "restore-1"
    journal = Journal.create(run_dir, secrets=["admin", "r4nd0m-T0ken_x"])
    error = SyncWizardError(
        "the start command `ctl start` exited with 1: recover refused: wrong repository admin "
        "credentials for user admin",
        hint="the option was -Drecover=admin:admin and the broker at http://admin:admin@mq",
    )
    journal.append(
        StepEvent(
            run_id="restore-1",
            kind=EventKind.STATE,
            step_id="start_recover",
            state=StepState.FAILED,
            error=error,
            data={"note": "r4nd0m-T0ken_x leaked", "db_password": "Pw-77x", "again": "Pw-77x"},
        )
    )
    journal.close()
    (entry,) = read_entries(run_dir / "journal.jsonl")
    assert entry["error"]["message"].endswith(
        "recover refused: wrong repository admin credentials for user admin"
    )
    assert entry["error"]["hint"] == (
        "the option was -Drecover=admin:******** and the broker at http://admin:********@mq"
    )
    assert entry["data"] == {
        "note": "******** leaked",
        "db_password": "********",
        "again": "********",
    }


def test_a_line_cut_short_by_a_kill_is_skipped_and_the_next_append_starts_clean(
    tmp_path: Path,
) -> None:
    run_dir = tmp_path / "runs" / "backup-1"
    journal = started(run_dir, ["a", "b"])
    journal.append(state(run_dir, "a", StepState.DONE, made="a"))
    journal.close()
    with (run_dir / "journal.jsonl").open("a") as handle:
        handle.write('{"at": 1, "kind": "state", "step": "b", "sta')  # kill -9 mid-write
    journal = Journal.open(run_dir)
    journal.append(state(run_dir, "b", StepState.RUNNING))
    journal.close()
    record = load_run(run_dir)
    assert record.states == {"a": StepState.DONE, "b": StepState.RUNNING}
    assert record.results["a"] == {"made": "a"}
    assert record.status() == "interrupted" and record.stopped_at == "b"
    assert all(isinstance(e, dict) for e in read_entries(run_dir / "journal.jsonl"))


def _hold_lock(run_dir: str, ready: multiprocessing.synchronize.Event) -> None:
    journal = Journal.open(Path(run_dir))
    ready.set()
    time.sleep(30)
    journal.close()


def test_a_run_driven_by_another_process_is_running_and_cannot_be_opened(tmp_path: Path) -> None:
    run_dir = tmp_path / "runs" / "backup-1"
    started(run_dir, ["a"]).close()
    ready = multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold_lock, args=(str(run_dir), ready))
    holder.start()
    try:
        assert ready.wait(10)
        assert load_run(run_dir).status() == "running"
        with pytest.raises(SyncWizardError, match="another syncwizard process"):
            Journal.open(run_dir)
    finally:
        holder.kill()
        holder.join()
    # the kill released the lock: the run is now simply interrupted
    assert load_run(run_dir).status() == "interrupted"


def test_runs_are_listed_newest_first_and_the_unfinished_one_found(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    old = root / "backup-20260101T000000Z"
    journal = started(old, ["a"])
    journal.append(state(old, "a", StepState.DONE))
    journal.append(StepEvent(run_id=old.name, kind=EventKind.RUN_FINISHED))
    journal.close()
    time.sleep(0.01)
    failed = root / "backup-20260102T000000Z"
    journal = started(failed, ["a"])
    journal.append(state(failed, "a", StepState.FAILED))
    journal.append(
        StepEvent(run_id=failed.name, kind=EventKind.RUN_STOPPED, data={"outcome": "failed"})
    )
    journal.close()
    (root / "not-a-run").mkdir()
    runs = list_runs(root)
    assert [r.run_id for r in runs] == [failed.name, old.name]
    assert [r.status() for r in runs] == ["failed", "finished"]
    unfinished = find_unfinished("backup", root)
    assert unfinished is not None and unfinished.run_id == failed.name
    assert find_unfinished("restore", root) is None

    abandon(unfinished, "a fresh run was started with --new")
    assert load_run(failed).status() == "abandoned"
    assert find_unfinished("backup", root) is None


def test_a_resumed_run_is_unfinished_again(tmp_path: Path) -> None:
    run_dir = tmp_path / "runs" / "backup-1"
    journal = started(run_dir, ["a"])
    journal.append(StepEvent(run_id="x", kind=EventKind.RUN_STOPPED, data={"outcome": "cancelled"}))
    journal.append(StepEvent(run_id="x", kind=EventKind.RUN_RESUMED))
    journal.close()
    assert load_run(run_dir).outcome == ""


def test_a_file_that_is_not_a_journal_is_named(tmp_path: Path) -> None:
    run_dir = tmp_path / "runs" / "x"
    run_dir.mkdir(parents=True)
    (run_dir / "journal.jsonl").write_text(json.dumps({"kind": "state"}) + "\n")
    with pytest.raises(SyncWizardError, match="not a syncwizard run journal"):
        load_run(run_dir)
    assert list_runs(tmp_path / "runs") == []


def test_every_append_reaches_the_disk_before_it_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    run_dir = tmp_path / "runs" / "backup-1"
    journal = started(run_dir, ["a"])
    before = len(synced)
    journal.append(state(run_dir, "a", StepState.RUNNING))
    assert len(synced) == before + 1
    journal.close()
