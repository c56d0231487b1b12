"""The backup wizard: the step sidebar, the step's explanation and live panels, the log pane.

One worker (`drive`, exclusive) starts or resumes the run and awaits
`engine.run()`. The engine's observer only posts an `EngineEvent` to this
screen, so every change on screen happens in a message handler and the UI is
never blocked; bursts of progress collapse into the latest one. A second
worker polls the status source for the live panels (the dashboard's widgets),
one poll at a time. Esc or Ctrl+C asks first, then cancels the worker: the
engine kills the child, the step removes its partial files, the journal says
"cancelled", and the run can be resumed (r) or abandoned for a new one (n).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.containers import Horizontal
from textual.message import Message
from textual.widget import Widget

from syncwizard.errors import SyncWizardError
from syncwizard.runbook.model import Gate, RefusedError, StepEvent, StepState
from syncwizard.tui import keys
from syncwizard.tui.runbook_text import is_drain_status
from syncwizard.tui.screens.base import log, unexpected
from syncwizard.tui.screens.confirm_cancel import ConfirmCancelScreen
from syncwizard.tui.screens.runbook_screen import RunbookScreen
from syncwizard.tui.widgets.databases_panel import DatabasesPanel

if TYPE_CHECKING:
    from syncwizard.config import Settings
    from syncwizard.runbook.backup.drain import DrainStatus
    from syncwizard.runbook.engine import Engine, RunOutcome
    from syncwizard.runbook.journal import RunRecord
    from syncwizard.tui.backup.launcher import RunLauncher
    from syncwizard.tui.backup.summary import BackupSummaryScreen
    from syncwizard.tui.source import SourceFactory

CANCELLED_TEXT = (
    "Cancelled: the running dump was stopped and its partial files removed; the journal "
    "says so. r resumes the run at this step, n starts a new run."
)
STOPPED_TEXT = "r resumes the run at this step (what is done is kept); n starts a new run."


class ShowStep(Message):
    """Show this step's body (posted, so it comes after the events already posted)."""

    def __init__(self, step_id: str) -> None:
        super().__init__()
        self.step_id = step_id


class RunEnded(Message):
    """The drive worker is done: an outcome, a cancellation (both None), or an error."""

    def __init__(self, outcome: RunOutcome | None, error: SyncWizardError | None = None) -> None:
        super().__init__()
        self.outcome = outcome
        self.error = error


class BackupScreen(RunbookScreen):
    MAIN_ID = "backup-main"
    NARROW_BELOW = 100  # below this width the databases panel gives its room to the queue panel
    STARTING = "Starting the backup run..."
    SUMMARY_WORKER = "reading the backup set"
    RUN_GROUPS = ("backup",)
    CANCEL_GROUP = "backup"
    COMPONENT_CLASSES = {"backup--problem", "backup--note"}
    BINDINGS = [
        keys.BACKUP_CANCEL,
        keys.BACKUP_BACK,
        keys.BACKUP_INTERRUPT,
        keys.BACKUP_QUIT,
        keys.BACKUP_FULL_LOG,
        keys.BACKUP_RESUME,
        keys.BACKUP_AFRESH,
        keys.BACKUP_SUMMARY,
    ]

    def __init__(
        self,
        settings: Settings,
        launcher: RunLauncher,
        source_factory: SourceFactory,
        *,
        resume: RunRecord | None = None,
        interval: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__("Backup", settings, source_factory, interval=interval, clock=clock)
        self.launcher = launcher
        self.resume_record = resume
        self.run_dir: Path | None = None  # the run's journal folder, once known
        self.outcome: RunOutcome | None = None
        self.databases_panel = DatabasesPanel()
        self._started: dict[str, float] = {}  # step -> event time it started running

    # --- layout ---------------------------------------------------------------------------

    def _live_panels(self) -> Widget:
        return Horizontal(self.queue_panel, self.databases_panel, id="backup-panels")

    def _start(self) -> None:
        self.drive(self.resume_record)

    # --- driving the engine ---------------------------------------------------------------

    @work(exclusive=True, group="backup", exit_on_error=False, name="backup run")
    async def drive(
        self,
        resume: RunRecord | None = None,
        *,
        reload: Path | None = None,
        abandon: Path | None = None,
    ) -> None:
        """Start a run, or resume `resume` (or the run journaled in `reload`), to its end.

        With `abandon`, the run journaled there is marked abandoned first.
        """
        from syncwizard.runbook.journal import load_run

        self._set_phase("starting")
        self.engine = None
        outcome: RunOutcome | None = None
        error: SyncWizardError | None = None
        engine: Engine | None = None
        try:
            if abandon is not None:
                record = await asyncio.to_thread(load_run, abandon)
                await asyncio.to_thread(
                    self.launcher.abandon, record, "a new run was started from the TUI"
                )
                self._note(f"run {record.run_id} abandoned; its files stay where they are")
            if reload is not None:
                resume = await asyncio.to_thread(load_run, reload)
            observers = [self._observe]
            if resume is not None:
                self.run_dir = resume.run_dir
                engine = await self.launcher.resume(resume, observers, self._confirm)
            else:
                attested = await self._attested_time()
                if attested is False:
                    self._note("not started: the repository DB's backup time was not given")
                    return
                engine = await self.launcher.start(observers, self._confirm, attested)
            self._engine_ready(engine)
            outcome = await engine.run()
        except SyncWizardError as exc:
            error = exc
        except Exception as exc:  # a bug: said on screen, logged, the run stays resumable
            log.exception("the backup run failed unexpectedly")
            error = unexpected(exc, report_with="the run's journal")
        finally:
            if engine is not None:
                try:
                    await engine.aclose()
                except Exception:  # closing clients must not hide how the run ended
                    log.warning("closing the backup run's clients failed", exc_info=True)
            self.post_message(RunEnded(outcome, error))

    async def _attested_time(self) -> float | bool | None:
        """The snapshot time of a repository DB backed up outside syncwizard (asked); None
        when syncwizard backs it up itself; False when the admin cancelled."""
        from syncwizard.tui.backup.attest import AttestScreen

        vendor = self.launcher.repository_outside()
        if vendor is None:
            return None
        answer = await self.app.push_screen_wait(AttestScreen(vendor))
        return False if answer is None else float(answer)

    async def _confirm(self, gate: Gate) -> bool:
        from syncwizard.tui.screens.gate import GateScreen

        upcoming = self.engine.next_step() if self.engine is not None else None
        if upcoming is not None:  # its explanation behind the question, after earlier events
            self.post_message(ShowStep(upcoming.id))
        self._note(f"asking: {gate.title}")
        answer = await self.app.push_screen_wait(GateScreen(gate))
        self._note("confirmed" if answer else "not confirmed: nothing was done")
        return answer

    def _engine_ready(self, engine: Engine) -> None:
        self._show_run(engine)
        self.run_dir = engine.journal.run_dir
        self._set_phase("running")
        upcoming = engine.next_step()
        if upcoming is not None:
            self._show_step(upcoming.id)

    # --- engine events --------------------------------------------------------------------

    def on_show_step(self, message: ShowStep) -> None:
        self._show_step(message.step_id)

    def _on_state(self, step_id: str, state: StepState, event: StepEvent) -> None:
        took = None
        if state == StepState.RUNNING:
            self._started[step_id] = event.at
            self._show_step(step_id)
        elif step_id in self._started:
            took = max(event.at - self._started[step_id], 0.0)
        self.sidebar.set_state(step_id, state, took)
        if step_id != self.shown_step:
            return
        self._show_head(step_id)
        if state in (StepState.DONE, StepState.SKIPPED):
            self._set_live(Text(f"{state}: {event.message}"), "-done")
        elif state == StepState.FAILED and event.error is not None:
            self._say_stopped("failed", self._error_text(event.error, STOPPED_TEXT))
        elif state == StepState.CANCELLED:
            self._say_stopped("cancelled", Text(CANCELLED_TEXT))

    def _on_progress(self, event: StepEvent) -> None:
        super()._on_progress(event)
        if is_drain_status(event.detail):
            self._set_live(self._drain_text(event.detail), "-waiting")

    def _drain_text(self, status: DrainStatus) -> Text:
        """The wait's headline ("n of P0 events consumed; ..."), what blocks it, what to know."""
        text = Text(status.headline, style="bold")
        problem = self.get_component_rich_style("backup--problem", partial=True)
        note = self.get_component_rich_style("backup--note", partial=True)
        for line in status.problems:
            text.append("\n" + line, style=problem)
        for line in status.notes:
            text.append("\n" + line, style=note)
        return text

    # --- the run's end --------------------------------------------------------------------

    def on_run_ended(self, message: RunEnded) -> None:
        self.outcome, self.error = message.outcome, message.error
        self._close_modals()
        outcome = message.outcome
        if message.error is not None:
            self._set_phase("failed" if self.engine is not None else "cannot_start")
            self._note(f"stopped: {message.error.message}")
            self._set_live(self._error_text(message.error, self._after_error()), "-failed")
        elif outcome is None:
            self._set_phase("cancelled")
        elif outcome.status == "finished":
            self._set_phase("finished")
            self.log_pane.show_progress("every step done", 1, 1, "the backup set is sealed")
            self.open_summary()
        elif outcome.status == "cancelled":
            self._set_phase("cancelled")
        else:
            self._set_phase("failed")
            state = self.engine.states.get(outcome.step_id or "") if self.engine else None
            if outcome.error is not None and state != StepState.FAILED:
                # a refused gate: the step never ran, so no FAILED event said why
                self._note(f"stopped: {outcome.error.message}")
                self._set_live(self._error_text(outcome.error, STOPPED_TEXT), "-failed")
        if self._quit_when_stopped:
            self.app.exit()

    def _after_error(self) -> str:
        if self.run_dir is None:
            return "Esc goes back; fix the cause, then choose Backup again."
        if isinstance(self.error, RefusedError) and self.engine is None:
            return "n starts a new run instead (the old run's files stay where they are)."
        return STOPPED_TEXT

    def _close_modals(self) -> None:
        """A cancel question or a gate left open by a run that ended meanwhile goes away."""
        from syncwizard.tui.screens.gate import GateScreen

        while isinstance(self.app.screen, ConfirmCancelScreen | GateScreen):
            self.app.pop_screen()

    async def _summary(self) -> BackupSummaryScreen | None:
        from syncwizard.tui.backup.summary import BackupSummaryScreen

        set_dir = self._set_dir()
        if set_dir is None:
            self._note("the run finished but no step named its backup set folder")
            return None
        try:
            manifest = await self.launcher.read_set(set_dir)
        except SyncWizardError as exc:
            self._set_live(self._error_text(exc, ""), "-failed")
            return None
        return BackupSummaryScreen(manifest, set_dir, self.titles, self.settings.profile.name)

    def _set_dir(self) -> Path | None:
        if self.engine is None:
            return None
        for step in reversed(self.engine.runbook.steps):
            where = self.engine.results.get(step.id, {}).get("backup_set")
            if where:
                return Path(where)
        return None

    # --- the step body --------------------------------------------------------------------

    def _show_step(self, step_id: str) -> None:
        if step_id != self.shown_step:
            self._set_live(None)  # what was said about the step shown before
        self._explain(step_id)

    def _set_phase(self, phase: str) -> None:
        if phase != self.phase:
            self.phase = phase
            self.refresh_bindings()

    # --- live panels ----------------------------------------------------------------------

    def _redraw_panels(self, system: str) -> None:
        now = self.clock()
        model = self.model
        if system == "broker":
            self.queue_panel.show(model.broker, model.pending, model.dequeue_rate, now)
        elif system in model.databases:
            self.databases_panel.show(model.databases, now)

    # --- keys -----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_backup":
            return self.running
        if action in ("resume_run", "start_afresh"):
            if self.phase in ("failed", "cancelled"):
                return self.run_dir is not None
            if self.phase == "cannot_start":
                return action == "start_afresh" and self.run_dir is not None
            return False
        return super().check_action(action, parameters)

    def action_cancel_backup(self) -> None:
        self._ask_to_cancel(then_quit=False)

    def action_resume_run(self) -> None:
        if self.run_dir is not None:
            self._note("resuming the run...")
            self.drive(reload=self.run_dir)

    def action_start_afresh(self) -> None:
        if self.run_dir is not None:
            self.drive(abandon=self.run_dir)
