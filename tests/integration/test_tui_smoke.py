"""The real `syncwizard` in tmux against the lab: the painted screen shows live values."""

from __future__ import annotations

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

pytestmark = pytest.mark.integration

SESSION = f"swsmoke{os.getpid()}"


def capture() -> str:
    return subprocess.run(
        ["tmux", "capture-pane", "-p", "-t", SESSION], capture_output=True, text=True, check=True
    ).stdout


def wait_for(pattern: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = capture()
        if re.search(pattern, screen):
            return screen
        time.sleep(0.1)
    raise AssertionError(f"{pattern!r} never appeared on the screen:\n{screen}")


@pytest.fixture
def tmux_wizard(lab_config: Path) -> Iterator[None]:
    assert shutil.which("tmux"), "tmux is needed: apt-get install tmux"
    # A tmux server already running gives new sessions ITS environment, not ours: say it all.
    ours = {
        name: os.environ[name]
        for name in ("SYNCWIZARD_STATE_DIR", "HOME", "PATH")
        if name in os.environ
    }
    settings = (f"{k}={shlex.quote(v)}" for k, v in ours.items())
    wizard = f"{sys.executable} -m syncwizard --config {lab_config} --profile lab"
    command = f"env {' '.join(settings)} {wizard}"
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", SESSION, "-x", "100", "-y", "32", command],
        check=True,
        env={**os.environ, "TERM": "xterm-256color"},
    )
    try:
        yield
    finally:
        subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)


def test_the_dashboard_paints_live_values_from_the_lab(tmux_wizard: None, lab_sync_id: str) -> None:
    welcome = wait_for("Practice lab")
    assert "Backup" in welcome and "Status" in welcome
    subprocess.run(["tmux", "send-keys", "-t", SESSION, "s"], check=True)
    wait_for(rf"Sync GUID {lab_sync_id}")
    # Each panel is painted as its own source answers: wait for each live value.
    wait_for(r"syncservice .*(just now|s ago)")  # the databases panel
    wait_for(r"syncServiceIdCheck +healthy")
    wait_for(r"consumers +1")  # the stand-in is attached to the sync queue
    wait_for(r"PostgreSQL 15")
    subprocess.run(["tmux", "send-keys", "-t", SESSION, "q"], check=True)
