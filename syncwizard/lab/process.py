"""Start lab processes in the background and stop exactly those, by pid.

Each started process is recorded in `pids.json` with its pid and its command
line; stopping checks `/proc/<pid>/cmdline` still matches before signalling, so
a pid reused by an unrelated process is never touched.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TypedDict

from syncwizard.clients.lifeline import gone, wait_gone
from syncwizard.errors import SyncWizardError
from syncwizard.lab.layout import HOST, LabLayout


class PidEntry(TypedDict):
    """One started process in pids.json."""

    pid: int
    argv: list[str]
    started: float


class UserArgs(TypedDict, total=False):
    """The Popen arguments that run a process as another OS user."""

    user: int
    group: int
    extra_groups: list[int]


def _read_pids(layout: LabLayout) -> dict[str, PidEntry]:
    try:
        pids: dict[str, PidEntry] = json.loads(layout.pids_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return pids


def _write_pids(layout: LabLayout, pids: dict[str, PidEntry]) -> None:
    layout.root.mkdir(parents=True, exist_ok=True)
    tmp = layout.pids_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(pids, indent=2), encoding="utf-8")
    os.replace(tmp, layout.pids_file)


@contextmanager
def _pids_locked(layout: LabLayout) -> Iterator[dict[str, PidEntry]]:
    """Read-modify-write of pids.json under a file lock: parts start side by side."""
    layout.root.mkdir(parents=True, exist_ok=True)
    with (layout.root / ".pids.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        pids = _read_pids(layout)
        yield pids
        _write_pids(layout, pids)


def _cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.decode(errors="replace").split("\0")[:-1]


def end(pid: int, first: signal.Signals, *, grace: float, then: signal.Signals) -> None:
    """Signal `pid` with `first` (a server's clean or fast shutdown); if it has not exited
    after `grace` s, with `then`, and wait a little for that."""
    with suppress(ProcessLookupError):
        os.kill(pid, first)
    if not wait_gone(pid, grace):
        with suppress(ProcessLookupError):
            os.kill(pid, then)
        wait_gone(pid, 5.0)


def spawn(
    layout: LabLayout,
    name: str,
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    user: str | None = None,
) -> int:
    """Start `argv` detached, logging to `logs/<name>.log`, and record its pid.

    `user` (root only) runs the process as that OS user, with its own groups.
    """
    log_path = layout.log_file(name)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
            **popen_user_args(user),
        )
    with _pids_locked(layout) as pids:
        pids[name] = {"pid": proc.pid, "argv": list(argv), "started": time.time()}
    return proc.pid


def popen_user_args(user: str | None) -> UserArgs:
    """Popen arguments that drop to `user`: its uid, primary group and groups (not root's)."""
    if user is None:
        return {}
    import pwd

    entry = pwd.getpwnam(user)
    return {
        "user": entry.pw_uid,
        "group": entry.pw_gid,
        "extra_groups": os.getgrouplist(user, entry.pw_gid),
    }


def running_pid(layout: LabLayout, name: str) -> int | None:
    """The pid of `name` if the process we started is still alive, else None."""
    entry = _read_pids(layout).get(name)
    if not entry:
        return None
    pid = int(entry["pid"])
    cmdline = _cmdline(pid)
    if cmdline == []:  # just forked: /proc/<pid>/cmdline is not filled in yet
        time.sleep(0.05)
        cmdline = _cmdline(pid)
    if cmdline is None or gone(pid) or cmdline != entry["argv"]:
        return None
    return pid


def stop(layout: LabLayout, name: str, *, timeout: float = 15.0) -> bool:
    """Stop `name` (SIGTERM, then SIGKILL after `timeout`). True if it was running."""
    pid = running_pid(layout, name)
    if pid is not None:
        end(pid, signal.SIGTERM, grace=timeout, then=signal.SIGKILL)
    with _pids_locked(layout) as pids:
        pids.pop(name, None)
    return pid is not None


def check_port_free(port: int, needed_by: str) -> None:
    """Refuse to start a part whose port is taken: whatever listens there would answer
    the part's readiness check in its place."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
            return
        except OSError:
            pass
    raise SyncWizardError(
        f"port {HOST}:{port}, which {needed_by} needs, is already taken by another process",
        hint=f"stop that process (another lab?); find it with `ss -ltnp 'sport = :{port}'`",
        system="lab",
    )
