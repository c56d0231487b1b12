"""What the backup and restore wizards share: the engine's events as messages, the widgets
every runbook screen has (sidebar, step head, live line, why and plan, log pane, queue
panel), and the small routines that fill them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from rich.table import Table
from rich.text import Text
from textual import work
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from syncwizard.errors import SyncWizardError
from syncwizard.runbook.model import EventKind, StepEvent
from syncwizard.status import StatusReport
from syncwizard.tui.model import DashboardModel
from syncwizard.tui.polling import SystemPolls
from syncwizard.tui.runbook_text import ProgressReader
from syncwizard.tui.screens.base import SCREENS_CSS, WizardScreen, log
from syncwizard.tui.widgets.log_pane import LogPane
from syncwizard.tui.widgets.queue_panel import QueuePanel
from syncwizard.tui.widgets.step_sidebar import StepSidebar
from syncwizard.tui.widgets.title_bar import TitleBar

if TYPE_CHECKING:
    from syncwizard.config import Settings
    from syncwizard.runbook.engine import Engine
    from syncwizard.tui.source import SourceFactory, StatusSource


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
    NARROW_BELOW: ClassVar[int] = 100  # the "-narrow" class below this width
    # Below this height the step's explanation scrolls sooner, for the live panels.
    SHORT_BELOW: ClassVar[int] = 32

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

    def on_resize(self) -> None:
        self._fit()

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

    def action_back(self) -> None:
        self.dismiss()

    def action_toggle_full_log(self) -> None:
        self.toggle_class("-full-log")
