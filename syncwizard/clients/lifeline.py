"""A tool the wizard starts ends with the wizard, even after a kill -9.

pg_dump, pg_restore, mariadb-dump, the mariadb client loading a dump and a broker tunnel
run in process groups of their own, so that a cancel stops them with their workers. But a
wizard killed with -9 (by an admin, or by the OOM killer) cannot stop anything: a dump
would go on holding its snapshot open on the database, a load would go on writing into the
scratch database, a tunnel would hold its port until someone finds it.

So each is started through util-linux's `setpriv --pdeathsig KILL`: the kernel sends the
tool SIGKILL as soon as the thread that started it ends, the wizard's event loop thread.
The setting survives setpriv's exec of the tool (not a setuid program); the tool's own
children do not inherit it (pg_dump -j's workers end when their leader's pipes close).
A wizard killed in the instant between the fork and setpriv's prctl arms nothing; that
tool is left to `kill_orphan` too.

Where setpriv is missing (util-linux older than 2.33, or not Linux) the tool runs as it
is, and a resumed step kills an orphan by the pid its step recorded (`kill_orphan`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Collection, Sequence
from functools import cache
from pathlib import Path

ORPHAN_WAIT = 10.0  # s a killed orphan is given to exit


@cache
def setpriv() -> str | None:
    """util-linux's setpriv, if it is there and knows --pdeathsig (RHEL 8's 2.32 does not);
    asked once per process (~2 ms)."""
    found = shutil.which("setpriv")
    if found is None:
        return None
    try:
        done = subprocess.run(
            [found, "--pdeathsig", "KILL", "--", "true"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return found if done.returncode == 0 else None


def tied(argv: Sequence[str]) -> list[str]:
    """The command line that runs `argv` so that it dies with this process.

    A tool that is not there raises FileNotFoundError here, as starting it would have,
    not an exit status 127 of setpriv's later."""
    wrapper = setpriv()
    if wrapper is None:
        return list(argv)
    tool = argv[0]
    if os.sep not in tool:
        found = shutil.which(tool)
        if found is None:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), tool)
        tool = found
    elif not os.access(tool, os.X_OK):
        code = errno.EACCES if os.path.exists(tool) else errno.ENOENT
        raise OSError(code, os.strerror(code), tool)
    return [wrapper, "--pdeathsig", "KILL", "--", tool, *argv[1:]]


# --- the fallback: an orphan found by its recorded pid ---------------------------------------


def gone(pid: int) -> bool:
    """True once `pid` has exited: no /proc entry, or a zombie with no thread left (a JVM's
    main thread can be a zombie while other threads still hold its sockets)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    zombie = fields.get("State", "").strip().startswith("Z")
    return zombie and fields.get("Threads", "1").strip() in ("0", "1")


def wait_gone(pid: int, timeout: float) -> bool:
    """Wait up to `timeout` s for `pid` to exit; True if it did."""
    deadline = time.monotonic() + timeout
    while not gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def kill_orphan(pid: int, tools: Collection[str], holds: Callable[[list[bytes]], bool]) -> bool:
    """Kill the process group of `pid` and wait for it to exit, if `pid` still is one of
    `tools` (by its program's name) whose arguments `holds` recognises: the tool a step
    recorded, left running by a killed wizard (a pid reused by anything else is left
    alone). True if one was killed."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    args = raw.split(b"\0")[:-1]
    if not args or os.path.basename(args[0]).decode(errors="replace") not in tools:
        return False
    if not holds(args):
        return False
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    wait_gone(pid, ORPHAN_WAIT)
    return True
