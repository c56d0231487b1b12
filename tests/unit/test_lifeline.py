"""The tools the wizard starts die with it, even when it is killed with -9 (a dump would
otherwise hold its snapshot open, a tunnel its port)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from syncwizard.clients import lifeline
from syncwizard.clients.lifeline import tied

DEADLINE = 20.0

# A stand-in for the wizard: starts `sleep` the way the wizard starts its tools (asyncio,
# a process group of its own), says its pid, then waits to be killed.
WIZARD = textwrap.dedent(
    """
    import asyncio, sys
    from syncwizard.clients.lifeline import tied

    async def main() -> None:
        tool = await asyncio.create_subprocess_exec(
            *tied(["sleep", "300"]), start_new_session=True
        )
        print(tool.pid, flush=True)
        await asyncio.sleep(300)

    asyncio.run(main())
    """
)


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def program(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/exe").resolve().name
    except OSError:
        return ""


def test_a_tool_dies_with_the_wizard_killed_by_signal_9() -> None:
    wizard = subprocess.Popen([sys.executable, "-c", WIZARD], stdout=subprocess.PIPE, text=True)
    assert wizard.stdout is not None
    tool = int(wizard.stdout.readline())
    try:
        # setpriv sets the death signal, then becomes the tool: only once it has may the
        # wizard die (killed before that, nothing is armed: see lifeline's docstring).
        deadline = time.monotonic() + DEADLINE
        while program(tool) != "sleep":
            assert time.monotonic() < deadline, f"{tool} never became sleep: {program(tool)}"
            time.sleep(0.01)
        wizard.send_signal(signal.SIGKILL)
        wizard.wait(timeout=DEADLINE)
        deadline = time.monotonic() + DEADLINE
        while running(tool):
            assert time.monotonic() < deadline, f"the tool {tool} outlived the killed wizard"
            time.sleep(0.02)
    finally:
        if running(tool):
            os.killpg(tool, signal.SIGKILL)


def test_a_tool_that_is_not_installed_fails_to_start_as_it_would_bare() -> None:
    with pytest.raises(FileNotFoundError):
        tied(["no-such-tool-syncwizard"])
    with pytest.raises(FileNotFoundError):
        tied(["/no/such/dir/pg_dump", "--version"])


def test_the_tool_runs_by_its_full_path_with_its_arguments_as_given() -> None:
    sleep = shutil.which("sleep")
    assert tied(["sleep", "--", "1 2"])[-3:] == [sleep, "--", "1 2"]
    assert subprocess.run(tied(["sh", "-c", "exit 7"]), check=False).returncode == 7


def test_without_setpriv_the_tool_runs_as_it_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lifeline, "setpriv", lambda: None)
    assert tied(["pg_dump", "--version"]) == ["pg_dump", "--version"]


def test_a_recorded_orphan_is_killed_only_while_it_still_is_that_tool() -> None:
    orphan = subprocess.Popen(["sleep", "300"], start_new_session=True)
    try:
        assert lifeline.kill_orphan(orphan.pid, {"pg_dump"}, lambda args: True) is False
        assert lifeline.kill_orphan(orphan.pid, {"sleep"}, lambda args: b"301" in args) is False
        assert running(orphan.pid)  # another tool, or the same tool on other work: left alone
        assert lifeline.kill_orphan(orphan.pid, {"sleep"}, lambda args: b"300" in args) is True
        assert orphan.wait(timeout=DEADLINE) == -signal.SIGKILL
    finally:
        if orphan.poll() is None:
            orphan.kill()
