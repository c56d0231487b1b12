"""One backup or restore run at a time per profile: an OS lock held for the run's life.

    lock = ProfileLock.take("prod", "backup")  # SyncWizardError naming the holder if busy
    lock.claim("backup-20261126T043200Z")      # says which run holds it, for the refused
    lock.release()                             # or let the run's Journal release it

The lock is an flock on `<state dir>/locks/<profile>.lock`, so the kernel releases it
when the holding process ends in any way, kill -9 included: a lock is never stale.
The file also says who holds it (run id, pid, since when) for the message of a
refused run; it is never replaced or removed, as a new inode would be a second lock.
`share()` lends a held lock to a part of the same run (e.g. the Journal of a run that
headless started under the lock): each holder releases, the last release unlocks.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from syncwizard import paths
from syncwizard.errors import SyncWizardError

LOCKS_DIR = "locks"
HOLDER_WAIT_S = 5.0  # how long a refused run waits for the holder to name its run


def lock_path(profile: str) -> Path:
    return paths.state_dir() / LOCKS_DIR / f"{quote(profile, safe='')}.lock"


@dataclass(frozen=True)
class Holder:
    """Who holds a profile's lock, as its lock file says."""

    runbook: str = ""
    run_id: str = ""
    pid: int = 0
    since: float = 0.0

    def describe(self) -> str:
        """`backup run backup-20261126T043200Z (pid 4711, started 2026-11-26 04:32:00)`"""
        kind = f"{self.runbook} run" if self.runbook else "run"
        run = f"{kind} {self.run_id}" if self.run_id else f"a {kind} that is starting"
        facts = [f"pid {self.pid}"] if self.pid else []
        if self.since:
            facts.append(
                f"started {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(self.since))}"
            )
        return run + (f" ({', '.join(facts)})" if facts else "")


def _read_holder(path: Path) -> Holder | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # not written yet, or being rewritten this very moment
    if not isinstance(data, dict):
        return None
    try:
        return Holder(
            runbook=str(data.get("runbook", "")),
            run_id=str(data.get("run_id") or ""),
            pid=int(data.get("pid", 0)),
            since=float(data.get("since", 0.0)),
        )
    except (TypeError, ValueError):
        return None


def current_holder(profile: str, *, wait: float = HOLDER_WAIT_S) -> Holder | None:
    """Who holds the lock of `profile` as far as its file tells, waiting up to `wait`
    seconds for a holder that has just taken it to name its run."""
    path = lock_path(profile)
    deadline = time.monotonic() + wait
    while True:
        holder = _read_holder(path)
        if (holder is not None and holder.run_id) or time.monotonic() >= deadline:
            return holder
        time.sleep(0.05)


class ProfileLock:
    """The held lock of one profile (see the module's docstring)."""

    def __init__(self, profile: str, runbook: str, fd: int) -> None:
        self.profile = profile
        self.runbook = runbook
        self.run_id = ""
        self.since = time.time()
        self._fd: int | None = fd
        self._holders = 1

    @classmethod
    def take(cls, profile: str, runbook: str) -> ProfileLock:
        """Hold the lock of `profile` for a `runbook` run, or raise SyncWizardError (exit 2)
        naming the run that holds it and what to do."""
        path = lock_path(profile)
        try:
            paths.private_dir(path.parent)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise SyncWizardError(
                f"cannot open the lock file {path}: {exc.strerror or exc}",
                hint="the state folder must be writable (SYNCWIZARD_STATE_DIR moves it); "
                "nothing was started",
                system="config",
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise busy_error(profile, runbook, current_holder(profile)) from None
        except BaseException:
            os.close(fd)
            raise
        lock = cls(profile, runbook, fd)
        lock._write()
        return lock

    def claim(self, run_id: str) -> None:
        """Name the run that holds the lock (a refused run names it)."""
        self.run_id = run_id
        self._write()

    def share(self) -> ProfileLock:
        """The same lock for one more holder; each holder calls release()."""
        if self._fd is None:
            raise RuntimeError(f"the lock of profile {self.profile!r} is not held")
        self._holders += 1
        return self

    def release(self) -> None:
        """Drop one holder; the last one unlocks (closing the file releases the flock)."""
        if self._fd is None:
            return
        self._holders -= 1
        if self._holders > 0:
            return
        fd, self._fd = self._fd, None
        os.close(fd)

    def _write(self) -> None:
        if self._fd is None:
            return
        data = {
            "profile": self.profile,
            "runbook": self.runbook,
            "run_id": self.run_id or None,
            "pid": os.getpid(),
            "since": self.since,
        }
        text = (json.dumps(data) + "\n").encode()
        # In place (never a new file): a reader sees it empty for a moment, and retries.
        # Only a refused run's message needs it, so a full disk does not stop this run.
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, text, 0)


def busy_error(profile: str, runbook: str, holder: Holder | None) -> SyncWizardError:
    who = holder.describe() if holder is not None else "another syncwizard process"
    pid = f" (pid {holder.pid})" if holder is not None and holder.pid else ""
    return SyncWizardError(
        f"profile {profile!r} is busy: {who} holds it, and only one backup or restore runs "
        f"at a time per profile, so this {runbook} did not start",
        hint=f"wait until that run ends (`syncwizard runs` shows it), then run again; if that "
        f"process{pid} hangs, stop it first",
        system="config",
    )
