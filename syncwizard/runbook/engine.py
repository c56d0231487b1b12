"""The runbook engine: a state machine that runs steps in order and tells observers.

API for a UI (the TUI drives it the same way the headless CLI does):

    engine = Engine(runbook, journal, run_id, observers=[on_event], confirm=ask_gate)
    engine = Engine.resume(runbook, record, journal, ...)   # a run found by journal.load_run
    outcome = await engine.run()          # every step not done yet, in order; stops at a failure
    state = await engine.run_step("x")   # one step; refused while its dependencies are not
                                         # done, unless override=True and confirm() agrees
    engine.states / engine.results / engine.errors / engine.step_times   # per step id
    engine.describe("x")                 # what exactly step x will do (its plan)
    await engine.aclose()                # closes the runbook's clients and the journal

- Observers are plain callables `(StepEvent) -> None`, called on the event loop for
  every event: step transitions (kind STATE: pending -> running -> done / skipped /
  failed / cancelled), facts recorded mid-step (RECORD), live PROGRESS (with a typed
  `detail`, e.g. results.Progress or drain.DrainStatus) and LOG lines of a child, and
  run-level events. A Textual app can post a message from the callable. An observer
  that raises is logged and otherwise ignored.
- Every journaled event is fsynced to the journal BEFORE observers see it.
- Gates: a step's gate (or gates, confirmed in turn; and any dependency override) is
  passed to the injected `confirm(gate) -> bool` coroutine, with `gate.step` naming the
  step; False leaves the step PENDING. No confirm callable means every gate is refused.
  An optional gate (`gate.optional` says what declining leaves) is an offer: declining it
  does not stop the step, and the step reads the titles declined in its journaled
  "declined" record (written whenever it asked an optional gate). Every answer is
  journaled as a GATE event: the facts shown, confirmed or not, and the seconds it took.
  A gate that cannot be stated (its coroutine raises SyncWizardError, e.g. a choice the UI
  has not made yet) also leaves the step PENDING, with that error in `engine.errors`.
- Cancel by cancelling the task that awaits run()/run_step(): the running step's
  child is killed and its partial files removed (by the step), the step journaled
  CANCELLED, a RUN_STOPPED written, and CancelledError re-raised.
- A failure ends the step FAILED with the SyncWizardError in the event; run() returns
  a RunOutcome rather than raising. `RefusedError` marks "finished but refused".

The backup runbook (runbook/backup/runbook.py) on top of this:

    record = journal.find_unfinished("backup")      # None, or a run to offer resuming:
                                                    # record.stopped_at, record.status()
    engine = await backup.resume_backup(record, profile, broker_password=..., observers=[...])
    engine = backup.start_backup(profile, backup.BackupOptions.from_settings(profile.backup),
                                 broker_password=..., observers=[...])
    journal.abandon(record, "why")                  # when the user starts afresh instead

PROGRESS details: results.Progress (the two dump steps), drain.DrainStatus (the wait;
`headline` is "n of P0 events consumed; ..."), a float of seconds left (the countdown).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from syncwizard.errors import SyncWizardError
from syncwizard.runbook.journal import Journal, RunRecord
from syncwizard.runbook.model import (
    JOURNALED,
    Confirm,
    EventKind,
    Gate,
    Observer,
    Outputs,
    RefusedError,
    Runbook,
    SkipStep,
    Step,
    StepEvent,
    StepState,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOutcome:
    status: str  # "finished", "failed", "cancelled"
    step_id: str | None = None  # the step that failed or was cancelled
    error: SyncWizardError | None = None

    @property
    def refused(self) -> bool:
        return isinstance(self.error, RefusedError)


class _Context:
    """The StepContext handed to one step's coroutines."""

    def __init__(self, engine: Engine, step_id: str, *, rechecking: bool = False) -> None:
        self._engine = engine
        self._step_id = step_id
        self.rechecking = rechecking

    @property
    def run_id(self) -> str:
        return self._engine.run_id

    @property
    def results(self) -> Mapping[str, Outputs]:
        return self._engine.results

    def records_of(self, step_id: str) -> Mapping[str, Mapping[str, Any]]:
        return self._engine.records.get(step_id, {})

    def step_times(self) -> Mapping[str, tuple[float, float | None]]:
        return dict(self._engine.step_times)

    def progress(self, message: str, detail: object = None) -> None:
        self._engine._emit(
            EventKind.PROGRESS, step_id=self._step_id, message=message, detail=detail
        )

    def log(self, line: str) -> None:
        self._engine._emit(EventKind.LOG, step_id=self._step_id, message=line)

    def record(self, name: str, data: Mapping[str, Any]) -> None:
        self._engine.records.setdefault(self._step_id, {})[name] = dict(data)
        self._engine._emit(EventKind.RECORD, step_id=self._step_id, message=name, data=data)


class Engine:
    def __init__(
        self,
        runbook: Runbook,
        journal: Journal,
        run_id: str,
        *,
        observers: Iterable[Observer] = (),
        confirm: Confirm | None = None,
    ) -> None:
        self.runbook = runbook
        self.journal = journal
        self.run_id = run_id
        self.observers: list[Observer] = list(observers)
        self.confirm = confirm
        self.states: dict[str, StepState] = {s.id: StepState.PENDING for s in runbook.steps}
        self.results: dict[str, Outputs] = {}
        self.records: dict[str, dict[str, dict[str, Any]]] = {}
        self.errors: dict[str, SyncWizardError] = {}
        self.step_times: dict[str, tuple[float, float | None]] = {}

    # --- starting and resuming ------------------------------------------------------------

    def start(self, header: Mapping[str, Any]) -> None:
        """Journal the start of a new run; `header` describes it (no secrets)."""
        data = {"runbook": self.runbook.name, "steps": list(self.runbook.step_ids), **header}
        self._emit(EventKind.RUN_STARTED, data=data, message=f"{self.runbook.name} run started")

    @classmethod
    def resume(
        cls,
        runbook: Runbook,
        record: RunRecord,
        journal: Journal,
        *,
        observers: Iterable[Observer] = (),
        confirm: Confirm | None = None,
    ) -> Engine:
        """An engine at the state the journal left: done steps stay done with their outputs;
        a step that was running, failed or cancelled is pending again."""
        if list(record.header.get("steps", [])) != list(runbook.step_ids):
            raise RefusedError(
                f"run {record.run_id} was made of other steps "
                f"({', '.join(record.header.get('steps', []))}) than this version's "
                f"{runbook.name} runbook ({', '.join(runbook.step_ids)})",
                hint="start a fresh run (`syncwizard backup --new`)",
                system="config",
            )
        engine = cls(runbook, journal, record.run_id, observers=observers, confirm=confirm)
        for step_id, state in record.states.items():
            if state.satisfied:
                engine.states[step_id] = state
                engine.results[step_id] = record.results.get(step_id, {})
                started = record.step_started.get(step_id, record.started_at)
                engine.step_times[step_id] = (started, record.step_finished.get(step_id))
        engine.records = {k: dict(v) for k, v in record.records.items()}
        return engine

    def announce_resume(self, message: str, data: Mapping[str, Any] | None = None) -> None:
        self._emit(EventKind.RUN_RESUMED, message=message, data=data or {})

    async def recheck(self) -> None:
        """Run the verification of every finished step again (before resuming a run).

        Raises RefusedError naming the step whose outcome no longer holds.
        """
        for step in self.runbook.steps:
            if self.states[step.id] != StepState.DONE or step.verification is None:
                continue
            try:
                await step.verification(
                    _Context(self, step.id, rechecking=True), self.results.get(step.id, {})
                )
            except SyncWizardError as exc:
                raise RefusedError(
                    f"run {self.run_id} cannot be resumed: the outcome of its finished step "
                    f"{step.title!r} no longer holds: {exc.message}",
                    hint="something changed the backup folder after that step; start a fresh "
                    "run (`syncwizard backup --new`)",
                    system=exc.system,
                ) from exc

    # --- running --------------------------------------------------------------------------

    def describe(self, step_id: str) -> str:
        """What exactly the step's action will do, from what is known now (for the screen)."""
        step = self.runbook.step(step_id)
        return step.plan(_Context(self, step_id)) if step.plan is not None else ""

    def next_step(self) -> Step | None:
        return next((s for s in self.runbook.steps if not self.states[s.id].satisfied), None)

    def missing_dependencies(self, step: Step) -> list[str]:
        return [dep for dep in step.depends_on if not self.states[dep].satisfied]

    async def run(self) -> RunOutcome:
        """Run every step that is not done, in order, until all are done or one fails."""
        while (step := self.next_step()) is not None:
            state = await self.run_step(step.id)
            if state != StepState.DONE and state != StepState.SKIPPED:
                if state == StepState.PENDING:  # its gate was refused
                    return RunOutcome("failed", step.id, self.errors.get(step.id))
                return RunOutcome(str(state), step.id, self.errors.get(step.id))
        self._emit(EventKind.RUN_FINISHED, message=f"{self.runbook.name} run finished")
        return RunOutcome("finished")

    async def run_step(self, step_id: str, *, override: bool = False) -> StepState:
        step = self.runbook.step(step_id)
        missing = self.missing_dependencies(step)
        if missing and not override:
            raise SyncWizardError(
                f"step {step.title!r} cannot run before {', '.join(missing)} "
                "(its dependencies) are done",
                hint="run the steps in order, or override with an explicit confirmation",
                system="config",
            )
        if missing:
            gate = Gate(
                title=f"Run {step.title!r} out of order?",
                consequences=f"{step.title!r} depends on {', '.join(missing)}, which are not "
                "done: its result may not be consistent with the procedure.",
                token=step.id,
            )
            if not await self._confirmed(step, gate):
                return self.states[step_id]
        context = _Context(self, step.id)
        declined: list[Gate] | None = None  # a list once an optional gate was asked
        if step.gate is not None:
            try:
                asked = await step.gate(context)
            except SyncWizardError as exc:  # the gate cannot be stated: nothing is done
                self.errors[step_id] = exc
                return self.states[step_id]
            gates = (asked,) if isinstance(asked, Gate) else asked or ()
            if any(gate.optional for gate in gates):
                declined = []
            for gate in gates:
                if await self._confirmed(step, gate):
                    continue
                if not gate.optional or declined is None:
                    return self.states[step_id]
                declined.append(gate)
                self.errors.pop(step_id, None)  # an offer declined is not a refusal
        started = time.time()
        self.errors.pop(step.id, None)
        self.step_times[step.id] = (started, None)
        self._transition(step, StepState.RUNNING, f"{step.title}: started")
        if declined is not None:  # journaled within this attempt, for its action to read
            context.record(
                "declined",
                {"gates": [g.title for g in declined], "left": [g.optional for g in declined]},
            )
        try:
            if step.precondition is not None:
                await step.precondition(context)
            try:
                outputs = await step.action(context) or {}
                state, message = StepState.DONE, f"{step.title}: done"
            except SkipStep as skip:
                outputs, state, message = skip.outputs, StepState.SKIPPED, skip.message
            if state == StepState.DONE and step.verification is not None:
                await step.verification(context, outputs)
        except asyncio.CancelledError:
            self.step_times[step.id] = (started, time.time())
            self._transition(step, StepState.CANCELLED, f"{step.title}: cancelled")
            self._emit(
                EventKind.RUN_STOPPED,
                step_id=step.id,
                message="cancelled",
                data={"outcome": "cancelled"},
            )
            raise
        except SyncWizardError as exc:
            return self._failed(step, started, exc)
        except Exception as exc:  # a bug: still journaled, so the run can be resumed
            log.exception("step %s failed unexpectedly", step.id)
            return self._failed(
                step,
                started,
                SyncWizardError(
                    f"{step.title}: unexpected {type(exc).__name__}: {exc}",
                    hint="this is a bug in syncwizard; please report it with the journal",
                ),
            )
        self.results[step.id] = outputs
        self.step_times[step.id] = (started, time.time())
        message = str(outputs.get("summary") or message)
        self._transition(step, state, message, data=outputs)
        return state

    def _failed(self, step: Step, started: float, error: SyncWizardError) -> StepState:
        self.errors[step.id] = error
        self.step_times[step.id] = (started, time.time())
        self._transition(step, StepState.FAILED, f"{step.title}: {error.message}", error=error)
        self._emit(
            EventKind.RUN_STOPPED,
            step_id=step.id,
            message=error.message,
            data={"outcome": "failed"},
        )
        return StepState.FAILED

    async def _confirmed(self, step: Step, gate: Gate) -> bool:
        gate = replace(gate, step=gate.step or step.title)
        asked = time.monotonic()
        confirmed = self.confirm is not None and await self.confirm(gate)
        # The journal keeps who was shown what: the facts, the answer, and how long the
        # gate was up before it (an audit trail, and what training grades a reading from).
        self._emit(
            EventKind.GATE,
            step_id=step.id,
            message=gate.title,
            data={
                "facts": [list(fact) for fact in gate.facts],
                "destructive": gate.destructive,
                "optional": bool(gate.optional),
                "confirmed": confirmed,
                "seconds": round(time.monotonic() - asked, 2),
            },
        )
        if confirmed:
            return True
        self.errors[step.id] = RefusedError(
            f"{step.title}: not confirmed ({gate.title})",
            hint="nothing was done; confirm the gate to go on",
        )
        return False

    # --- events ---------------------------------------------------------------------------

    def _transition(
        self,
        step: Step,
        state: StepState,
        message: str,
        *,
        data: Mapping[str, Any] | None = None,
        error: SyncWizardError | None = None,
    ) -> None:
        self.states[step.id] = state
        self._emit(
            EventKind.STATE, step_id=step.id, state=state, message=message, data=data, error=error
        )

    def _emit(
        self,
        kind: EventKind,
        *,
        step_id: str | None = None,
        state: StepState | None = None,
        message: str = "",
        data: Mapping[str, Any] | None = None,
        detail: object = None,
        error: SyncWizardError | None = None,
    ) -> None:
        event = StepEvent(
            run_id=self.run_id,
            kind=kind,
            step_id=step_id,
            state=state,
            message=message,
            data=dict(data or {}),
            detail=detail,
            error=error,
        )
        if kind in JOURNALED:
            self.journal.append(event)
        for observer in self.observers:
            try:
                observer(event)
            except Exception:
                log.exception("an observer failed on %s", kind)

    async def aclose(self) -> None:
        try:
            if self.runbook.aclose is not None:
                await self.runbook.aclose()
        finally:
            self.journal.close()
