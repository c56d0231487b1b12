"""`syncwizard backup --yes` as cron runs it, against the real lab: one run per profile at a
time (real processes started together), and a reader of its output that goes away."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from standin_support import db, restore
from test_backup_support import (
    BackupProcess,
    Event,
    backup_env,
    no_backup_left_running,  # noqa: F401 (an autouse fixture)
    the_set,
)

from syncwizard.lab.layout import LabLayout
from syncwizard.runbook import backupset
from syncwizard.runbook.journal import list_runs

pytestmark = pytest.mark.integration


def exited(children: list[BackupProcess], count: int, timeout: float = 90) -> list[BackupProcess]:
    """The first `count` children to end (the others still run)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [child for child in children if child.proc.poll() is not None]
        if len(done) >= count:
            return done
        time.sleep(0.1)
    raise AssertionError(f"only {len(done)} of the backups ended within {timeout} s")


async def test_three_backups_started_together_one_runs_and_two_are_refused_naming_it(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    await restore(lab)
    backups = tmp_path / "backups"
    env = backup_env(lab_config, backups)
    with db(lab, "repository") as blocker, blocker.transaction():
        # The one that gets to the dump waits here, holding the profile's lock, for as long
        # as the others need to start (however busy the machine).
        blocker.execute("LOCK TABLE alf_node IN ACCESS EXCLUSIVE MODE")
        children = [BackupProcess(env, "--new") for _ in range(3)]
        refused = exited(children, 2)
        (runner,) = [child for child in children if child not in refused]
        started: Event = runner.until(lambda e: e["kind"] == "run_started")
        assert runner.proc.poll() is None  # still waiting for the table
    for child in refused:
        code, stderr = child.finish()
        assert code == 2, stderr
        assert child.events == []  # nothing ran: no run, no step
        assert stderr.startswith("syncwizard: profile 'lab' is busy: backup run ")
        assert f"backup run {started['run_id']} (pid {runner.proc.pid}, started " in stderr
        assert "only one backup or restore runs at a time per profile" in stderr
        assert "hint: wait until that run ends" in stderr and "Traceback" not in stderr
    code, stderr = runner.finish()
    assert code == 0, stderr
    assert [run.run_id for run in list_runs()] == [started["run_id"]]  # exactly one ran
    assert (await backupset.verify_set(the_set(backups))).ok


async def test_a_reader_that_goes_away_does_not_stop_the_backup(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    await restore(lab)
    backups = tmp_path / "backups"
    env = backup_env(lab_config, backups)
    read_end, write_end = os.pipe()
    fcntl.fcntl(read_end, fcntl.F_SETPIPE_SZ, 4096)
    child = subprocess.Popen(  # with pg_dump's lines as JSON: far more than the pipe holds
        [sys.executable, "-m", "syncwizard", "backup", "--yes", "--verbose", "--json"],
        stdout=write_end,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:  # `syncwizard backup --yes | head -1`
        first = reader.readline()
    _, stderr = child.communicate(timeout=120)
    assert b"backup run started" in first
    assert child.returncode == 0, stderr
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr
    (run,) = list_runs()
    assert run.outcome == "finished"  # every line the reader missed is in the journal
    report = await backupset.verify_set(the_set(backups))
    assert report.ok, report.problems
    assert json.loads((the_set(backups) / "manifest.json").read_text())["run_id"] == run.run_id
