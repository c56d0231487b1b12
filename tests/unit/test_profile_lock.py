"""One backup or restore run at a time per profile: an flock that real processes contend
for, that names its holder to the refused, and that a kill -9 releases."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from syncwizard.config import load_settings
from syncwizard.config_file import init_config
from syncwizard.errors import SyncWizardError
from syncwizard.runbook.backup.runbook import hold_profile
from syncwizard.runbook.journal import Journal, abandon, find_unfinished
from syncwizard.runbook.model import EventKind, StepEvent
from syncwizard.runbook.profile_lock import ProfileLock, current_holder, lock_path

# A process that tries to take the lock of profile "prod": it prints "held <pid>" and keeps
# the lock until its stdin closes, or prints the refusal and exits 2.
CONTENDER = """
import sys
from syncwizard.errors import SyncWizardError
from syncwizard.runbook.profile_lock import ProfileLock
try:
    lock = ProfileLock.take("prod", "backup")
except SyncWizardError as exc:
    print("busy", exc.render().replace("\\n", " | "), flush=True)
    sys.exit(2)
lock.claim(sys.argv[1])
print("held", flush=True)
sys.stdin.read()
"""


class Contender:
    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CONTENDER, run_id],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def first_line(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()  # the child answers at once either way

    def end(self) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        return self.proc.wait(30)

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)


def test_of_three_processes_started_together_one_holds_the_lock_and_two_are_refused() -> None:
    contenders = [Contender(f"backup-{n}") for n in range(3)]  # started before any answers
    try:
        lines = [c.first_line() for c in contenders]
        holders = [c for c, line in zip(contenders, lines, strict=True) if line == "held"]
        assert len(holders) == 1, lines
        (holder,) = holders
        run_id = holder.run_id
        refused = [line for line in lines if line != "held"]
        for line in refused:
            assert line.startswith("busy profile 'prod' is busy: backup run ")
            assert f"run {run_id} (pid {holder.proc.pid}, started " in line
            assert "only one backup or restore runs at a time per profile" in line
            assert "hint: wait until that run ends (`syncwizard runs` shows it)" in line
        assert sorted(c.end() for c in contenders) == [0, 2, 2]
    finally:
        for contender in contenders:
            if contender.proc.poll() is None:
                contender.kill9()


def test_the_holders_kill_9_releases_the_lock() -> None:
    holder = Contender("backup-1")
    try:
        assert holder.first_line() == "held"
        with pytest.raises(SyncWizardError, match=f"pid {holder.proc.pid}"):
            ProfileLock.take("prod", "restore")
    finally:
        holder.kill9()
    lock = ProfileLock.take("prod", "restore")  # the kernel let go with the process
    lock.release()


def test_a_refused_run_waits_briefly_for_a_holder_that_has_not_named_its_run_yet() -> None:
    lock = ProfileLock.take("prod", "backup")
    try:
        holder = current_holder("prod", wait=0.2)
        assert holder is not None and holder.pid == os.getpid() and not holder.run_id
        assert holder.describe().startswith(f"a backup run that is starting (pid {os.getpid()}")
        lock.claim("backup-20261126T043200Z")
        holder = current_holder("prod", wait=0)
        assert holder is not None and holder.run_id == "backup-20261126T043200Z"
        assert holder.describe().startswith("backup run backup-20261126T043200Z (pid ")
    finally:
        lock.release()


def test_a_shared_lock_is_released_by_its_last_holder_only() -> None:
    lock = ProfileLock.take("prod", "backup")
    run_dir = lock_path("prod").parents[1] / "runs" / "backup-1"
    journal = Journal.create(run_dir, profile_lock=lock.share())
    assert current_holder("prod", wait=0).run_id == "backup-1"  # type: ignore[union-attr]
    journal.close()  # the journal's share
    with pytest.raises(SyncWizardError, match="is busy"):
        ProfileLock.take("prod", "backup")
    lock.release()
    ProfileLock.take("prod", "backup").release()


def test_a_journal_that_cannot_be_made_releases_the_lock_it_was_given(tmp_path: Path) -> None:
    run_dir = tmp_path / "runs" / "backup-1"
    run_dir.mkdir(parents=True)
    with pytest.raises(SyncWizardError, match="already exists"):
        Journal.create(run_dir, profile_lock=ProfileLock.take("prod", "backup"))
    ProfileLock.take("prod", "backup").release()


def test_a_backup_is_refused_while_a_restore_run_of_its_profile_is_open(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    init_config(config)
    profile = load_settings(config, "prod").profile
    restore = Journal.create(lock_path("prod").parents[1] / "runs" / "restore-1")
    restore.append(
        StepEvent(
            run_id="restore-1",
            kind=EventKind.RUN_STARTED,
            data={"runbook": "restore", "steps": ["verify_set", "preflight"], "profile": "prod"},
        )
    )
    restore.close()
    with pytest.raises(SyncWizardError) as caught:
        hold_profile(profile)
    error = caught.value
    assert "restore run restore-1 of profile 'prod' is open (interrupted, stopped at step " in (
        error.message
    )
    assert "this backup did not start" in error.message
    assert "choose Restore" in error.hint
    ProfileLock.take("prod", "backup").release()  # the refusal let the lock go

    record = find_unfinished("restore", profile="prod")
    assert record is not None
    abandon(record, "given up")
    held = hold_profile(profile)  # an abandoned restore no longer stands in the way
    held.release()


def test_the_lock_file_lives_in_the_state_dir_and_is_private(isolated_dirs: Path) -> None:
    lock = ProfileLock.take("prod/eu", "backup")
    try:
        path = lock_path("prod/eu")
        assert path.parent == isolated_dirs / "state" / "locks"
        assert path.name == "prod%2Feu.lock"
        assert path.stat().st_mode & 0o777 == 0o600
        assert path.parent.stat().st_mode & 0o777 == 0o700
    finally:
        lock.release()
    assert path.exists()  # never removed: a new file would be a second lock
