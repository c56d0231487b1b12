"""The real `syncwizard` in tmux, 80x24, takes a backup of the lab from the welcome screen.

Esc mid-run asks first and "Keep going" lets it go on; the summary shows the sealed set,
and the set on disk is the one it shows.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_backup_support import backup_env

pytestmark = pytest.mark.integration

SESSION = f"swbackup{os.getpid()}"


def capture() -> str:
    return subprocess.run(
        ["tmux", "capture-pane", "-p", "-t", SESSION], capture_output=True, text=True, check=True
    ).stdout


def keys(*pressed: str) -> None:
    subprocess.run(["tmux", "send-keys", "-t", SESSION, *pressed], check=True)


def wait_for(pattern: str, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = capture()
        if re.search(pattern, screen):
            return screen
        time.sleep(0.1)
    raise AssertionError(f"{pattern!r} never appeared on the screen:\n{screen}")


@pytest.fixture
def tmux_backup(lab_config: Path, tmp_path: Path) -> Iterator[Path]:
    """The wizard running in tmux with its own state dir; yields its backup folder."""
    assert shutil.which("tmux"), "tmux is needed: apt-get install tmux"
    backup_dir = tmp_path / "backups"
    ours = {
        key: value
        for key, value in backup_env(lab_config, backup_dir).items()
        if key.startswith("SYNCWIZARD_")
    }
    ours["SYNCWIZARD_STATE_DIR"] = str(tmp_path / "state")
    # A tmux server already running gives new sessions ITS environment, not ours: say it all.
    command = shlex.join(
        ["env", *(f"{k}={v}" for k, v in ours.items()), sys.executable, "-m", "syncwizard"]
    )
    command += f" --config {shlex.quote(str(lab_config))} --profile lab"
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", SESSION, "-x", "80", "-y", "24", command],
        check=True,
        env={**os.environ, "TERM": "xterm-256color"},
    )
    try:
        yield backup_dir
    finally:
        subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)


def test_a_backup_from_the_welcome_screen_ends_on_the_sealed_set(
    tmux_backup: Path, lab_sync_id: str
) -> None:
    wait_for("Practice lab")
    keys("b")
    wait_for(r"Step \d of 5")
    keys("Escape")
    wait_for("Cancel the backup\\?")
    keys("Escape")  # no: go on
    summary = wait_for(r"Backup set", timeout=120)
    assert "Sealed" in summary and lab_sync_id in summary, summary
    (set_dir,) = [p for p in tmux_backup.iterdir() if p.is_dir()]
    assert set_dir.name in summary
    manifest = json.loads((set_dir / "manifest.json").read_text())
    assert manifest["sync_id"] == lab_sync_id
    assert "repository_db.dump" in summary and "sync_db.dump" in summary
    keys("w")
    wait_for("Practice lab")
    keys("q")
