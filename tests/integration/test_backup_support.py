"""Helpers of the backup tests (this module holds no tests): `syncwizard backup` as a child
process read line by line, killed on cue, and a fast-waiting environment for it."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from standin_support import plain_env

from syncwizard.config import Profile, load_settings

# The drain wait's timings, shortened so a test waits seconds, not minutes.
FAST = {
    "SYNCWIZARD_BACKUP__DRAIN_INTERVAL": "0.5",
    "SYNCWIZARD_BACKUP__DRAIN_CONFIRM": "1",
    "SYNCWIZARD_BACKUP__CLOCK_SKEW": "0.5",
    "SYNCWIZARD_BACKUP__PUBLISH_LAG": "0.5",
}

Event = dict[str, Any]


def backup_env(config: Path, backup_dir: Path, **extra: str) -> dict[str, str]:
    return {
        **plain_env(),
        "SYNCWIZARD_CONFIG": str(config),
        "SYNCWIZARD_PROFILE": "lab",
        "SYNCWIZARD_BACKUP__DIR": str(backup_dir),
        **FAST,
        **extra,
    }


def lab_profile(config: Path, backup_dir: Path, **extra: str) -> Profile:
    environ = {"SYNCWIZARD_BACKUP__DIR": str(backup_dir), **FAST, **extra}
    return load_settings(config, "lab", environ=environ).profile


_children: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def no_backup_left_running() -> Iterator[None]:
    """A test that fails half-way must not leave its `syncwizard backup` child running."""
    yield
    while _children:
        child = _children.pop()
        if child.poll() is None:
            child.kill()
            child.wait(10)


class ChildRun:
    """A child process printing one JSON event per line, its lines collected."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.events: list[Event] = []
        self.proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        _children.append(self.proc)
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _next(self, deadline: float) -> Event | None:
        try:
            line = self._lines.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"no output for a while; so far: {self.events[-5:]}") from None
        if line is None:
            return None
        event: dict[str, Any] = json.loads(line)
        self.events.append(event)
        return event

    def until(self, wanted: Callable[[Event], bool], timeout: float = 60) -> Event:
        deadline = time.monotonic() + timeout
        while (event := self._next(deadline)) is not None:
            if wanted(event):
                return event
        raise AssertionError(f"the run ended before the cue; last: {self.events[-5:]}")

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def finish(self, timeout: float = 90) -> tuple[int, str]:
        deadline = time.monotonic() + timeout
        while self._next(deadline) is not None:
            pass
        assert self.proc.stderr is not None
        return self.proc.wait(10), self.proc.stderr.read()


class BackupProcess(ChildRun):
    """`syncwizard backup --yes --json` running as a child."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        super().__init__(
            [sys.executable, "-m", "syncwizard", "backup", "--yes", "--json", *args], env
        )


def run_backup(
    env: dict[str, str], *args: str, timeout: float = 90
) -> tuple[int, list[Event], str]:
    child = BackupProcess(env, *args)
    code, stderr = child.finish(timeout)
    return code, child.events, stderr


def state_events(events: list[Event], step: str, state: str) -> list[Event]:
    return [e for e in events if e["kind"] == "state" and e["step"] == step and e["state"] == state]


def is_state(step: str, state: str) -> Callable[[Event], bool]:
    return lambda e: e["kind"] == "state" and e.get("step") == step and e.get("state") == state


def partial_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.name.endswith(".partial"))


def the_set(backup_dir: Path) -> Path:
    (set_dir,) = [p for p in backup_dir.iterdir() if p.is_dir()]
    return set_dir


def limit_dump_file_size(monkeypatch: pytest.MonkeyPatch, tools: tuple[str, ...]) -> None:
    """The full-disk code path without a mount: the dump tools named `tools` (run by the
    wizard, behind clients.lifeline's setpriv or not) may write files of 20 kB at most;
    their write() then fails with EFBIG ("File too large")."""
    real_exec = asyncio.create_subprocess_exec

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    async def exec_with_limit(program: str, *args: str, **kwargs: Any) -> Any:
        argv = [program, *args]
        if program.endswith("setpriv"):  # clients.lifeline: `setpriv ... -- <tool> ...`
            argv = argv[argv.index("--") + 1 :]
        if argv[0].endswith(tools) and "--version" not in argv:
            kwargs["preexec_fn"] = limited  # setpriv keeps the limit for the tool it runs
        return await real_exec(program, *args, **kwargs)

    monkeypatch.setattr(asyncio, "create_subprocess_exec", exec_with_limit)
