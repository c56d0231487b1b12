"""`syncwizard backup --yes` as cron runs it, against the real lab: a reader of its output
that goes away."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from standin_support import restore
from test_backup_support import (
    backup_env,
    no_backup_left_running,  # noqa: F401 (an autouse fixture)
    the_set,
)

from syncwizard.lab.layout import LabLayout
from syncwizard.runbook import backupset
from syncwizard.runbook.journal import list_runs

pytestmark = pytest.mark.integration


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
