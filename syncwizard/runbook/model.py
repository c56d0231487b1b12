"""Runbooks as data: steps, their states, gates, and the events an engine reports.

A step says what it is for (`why`), what it will do (`plan`), and holds three
coroutines: `precondition` (raises when the step may not start), `action`
(does the work, returns JSON-able outputs kept in the journal) and
`verification` (raises when the outcome does not hold; run after the action,
and again for every finished step when a run is resumed). Nothing here knows
of a UI.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from syncwizard.errors import SyncWizardError

Outputs = dict[str, Any]


class StepState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    SKIPPED = "skipped"  # nothing to do (e.g. one dump covers both databases); counts as done
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def satisfied(self) -> bool:
        """A dependency in this state lets the steps after it run."""
        return self in (StepState.DONE, StepState.SKIPPED)


class RefusedError(SyncWizardError):
    """A step ran to its end but the outcome is refused (a timeout, a failed verification,
    a run that cannot be resumed): exit status 1, not 2 (a system unreachable or bad input)."""


class SkipStep(Exception):
    """Raised by an action that has nothing to do; the step ends SKIPPED with `outputs`."""

    def __init__(self, message: str, outputs: Outputs | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.outputs = outputs or {}


@dataclass(frozen=True)
class Gate:
    """A destructive action's confirmation: what exactly is destroyed, and the token the
    user types to confirm it (e.g. the database name)."""

    title: str
    consequences: str
    token: str
    # What exactly is destroyed, as (label, value) rows: names, counts, sizes.
    facts: tuple[tuple[str, str], ...] = ()
    step: str = ""  # the title of the step asking; the engine fills it in
    undo: str = ""  # how to undo it, where it can be undone; "" says it cannot be
    # False for a confirmation of facts that changes nothing (the room is there, the content
    # store is restored...): asked the same way, but not called destructive.
    destructive: bool = True
    # An offer rather than a question the step needs answered: declining it does not stop
    # the step, which runs without it and reads the titles declined in its "declined"
    # record. This says what declining leaves (e.g. "the queue stays"); "" means
    # declining leaves the step pending.
    optional: str = ""


class StepContext(Protocol):
    """What a step's coroutines get from the engine."""

    @property
    def run_id(self) -> str: ...

    @property
    def results(self) -> Mapping[str, Outputs]:
        """Outputs of the steps already done (and of skipped ones)."""
        ...

    @property
    def rechecking(self) -> bool:
        """True while a finished step's verification runs again before a resume."""
        ...

    def records_of(self, step_id: str) -> Mapping[str, Mapping[str, Any]]:
        """Facts recorded by a step (also by an interrupted earlier attempt of it)."""
        ...

    def step_times(self) -> Mapping[str, tuple[float, float | None]]:
        """(started, finished) of every step run so far."""
        ...

    def progress(self, message: str, detail: object = None) -> None:
        """A live progress report (not journaled); `detail` is a typed record for UIs."""
        ...

    def log(self, line: str) -> None:
        """A line of a child's output for the log pane (not journaled)."""
        ...

    def record(self, name: str, data: Mapping[str, Any]) -> None:
        """A fact worth keeping across a crash (journaled and fsynced at once)."""
        ...


Check = Callable[[StepContext], Awaitable[None]]
Action = Callable[[StepContext], Awaitable[Outputs | None]]
Verification = Callable[[StepContext, Outputs], Awaitable[None]]


@dataclass(frozen=True)
class Step:
    id: str
    title: str
    why: str  # a few lines from the procedure: why this step, why here
    action: Action
    precondition: Check | None = None
    verification: Verification | None = None
    # One gate, several (each confirmed in turn), or None when nothing is destroyed this time.
    gate: Callable[[StepContext], Awaitable[Gate | tuple[Gate, ...] | None]] | None = None
    depends_on: tuple[str, ...] = ()
    plan: Callable[[StepContext], str] | None = None  # what exactly the action will do


@dataclass(frozen=True)
class Runbook:
    name: str  # "backup", "restore"
    steps: tuple[Step, ...]
    # Releases what the steps hold open (HTTP clients, connections); called by Engine.aclose.
    aclose: Callable[[], Awaitable[None]] | None = None

    def step(self, step_id: str) -> Step:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    @property
    def step_ids(self) -> tuple[str, ...]:
        return tuple(step.id for step in self.steps)


class EventKind(StrEnum):
    RUN_STARTED = "run_started"
    RUN_RESUMED = "run_resumed"
    STATE = "state"  # a step's transition
    RECORD = "record"  # a fact kept across a crash (t0, a queue snapshot, a child's pid)
    GATE = "gate"  # a confirmation answered: its facts as shown, the answer, how long it took
    PROGRESS = "progress"  # live, not journaled
    LOG = "log"  # a child's output line, not journaled
    RUN_STOPPED = "run_stopped"  # failed or cancelled; the run can be resumed
    RUN_FINISHED = "run_finished"  # every step done
    RUN_ABANDONED = "run_abandoned"  # a fresh run was started instead (`backup --new`)


JOURNALED = frozenset(
    {
        EventKind.RUN_STARTED,
        EventKind.RUN_RESUMED,
        EventKind.STATE,
        EventKind.RECORD,
        EventKind.GATE,
        EventKind.RUN_STOPPED,
        EventKind.RUN_FINISHED,
        EventKind.RUN_ABANDONED,
    }
)


@dataclass(frozen=True)
class StepEvent:
    """One thing that happened in a run, as every observer sees it."""

    run_id: str
    kind: EventKind
    step_id: str | None = None
    state: StepState | None = None
    message: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)  # JSON-able; journaled
    detail: object = None  # a typed live record (results.Progress, DrainStatus); never journaled
    error: SyncWizardError | None = None
    at: float = field(default_factory=lambda: time.time())  # looked up at each event

    def as_json(self) -> dict[str, Any]:
        """The event as plain data (journal lines, `backup --json`)."""
        entry: dict[str, Any] = {"at": round(self.at, 3), "kind": str(self.kind)}
        if self.step_id is not None:
            entry["step"] = self.step_id
        if self.state is not None:
            entry["state"] = str(self.state)
        if self.message:
            entry["message"] = self.message
        if self.data:
            entry["data"] = dict(self.data)
        if self.error is not None:
            entry["error"] = {
                **self.error.as_dict(),
                "refused": isinstance(self.error, RefusedError),
            }
        return entry


Observer = Callable[[StepEvent], None]
Confirm = Callable[[Gate], Awaitable[bool]]
