"""The journal of a run: append-only JSON lines, flushed and fsynced at every transition.

`<state dir>/runs/<run id>/journal.jsonl` holds the run's header (runbook,
profile, options, backup folder), each step's transitions with its outputs,
and facts recorded mid-step (t0, queue snapshots, a child's pid). It never
holds a secret: every string of every entry goes through the one masking policy
(syncwizard/masking.py), with the values given as `secrets`, as a last guard.
A kill -9 can cut the last line short; readers skip a line that does not parse.
While a process drives a run it holds an flock on the run's `lock` file, so
`list_runs` tells a running run from one that was killed. A run started with a
profile's lock (profile_lock.py) holds it until its journal closes.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from syncwizard import paths
from syncwizard.errors import SyncWizardError
from syncwizard.masking import mask_data, mask_strings, run_secrets
from syncwizard.paths import fsync_dir
from syncwizard.runbook.model import EventKind, Outputs, StepEvent, StepState
from syncwizard.runbook.profile_lock import ProfileLock

JOURNAL_NAME = "journal.jsonl"
LOCK_NAME = "lock"


def runs_dir() -> Path:
    return paths.state_dir() / "runs"


def secrets_to_mask(broker_password: str | None) -> list[str]:
    """What a run's journal masks by value: the broker password and a PGPASSWORD, when
    given (the masking policy decides where)."""
    return run_secrets(broker_password)


def new_run_id(runbook: str, now: float | None = None) -> str:
    """`backup-20261126T043200Z`: sortable, readable, one per second per runbook."""
    stamp = datetime.fromtimestamp(now if now is not None else time.time(), UTC)
    return f"{runbook}-{stamp:%Y%m%dT%H%M%SZ}"


def _journal_error(path: Path, exc: OSError) -> SyncWizardError:
    return SyncWizardError(
        f"cannot write the run journal {path}: {exc.strerror or exc}",
        hint="the state folder must be writable and have free space "
        "(SYNCWIZARD_STATE_DIR moves it); nothing was done after this point",
        system="config",
    )


class Journal:
    """An open journal: appends one fsynced JSON line per journaled event."""

    def __init__(
        self,
        run_dir: Path,
        handle: IO[str],
        lock: IO[str],
        secrets: Iterable[str],
        profile_lock: ProfileLock | None = None,
    ):
        self.run_dir = run_dir
        self.path = run_dir / JOURNAL_NAME
        self._handle = handle
        self._lock = lock
        self._profile_lock = profile_lock
        self._secrets = tuple(s for s in secrets if s)

    @classmethod
    def create(
        cls,
        run_dir: Path,
        *,
        secrets: Iterable[str] = (),
        profile_lock: ProfileLock | None = None,
    ) -> Journal:
        """A new run folder (0700) with an empty journal (0600), locked by us.

        A `profile_lock` given is the journal's from here on: it names this run and is
        released when the journal closes (or at once, if the journal cannot be made)."""
        try:
            paths.private_dir(run_dir.parent)
            try:
                run_dir.mkdir(mode=0o700)
            except FileExistsError:
                raise SyncWizardError(
                    f"a run folder {run_dir} already exists",
                    hint="wait a second and start again (run ids are made from the time)",
                    system="config",
                ) from None
            fsync_dir(run_dir.parent)
        except BaseException:
            if profile_lock is not None:
                profile_lock.release()
            raise
        return cls.open(run_dir, secrets=secrets, profile_lock=profile_lock)

    @classmethod
    def open(
        cls,
        run_dir: Path,
        *,
        secrets: Iterable[str] = (),
        profile_lock: ProfileLock | None = None,
    ) -> Journal:
        """Open an existing run's journal for appending; refuse if another process holds it.
        A `profile_lock` given is the journal's, as with `create`."""
        path = run_dir / JOURNAL_NAME
        lock = None
        try:
            lock = _take_lock(run_dir)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            handle = os.fdopen(fd, "a", encoding="utf-8")
            if path.stat().st_size and not _ends_with_newline(path):
                handle.write("\n")  # a line cut short by a kill: start ours on its own line
        except BaseException as exc:
            if lock is not None:
                lock.close()
            if profile_lock is not None:
                profile_lock.release()
            if isinstance(exc, OSError):
                raise _journal_error(path, exc) from exc
            raise
        if profile_lock is not None:
            profile_lock.claim(run_dir.name)
        return cls(run_dir, handle, lock, secrets, profile_lock)

    def append(self, event: StepEvent) -> None:
        self.append_entry(event.as_json())

    def append_entry(self, entry: Mapping[str, Any]) -> None:
        # To JSON and back first, so what `default=str` made of other objects is masked too.
        found: set[str] = set()
        plain = mask_data(json.loads(json.dumps(entry, default=str)), found)
        masked = mask_strings(plain, (*self._secrets, *found))
        line = json.dumps(masked, separators=(",", ":"))
        try:
            self._handle.write(line + "\n")
            self._handle.flush()
            os.fsync(self._handle.fileno())
        except OSError as exc:
            raise _journal_error(self.path, exc) from exc

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._handle.close()
        with contextlib.suppress(OSError):
            self._lock.close()  # releases the flock
        if self._profile_lock is not None:
            self._profile_lock.release()
            self._profile_lock = None


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"


def _take_lock(run_dir: Path) -> IO[str]:
    lock_path = run_dir / LOCK_NAME
    fd = os.open(lock_path, os.O_WRONLY | os.O_CREAT, 0o600)
    handle = os.fdopen(fd, "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise SyncWizardError(
            f"run {run_dir.name} is being driven by another syncwizard process right now",
            hint="wait for it to finish (`syncwizard runs` shows it as running), or stop that "
            "process first",
            system="config",
        ) from None
    return handle


def is_locked(run_dir: Path) -> bool:
    """True while some process drives this run."""
    try:
        handle = (run_dir / LOCK_NAME).open("a")
    except OSError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def read_entries(path: Path) -> list[dict[str, Any]]:
    """Every whole JSON line of a journal; a line cut short (kill -9) is skipped."""
    entries = []
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        for line in handle:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                entries.append(entry)
    return entries


@dataclass
class RunRecord:
    """A run as its journal tells it."""

    run_id: str
    run_dir: Path
    header: dict[str, Any]  # the data of run_started
    states: dict[str, StepState] = field(default_factory=dict)
    results: dict[str, Outputs] = field(default_factory=dict)
    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # step -> name
    started_at: float = 0.0
    step_started: dict[str, float] = field(default_factory=dict)
    step_finished: dict[str, float] = field(default_factory=dict)
    last_at: float = 0.0
    outcome: str = ""  # "finished", "failed", "cancelled", "abandoned"; "" while unfinished
    last_error: dict[str, Any] | None = None  # of a step that has not succeeded since
    last_error_step: str | None = None
    # Every gate answered, in order: {"step", "title", "facts", "confirmed", "seconds", "at"...}
    gates: list[dict[str, Any]] = field(default_factory=list)

    @property
    def runbook(self) -> str:
        return str(self.header.get("runbook", ""))

    @property
    def finished(self) -> bool:
        return self.outcome in ("finished", "abandoned")

    @property
    def stopped_at(self) -> str | None:
        """The first step that is not done: where a resume starts."""
        step_ids: list[str] = self.header.get("steps", [])
        for step_id in step_ids:
            if not self.states.get(step_id, StepState.PENDING).satisfied:
                return step_id
        return None

    def status(self) -> str:
        """finished, abandoned, running, failed, cancelled or interrupted (killed)."""
        if self.outcome in ("finished", "abandoned"):
            return self.outcome
        if is_locked(self.run_dir):
            return "running"
        return self.outcome or "interrupted"


def load_run(run_dir: Path) -> RunRecord:
    path = run_dir / JOURNAL_NAME
    try:
        entries = read_entries(path)
    except OSError as exc:
        raise SyncWizardError(
            f"cannot read the run journal {path}: {exc.strerror or exc}",
            hint="`syncwizard runs` lists the runs that can be read",
            system="config",
        ) from exc
    if not entries or entries[0].get("kind") != EventKind.RUN_STARTED:
        raise SyncWizardError(
            f"{path} is not a syncwizard run journal (it does not begin with run_started)",
            hint="`syncwizard runs` lists the runs that can be read",
            system="config",
        )
    record = RunRecord(run_id=run_dir.name, run_dir=run_dir, header=entries[0].get("data", {}))
    for entry in entries:
        _apply(record, entry)
    return record


def _apply(record: RunRecord, entry: dict[str, Any]) -> None:
    kind, at = entry.get("kind"), float(entry.get("at", 0))
    record.last_at = max(record.last_at, at)
    step = entry.get("step")
    if kind == EventKind.RUN_STARTED:
        record.started_at = at
    elif kind == EventKind.RUN_RESUMED:
        record.outcome = ""
    elif kind == EventKind.STATE and step:
        state = StepState(entry["state"])
        record.states[step] = state
        if state == StepState.RUNNING:
            record.step_started[step] = at
            record.results.pop(step, None)
            record.records.pop(step, None)
        elif state.satisfied:
            record.step_finished[step] = at
            record.results[step] = dict(entry.get("data", {}))
            if record.last_error_step == step:  # a retry succeeded: the error is history
                record.last_error, record.last_error_step = None, None
        elif state in (StepState.FAILED, StepState.CANCELLED):
            record.last_error, record.last_error_step = entry.get("error"), step
    elif kind == EventKind.RECORD and step:
        record.records.setdefault(step, {})[str(entry.get("message", ""))] = dict(
            entry.get("data", {})
        )
    elif kind == EventKind.GATE and step:
        title = str(entry.get("message", ""))
        record.gates.append({"step": step, "title": title, "at": at, **entry.get("data", {})})
    elif kind == EventKind.RUN_STOPPED:
        record.outcome = str(entry.get("data", {}).get("outcome", "failed"))
    elif kind == EventKind.RUN_FINISHED:
        record.outcome = "finished"
    elif kind == EventKind.RUN_ABANDONED:
        record.outcome = "abandoned"


def list_runs(root: Path | None = None) -> list[RunRecord]:
    """Every readable run under `root` (default: the state dir's runs/), newest first."""
    root = root or runs_dir()
    if not root.is_dir():
        return []
    runs = []
    for run_dir in root.iterdir():
        if run_dir.is_dir() and (run_dir / JOURNAL_NAME).exists():
            with contextlib.suppress(SyncWizardError):
                runs.append(load_run(run_dir))
    return sorted(runs, key=lambda r: (r.started_at, r.run_id), reverse=True)


def find_unfinished(
    runbook: str, root: Path | None = None, *, profile: str | None = None
) -> RunRecord | None:
    """The newest run of `runbook` (of `profile`, if given) that neither finished nor was
    abandoned."""
    return next(
        (
            r
            for r in list_runs(root)
            if r.runbook == runbook
            and not r.finished
            and (profile is None or r.header.get("profile") == profile)
        ),
        None,
    )


def abandon(record: RunRecord, reason: str) -> None:
    """Mark an unfinished run as abandoned (a fresh run replaces it); its files stay."""
    journal = Journal.open(record.run_dir)
    try:
        journal.append(
            StepEvent(run_id=record.run_id, kind=EventKind.RUN_ABANDONED, message=reason)
        )
    finally:
        journal.close()
