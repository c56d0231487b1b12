"""The restore wizard: one step at a time, each read before it runs.

Unlike the backup, which runs through, a restore waits on every step: the body
says what the step is for and what exactly it will do (`engine.describe`), the
admin makes the step's choice if it has one (purge or delete; restart or not),
and Enter (or the Run button) runs it. A destructive step asks its gate(s)
through the engine's `confirm` (GateScreen: type the token; Esc = no, and the
step stays pending). The recover start asks the repository admin's user and
password first (masked, memory only). A failed step shows its error and hint;
nothing further runs until it is retried (r); leaving keeps the run resumable
from the welcome screen.

This screen keeps the run's life cycle: `open_run` (a worker) starts or resumes the
engine; `run_step` (exclusive) hands the step its choice and runs it, on through the steps
known to be skipped (step_run.py); the engine's events (its observer only posts messages,
so the UI never blocks), the phases, the keys and leaving. What it shares with the backup
is in screens/runbook_screen.py; the step pane's panels are in their own modules: the
choice (choice_panel.py), the Run button (step_actions.py), the archived events and how a
clear reads (events_panel.py), how the -Drecover watch reads (watch_view.py), the live
panels (live_panels.py); the recover credentials' life cycle is in credentials.py, the
cancel question in cancel.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.reactive import var
from textual.widget import Widget
from textual.widgets import Button, Static

from syncwizard.errors import SyncWizardError
from syncwizard.runbook.model import EventKind, Gate, StepEvent, StepState
from syncwizard.tui import keys
from syncwizard.tui.restore import text as rt
from syncwizard.tui.restore.choice_panel import ChoicePanel
from syncwizard.tui.restore.credentials import ask_recover_credentials, forget_recover_password
from syncwizard.tui.restore.events_panel import ClearProgress, EventsPanel, rate_label
from syncwizard.tui.restore.live_panels import RestorePanels, follow_queue
from syncwizard.tui.restore.step_actions import READY_HINT, StepActions
from syncwizard.tui.restore.step_run import StepEnded, ended_line, run_through
from syncwizard.tui.restore.watch_view import WatchProgress
from syncwizard.tui.screens.base import log, unexpected
from syncwizard.tui.screens.confirm_cancel import ConfirmCancelScreen
from syncwizard.tui.screens.runbook_screen import RunbookScreen
from syncwizard.tui.widgets.step_sidebar import MARKERS

if TYPE_CHECKING:
    from syncwizard.config import Settings
    from syncwizard.runbook.engine import Engine
    from syncwizard.runbook.journal import RunRecord
    from syncwizard.runbook.restore.choices import RestoreChoices
    from syncwizard.tui.restore.launcher import RestoreLauncher
    from syncwizard.tui.restore.leave import LeaveRestoreScreen
    from syncwizard.tui.restore.summary import RestoreSummaryScreen
    from syncwizard.tui.source import SourceFactory


class RestoreScreen(RunbookScreen):
    MAIN_ID = "restore-main"
    NARROW_BELOW = 130  # below this width one live panel shows: health or queue, by step
    STARTING = "Starting the restore run..."
    SUMMARY_WORKER = "restore summary"
    RUN_GROUPS = ("restore", "restore-step")
    CANCEL_GROUP = "restore-step"
    # A clear runs on while events arrive, until x ends it: the key shows while it does.
    clear_by_hand: var[bool] = var(False, bindings=True)
    BINDINGS = [
        keys.RESTORE_RUN,
        keys.RESTORE_RETRY,
        keys.RESTORE_CANCEL,
        keys.RESTORE_BACK,
        keys.RESTORE_INTERRUPT,
        keys.RESTORE_QUIT,
        keys.RESTORE_EVENTS,
        keys.RESTORE_END_CLEAR,
        keys.RESTORE_FULL_LOG,
        keys.RESTORE_SUMMARY,
    ]

    def __init__(
        self,
        settings: Settings,
        launcher: RestoreLauncher,
        source_factory: SourceFactory,
        *,
        set_dir: Path | None = None,
        resume: RunRecord | None = None,
        interval: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__("Restore", settings, source_factory, interval=interval, clock=clock)
        self.launcher = launcher
        self.set_dir = set_dir
        self.resume_record = resume
        self.choices: RestoreChoices | None = None
        self.run_id: str | None = None
        self.ended: list[Text] = []  # what the steps since the shown one said at their end
        self.note = Static("", id="step-note")
        self.choice_panel = ChoicePanel()
        self.actions = StepActions()
        self.run_button, self.run_hint = self.actions.button, self.actions.hint
        self.events_panel = EventsPanel()
        self.events_table = self.events_panel.table  # as the tests and screenshots read it
        self.panels = RestorePanels(self.queue_panel)
        self.health_panel = self.panels.health

    # --- layout ---------------------------------------------------------------------------

    def _in_body(self) -> Iterable[Widget]:
        return (self.note, self.choice_panel)

    def _under_body(self) -> Iterable[Widget]:
        return (self.actions, self.events_panel)

    def _live_panels(self) -> Widget:
        return self.panels

    def _start(self) -> None:
        self.note.display = False
        self._set_phase("starting")
        self.open_run()

    # --- starting -------------------------------------------------------------------------

    @work(exclusive=True, group="restore", exit_on_error=False, name="restore run")
    async def open_run(self) -> None:
        try:
            self.choices = choices = await self.launcher.make_choices()
            observers = [self._observe]
            if self.resume_record is not None:
                engine = await self.launcher.resume(
                    self.resume_record, choices, observers, self._confirm
                )
            elif self.set_dir is not None:
                engine = await self.launcher.start(self.set_dir, choices, observers, self._confirm)
            else:
                raise SyncWizardError("no backup set was chosen", hint="choose one first")
        except SyncWizardError as exc:
            self._cannot_start(exc)
            return
        except Exception as exc:
            log.exception("the restore run could not start")
            self._cannot_start(unexpected(exc))
            return
        self._engine_ready(engine, choices)

    def _cannot_start(self, error: SyncWizardError) -> None:
        self.error = error
        self._set_phase("cannot_start")
        self._note(f"cannot start: {error.message}")
        self._set_live(self._error_text(error, "Esc goes back."), "-failed")

    def _engine_ready(self, engine: Engine, choices: RestoreChoices) -> None:
        self._show_run(engine)
        self.run_id = engine.run_id
        self.choice_panel.set_run(engine, choices)
        upcoming = engine.next_step()
        if upcoming is None:
            self._set_phase("finished")
            return
        self._set_phase("ready")
        self._show_step(upcoming.id)

    async def _confirm(self, gate: Gate) -> bool:
        from syncwizard.tui.screens.gate import GateScreen

        # Said after the answer, so nothing under the gate changes while it is open.
        answer = await self.app.push_screen_wait(GateScreen(gate))
        if answer:
            said = "confirmed"
        else:  # an offer declined leaves its thing as it is; a refusal leaves the step
            said = (
                f"declined: {gate.optional}" if gate.optional else "not confirmed: nothing was done"
            )
        self._note(f"asked: {gate.title} {said}")
        return answer

    # --- running one step -----------------------------------------------------------------

    def action_retry_step(self) -> None:
        if self.phase == "failed":
            self.action_run_step()

    def action_run_step(self) -> None:
        if self.phase not in ("ready", "failed") or self.engine is None:
            return
        upcoming = self.engine.next_step()
        if upcoming is not None:
            self.ended = []
            self.run_step(upcoming.id, retry=self.phase == "failed")

    @on(Button.Pressed, "#run-step")
    def run_pressed(self) -> None:
        self.action_run_step()

    @work(exclusive=True, group="restore-step", exit_on_error=False, name="restore step")
    async def run_step(self, step_id: str, *, retry: bool = False) -> None:
        engine = self.engine
        assert engine is not None
        self._set_phase("running")
        if not await self._prepare(step_id):
            self.post_message(StepEnded(step_id, None, "not started: no credentials given"))
            return
        again = f"running {self.titles[step_id]!r} again" if retry else ""
        try:
            ended = await run_through(engine, step_id, again=again)
        finally:
            forget_recover_password(self.choices)  # memory only, and only for one start
        self.post_message(ended)

    async def _prepare(self, step_id: str) -> bool:
        """Put the step's choice (or the recover credentials) into RestoreChoices."""
        chosen = self.choice_panel.hand_over(step_id)
        if chosen is not None:
            self._note(f"chosen: {chosen}")
        if (
            step_id == rt.START_RECOVER
            and self.choices is not None
            and not await ask_recover_credentials(self.app, self.choices)
        ):
            self._note("not started: no credentials given")
            return False
        return True

    def on_step_ended(self, message: StepEnded) -> None:
        engine = self.engine
        if engine is None:
            return
        if message.note:
            self._note(message.note)
        state = message.state
        if state is not None and state.satisfied:
            upcoming = engine.next_step()
            if upcoming is None:
                self._set_phase("finished")
                self.log_pane.show_progress("every step done", 1, 1, "the restore is finished")
                self.open_summary()
                return
            self._set_phase("ready")
            self._show_step(upcoming.id)
            return
        if state == StepState.FAILED:
            self._set_phase("failed")
            return  # the FAILED event showed the error
        # refused at a gate, no credentials, or a step that could not start: nothing ran
        self._set_phase("ready")
        error = engine.errors.get(message.step_id)
        if state == StepState.PENDING and error is not None:
            self._set_live(self._error_text(error, READY_HINT), "-failed")
        elif message.note:
            self._set_live(Text(message.note + ". " + READY_HINT), "-cancelled")
        self._show_head(message.step_id)
        self.run_button.focus()

    # --- engine events --------------------------------------------------------------------

    def _log_line(self, event: StepEvent) -> str | None:
        if event.kind == EventKind.RECORD and event.message == "choice":
            return rt.choice_line(event.data)
        if event.kind == EventKind.RECORD and event.message == "swapped":
            return f"  swapped: {event.data.get('database')} (old one: {event.data.get('aside')})"
        return super()._log_line(event)

    def _on_state(self, step_id: str, state: StepState, event: StepEvent) -> None:
        clearing = state == StepState.RUNNING and step_id in rt.CLEARING_STEPS
        if not clearing:
            self.clear_by_hand = False
        if self.panels.label_rate(rate_label(clearing)):
            self._redraw_panels("broker")
        took = None
        if state == StepState.RUNNING:
            if step_id != self.shown_step:
                self._show_step(step_id)
            self._set_live(Text(f"{MARKERS[state]} running...", style="bold"), "-waiting")
        else:
            times = self.engine.step_times.get(step_id) if self.engine else None
            if times is not None and times[1] is not None:
                took = max(times[1] - times[0], 0.0)
        self.sidebar.set_state(step_id, state, took)
        if state in (StepState.DONE, StepState.SKIPPED):
            self.ended.append(ended_line(step_id, state, event, self.titles))
            if step_id in rt.EVENT_STEPS and event.data.get("archive"):
                self.events_panel.load(Path(str(event.data["archive"])))
        elif state == StepState.FAILED and event.error is not None:
            self._show_head(step_id)
            self._say_stopped("failed", self._error_text(event.error, rt.AFTER_FAILURE))
            self._show_choice(step_id)  # a choice offered once the step said why
            self.events_panel.show_for(step_id, self.engine, self)  # what a clear cut short took
        elif state == StepState.CANCELLED:
            self._show_head(step_id)
            self._say_stopped("cancelled", Text(rt.CANCELLED_TEXT))
        if step_id == self.shown_step:
            self._show_head(step_id)

    def _on_progress(self, event: StepEvent) -> None:
        """A wait the step's live line follows (the recover watch, a clear), or a plain
        progress row."""
        step_id = event.step_id or ""
        clear = ClearProgress.read(event.detail) if step_id == rt.CLEAR_EVENTS else None
        if clear is not None:
            self.clear_by_hand = clear.by_hand
        wait = clear or WatchProgress.read(event.detail, step_id, self.titles)
        if wait is None:
            super()._on_progress(event)
            return
        self.log_pane.show_progress(wait.headline, wait.done, wait.total, wait.how)
        self._set_live(wait.text, "-waiting")

    # --- the step body --------------------------------------------------------------------

    def _show_step(self, step_id: str) -> None:
        self._explain(step_id)
        engine = self.engine
        if engine is None:
            return
        notes = rt.step_notes(step_id, engine.results)
        self.note.update("\n".join(notes))
        self.note.display = bool(notes)
        self._show_choice(step_id)
        self.actions.name_step(step_id, self.titles, narrow=self.has_class("-narrow"))
        self.events_panel.show_for(step_id, engine, self)
        self.set_class(step_id in rt.HEALTH_STEPS, "-health")
        if self.ended:
            self._set_live(Text("\n").join(self.ended[-3:]), "-done")
        else:
            self._set_live(None)
        if self.phase == "ready":
            self.run_button.focus()

    def _show_choice(self, step_id: str) -> None:
        """The step's choice, if it asks one now; a preselected option changes its plan."""
        if self.choice_panel.show(step_id):
            self._replan(step_id)

    @on(ChoicePanel.Changed)
    def choice_changed(self, message: ChoicePanel.Changed) -> None:
        self._replan(message.step_id)

    def _replan(self, step_id: str) -> None:
        """What the shown step will do, now that the run's choices hold its choice."""
        if self.shown_step == step_id:
            self._show_plan(step_id)

    def _fit(self) -> None:
        super()._fit()
        self.events_panel.place(self)
        if self.shown_step is not None:
            narrow = self.has_class("-narrow")
            self.actions.name_step(self.shown_step, self.titles, narrow=narrow)

    def _set_phase(self, phase: str) -> None:
        self.phase = phase
        self.actions.set_phase(phase)
        self.refresh_bindings()

    # --- the summary ----------------------------------------------------------------------

    async def _summary(self) -> RestoreSummaryScreen | None:
        from syncwizard.tui.restore.summary import RestoreSummaryScreen

        engine = self.engine
        if engine is None:
            return None
        results, states = dict(engine.results), dict(engine.states)
        profile = self.settings.profile.name
        return RestoreSummaryScreen(
            self.launcher, engine.run_id, results, states, self.titles, profile
        )

    # --- live panels ----------------------------------------------------------------------

    def _before_poll(self, system: str) -> None:
        if system == "broker" and self.engine is not None:
            follow_queue(self.source, self.engine.results)

    def _redraw_panels(self, system: str) -> None:
        self.panels.redraw(system, self.model, self.clock())

    async def _close_run(self) -> None:
        if self.engine is not None:
            try:
                await self.engine.aclose()  # frees the journal: the run can be resumed
            except Exception:
                log.warning("closing the restore run's clients failed", exc_info=True)
        forget_recover_password(self.choices)

    # --- keys -----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "run_step":
            return self.phase in ("ready", "failed")
        if action == "retry_step":
            return self.phase == "failed"
        if action == "cancel_step":
            return self.phase == "running"
        if action == "toggle_events":
            return self.has_class("-events")
        if action == "end_clear":
            return self.phase == "running" and self.clear_by_hand
        return super().check_action(action, parameters)

    def action_cancel_step(self) -> None:
        self._ask_to_cancel(then_quit=False)

    def _leave_question(self) -> LeaveRestoreScreen | None:
        """An unfinished run that changed things asks first, and says what it changed and
        did not put back yet (rt.left_state)."""
        from syncwizard.tui.restore.leave import LeaveRestoreScreen

        engine = self.engine
        if engine is None or self.phase == "finished":
            return None
        lines = rt.left_state(engine.states, engine.results, engine.records, self.titles)
        return LeaveRestoreScreen(lines) if lines else None

    def action_request_quit(self) -> None:
        if self.phase == "starting":
            self.app.exit()
            return
        self._ask_to_cancel(then_quit=True)

    def _can_cancel(self) -> bool:
        return self.phase == "running"  # a step, not the opening of the run

    def _cancel_question(self, step: str | None, *, then_quit: bool) -> ConfirmCancelScreen:
        from syncwizard.tui.restore.cancel import RestoreCancelScreen

        return RestoreCancelScreen(step_title=step, then_quit=then_quit)

    def action_toggle_events(self) -> None:
        self.events_panel.toggle_full(self)

    def action_end_clear(self) -> None:
        """End a clear that keeps consuming while events arrive: the events taken so far are
        in the archive, what arrives after stays pending."""
        if self.phase == "running" and self.choices is not None:
            self.choices.end_clearing()
            self._note("ending the clear: what arrives from now on stays pending")

    def _cancelled(self) -> None:
        self._set_phase("failed")
        if self._quit_when_stopped:
            self.app.exit()
