"""What the backup and restore wizards share: the engine's events as messages, the widgets
every runbook screen has (sidebar, step head, live line, why and plan, log pane, queue
panel), and the small routines that fill them.

The layout is shared (`compose`: each screen adds to the step's body, under it, and its
live panels), and so is the life cycle: mounting starts the run (`_start`) and the live
panels; an open run shows its steps, id and journal (`_show_run`); the engine's events are
sorted here and each screen shows a step's progress and state its way (`_on_progress`,
`_on_state`; `_show_plan`, `_say_stopped` help); a running step is cancelled only after a
question (`_ask_to_cancel`, then `_cancelled`); a finished run's summary opens over the
screen (`open_summary`, each screen's `_summary`); Esc asks first when the screen has a
question (`_leave_question`); and unmounting stops the polls, cancels the run's workers
(RUN_GROUPS), gives them STOP_WAIT seconds to clean up and closes what the run
(`_close_run`) and the panels hold."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, ClassVar

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Static
from textual.worker import Worker, WorkerCancelled, WorkerFailed, WorkerState

from syncwizard.errors import SyncWizardError
from syncwizard.runbook.model import EventKind, StepEvent, StepState
from syncwizard.status import StatusReport
from syncwizard.tui.model import DashboardModel
from syncwizard.tui.polling import SystemPolls
from syncwizard.tui.runbook_text import ProgressReader, log_line, short_path
from syncwizard.tui.screens.base import SCREENS_CSS, WizardScreen, log
from syncwizard.tui.screens.confirm_cancel import ConfirmCancelScreen
from syncwizard.tui.widgets.footer import WizardFooter
from syncwizard.tui.widgets.log_pane import LogPane
from syncwizard.tui.widgets.queue_panel import QueuePanel
from syncwizard.tui.widgets.step_sidebar import StepSidebar
from syncwizard.tui.widgets.title_bar import TitleBar

if TYPE_CHECKING:
    from syncwizard.config import Settings
    from syncwizard.runbook.engine import Engine
    from syncwizard.tui.source import SourceFactory, StatusSource

STOP_WAIT = 20.0  # seconds a closing screen waits for a cancelled run to clean up


class EngineEvent(Message):
    """One engine event, posted by the observer; progress of one step coalesces."""

    def __init__(self, event: StepEvent) -> None:
        super().__init__()
        self.event = event

    def can_replace(self, message: Message) -> bool:
        return (
            isinstance(message, EngineEvent)
            and self.event.kind == EventKind.PROGRESS
            and message.event.kind == EventKind.PROGRESS
            and message.event.step_id == self.event.step_id
        )


class RunbookScreen(WizardScreen):
    CSS_PATH = SCREENS_CSS
    MAIN_ID: ClassVar[str] = "runbook-main"  # the row of the steps and the step's pane
    NARROW_BELOW: ClassVar[int] = 100  # the "-narrow" class below this width
    # Below this height the step's explanation scrolls sooner, for the live panels.
    SHORT_BELOW: ClassVar[int] = 32
    STARTING: ClassVar[str] = "Starting the run..."  # the step head until the run is open
    RUN_GROUPS: ClassVar[tuple[str, ...]] = ()  # the workers that drive the run
    CANCEL_GROUP: ClassVar[str] = ""  # the worker a confirmed cancel stops
    SUMMARY_WORKER: ClassVar[str] = "summary"  # named in a failure's notification

    def __init__(
        self,
        title: str,
        settings: Settings,
        source_factory: SourceFactory,
        *,
        interval: float,
        clock: Callable[[], float],
    ) -> None:
        super().__init__()
        self.run_title = title
        self.settings = settings
        self.source_factory = source_factory
        self.interval = interval
        self.clock = clock
        self.phase = "starting"
        self.engine: Engine | None = None
        self.error: SyncWizardError | None = None  # why the run could not start or go on
        self.titles: dict[str, str] = {}
        self.shown_step: str | None = None
        self.source: StatusSource | None = None
        self.polls: SystemPolls | None = None
        self.model = DashboardModel()
        self.progress = ProgressReader()
        self._quit_when_stopped = False
        self._stopping = False
        self.title_bar = TitleBar(title, settings.profile.name)
        self.sidebar = StepSidebar(id="step-sidebar")
        self.head = Static("", id="step-head")
        self.live = Static("", id="step-live-text")
        # At the top of the step's scrolling body: a long error is read by scrolling, never cut.
        self.live_box = Vertical(self.live, id="step-live")
        self.why = Static("", id="step-why")
        self.plan = Static("", id="step-plan")
        self.panels_banner = Static("", id="panels-banner")
        self.queue_panel = QueuePanel()
        self.log_pane = LogPane(id="log-pane")

    def compose(self) -> ComposeResult:
        yield self.title_bar
        with Horizontal(id=self.MAIN_ID):
            with VerticalScroll(id="steps") as steps:
                steps.border_title = "Steps"
                yield self.sidebar
            with Vertical(id="step-pane"):
                yield self.head
                with VerticalScroll(id="step-body"):
                    yield self.live_box
                    yield self.why
                    yield self.plan
                    yield from self._in_body()
                yield from self._under_body()
                yield self.panels_banner
                yield self._live_panels()
        yield self.log_pane
        yield WizardFooter()

    def _in_body(self) -> Iterable[Widget]:
        """What the step's scrolling body shows after why and plan."""
        return ()

    def _under_body(self) -> Iterable[Widget]:
        """What sits between the step's body and the live panels."""
        return ()

    def _live_panels(self) -> Widget:
        """The row of live panels under the step: the queue panel and the screen's own."""
        raise NotImplementedError

    def on_mount(self) -> None:
        self.live_box.display = False
        self.panels_banner.display = False
        self._fit()
        self.head.update(Text(self.STARTING, style="bold"))
        self._start()
        self.poll_panels()

    def _start(self) -> None:
        """Start (or resume) the run: each screen's worker."""

    def on_resize(self) -> None:
        self._fit()

    def _show_run(self, engine: Engine) -> None:
        """The run is open: its steps in the sidebar (with what each took so far), its id in
        the title bar, its journal named over the log."""
        self.engine = engine
        self.titles = {step.id: step.title for step in engine.runbook.steps}
        took = {
            step_id: (finished - started) if finished is not None else None
            for step_id, (started, finished) in engine.step_times.items()
        }
        self.sidebar.set_steps(
            [(step.id, step.title) for step in engine.runbook.steps], engine.states, took
        )
        self.title_bar.set_where(f"{self.run_title} {engine.run_id}")
        self.log_pane.set_source(f"journal {short_path(engine.journal.path)}")

    # --- engine events --------------------------------------------------------------------

    def on_engine_event(self, message: EngineEvent) -> None:
        event = message.event
        if event.kind == EventKind.LOG:
            self.log_pane.write(f"    {event.message}")
            return
        if event.kind == EventKind.PROGRESS:
            self._on_progress(event)
            return
        line = self._log_line(event)
        if line:
            self._note(line)
        if event.kind == EventKind.STATE and event.step_id and event.state:
            if event.state == StepState.RUNNING:  # its progress starts afresh
                self.progress = ProgressReader()
                self.log_pane.clear_progress()
            self._on_state(event.step_id, event.state, event)

    def _log_line(self, event: StepEvent) -> str | None:
        """The log pane's line for an event (LOG and PROGRESS excepted), or None."""
        return log_line(event, self.titles)

    def _on_progress(self, event: StepEvent) -> None:
        """A step's progress: its row under the log pane."""
        row = self.progress.row(event)
        self.log_pane.show_progress(row.label, row.done, row.total, row.detail)

    def _on_state(self, step_id: str, state: StepState, event: StepEvent) -> None:
        """A step's new state: each screen shows it its way."""

    # --- live panels ----------------------------------------------------------------------

    @work(exclusive=True, group="panels", exit_on_error=False, name="live panels")
    async def poll_panels(self) -> None:
        """Build the status source, then poll each system in its own loop: each panel is
        redrawn as its system answers, a slow one holds back no other."""
        try:
            self.source = await asyncio.to_thread(self.source_factory)
        except SyncWizardError as error:
            self.panels_banner.update(Text(f"no live panels: {error.render()}"))
            self.panels_banner.display = True
            return
        if self._stopping:
            return
        self.polls = SystemPolls(
            self,
            self.source,
            interval=self.interval,
            clock=self.clock,
            shown=self._panel_answer,
            failed=self.tell_failure,
            before=self._before_poll,
        )
        self.polls.start()

    def _before_poll(self, system: str) -> None:
        """Called before each poll of `system` (the restore names the queue to follow)."""

    def _panel_answer(self, system: str, report: StatusReport) -> None:
        self.model.apply(report)
        if not self._stopping:
            self._redraw_panels(system)

    def _redraw_panels(self, system: str) -> None:
        """Redraw the panel that shows `system`, if this screen has one."""

    def _stop_polls(self) -> None:
        self._stopping = True
        self.workers.cancel_group(self, "panels")
        if self.polls is not None:
            self.polls.stop()

    async def on_unmount(self) -> None:
        """Leaving (or quitting): the polls stop, a running step is cancelled and given
        STOP_WAIT seconds to clean up (the engine stops its child), then what the run and
        the panels hold is closed."""
        self._stop_polls()
        running = [
            w
            for w in self.workers
            if w.node is self and w.group in self.RUN_GROUPS and w.state is WorkerState.RUNNING
        ]
        for worker in running:
            worker.cancel()
            with contextlib.suppress(WorkerCancelled, WorkerFailed, TimeoutError):
                await asyncio.wait_for(worker.wait(), STOP_WAIT)
        await self._close_run()
        if self.source is not None:
            try:
                await self.source.aclose()
            except Exception:
                log.warning("closing the status source failed", exc_info=True)

    async def _close_run(self) -> None:
        """Once the run's workers have stopped: close what the run still holds."""

    def _fit(self) -> None:
        size = self.app.size
        self.set_class(size.width < self.NARROW_BELOW, "-narrow")
        self.set_class(size.height < self.SHORT_BELOW, "-short")

    def _observe(self, event: StepEvent) -> None:
        self.post_message(EngineEvent(event))

    def _show_head(self, step_id: str) -> None:
        """`Step 2 of 5: Repository DB backup` on the left, its state on the right."""
        ids = list(self.titles)
        if step_id not in ids:
            return
        state = str(self.sidebar.state_of(step_id))
        grid = Table.grid(expand=True)
        grid.add_column(overflow="fold", ratio=1)  # a long title wraps, it is not cut
        grid.add_column(no_wrap=True, justify="right")
        title = f"Step {ids.index(step_id) + 1} of {len(ids)}: {self.titles[step_id]}"
        grid.add_row(Text(title, style="bold"), Text(f" {state}", style="italic"))
        self.head.update(grid)

    def _explain(self, step_id: str) -> None:
        """Show `step_id`: marked in the sidebar, its head, why it is done and what it does."""
        self.shown_step = step_id
        self.sidebar.show_step(step_id)
        self._show_head(step_id)
        if self.engine is None:
            return
        self.why.update(self.engine.runbook.step(step_id).why)
        self._show_plan(step_id)

    def _show_plan(self, step_id: str) -> None:
        """What the step will do, as the engine describes it now (a choice can change it)."""
        if self.engine is None:
            return
        try:
            plan = self.engine.describe(step_id)
        except Exception:  # a plan is an explanation: never let it stop the run
            log.warning("describing step %s failed", step_id, exc_info=True)
            plan = ""
        what = Text("What it does: ", style="bold")
        what.append(plan or "see the log below")
        self.plan.update(what)

    def _set_live(self, text: Text | None, kind: str = "") -> None:
        """What is happening to the shown step (a wait's status, its error), or nothing."""
        self.live_box.display = text is not None
        for name in ("-done", "-failed", "-cancelled", "-waiting"):
            self.live_box.set_class(name == kind, name)
        if text is not None:
            self.live.update(text)

    def _say_stopped(self, word: str, text: Text) -> None:
        """A step `word` (failed, cancelled): said on the live line, and where its progress
        stopped is kept under the log."""
        self._set_live(text, f"-{word}")
        self.log_pane.mark_stopped(word)

    def _error_text(self, error: SyncWizardError, then: str) -> Text:
        text = Text(error.message, style="bold")
        if error.hint:
            text.append(f"\nhint: {error.hint}")
        if then:
            text.append(f"\n{then}", style="italic")
        return text

    def _note(self, line: str) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime(self.clock()))
        self.log_pane.write(f"{stamp} {line}")

    @property
    def running(self) -> bool:
        return self.phase in ("starting", "running")

    # --- the summary ----------------------------------------------------------------------

    def open_summary(self) -> None:
        """Show the finished run's summary over this screen, if it is still the one shown."""
        self.run_worker(
            self._push_summary(),
            name=self.SUMMARY_WORKER,
            group="summary",
            exclusive=True,
            exit_on_error=False,
        )

    async def _push_summary(self) -> None:
        summary = await self._summary()
        if summary is not None and self.is_attached and self.app.screen is self:
            await self.app.push_screen(summary)

    async def _summary(self) -> Screen[None] | None:
        """The finished run's summary screen, or None (and said why, if it is a surprise)."""
        return None

    # --- keys -----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            return not self.running
        if action == "request_quit":
            return self.running
        if action == "show_summary":
            return self.phase == "finished"
        return True

    def action_back(self) -> None:
        """Leave for the welcome screen; a run that leaves something to know asks first."""
        question = self._leave_question()
        if question is None:
            self.dismiss()
            return

        def answered(leave: bool | None) -> None:
            if leave and not self.running:
                self.dismiss()

        self.app.push_screen(question, answered)

    def _leave_question(self) -> Screen[bool] | None:
        """What to ask before leaving, if anything (the restore: what it leaves changed)."""
        return None

    def action_request_quit(self) -> None:
        self._ask_to_cancel(then_quit=True)

    def action_show_summary(self) -> None:
        self.open_summary()

    def _can_cancel(self) -> bool:
        return self.running

    def _cancel_question(self, step: str | None, *, then_quit: bool) -> ConfirmCancelScreen:
        return ConfirmCancelScreen(step_title=step, then_quit=then_quit)

    def _ask_to_cancel(self, *, then_quit: bool) -> None:
        """Asked first; yes cancels CANCEL_GROUP's worker (and quits once it stopped)."""
        if not self._can_cancel() or isinstance(self.app.screen, ConfirmCancelScreen):
            return
        step = self.titles.get(self.shown_step or "") if self.phase == "running" else None

        def answered(yes: bool | None) -> None:
            if yes and self._can_cancel():
                self._quit_when_stopped = then_quit
                self._note("cancelling: stopping the running step...")
                self.workers.cancel_group(self, self.CANCEL_GROUP)

        self.app.push_screen(self._cancel_question(step, then_quit=then_quit), answered)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == self.CANCEL_GROUP and event.state is WorkerState.CANCELLED:
            if not self._stopping:
                self._cancelled()
            return
        super().on_worker_state_changed(event)

    def _cancelled(self) -> None:
        """The cancel asked for has stopped the CANCEL_GROUP worker (not a screen closing)."""

    def action_toggle_full_log(self) -> None:
        self.toggle_class("-full-log")
