"""The live status dashboard: health, queue and databases, each shown as soon as it answers.

Polling follows dolphie: each system has its own loop (`SystemPolls`) whose
next poll is armed only when the last one has finished, so polls of one system
never overlap however slow it is, and a slow system (a broker behind a VPN)
never holds back the panels of the others. A loop runs for as long as the
dashboard is open: poll, show, sleep the interval, again (a worker and a timer
per poll cost more CPU than the poll itself). While another screen (help, the
palette, a notice) is on top, the due polls wait and polling resumes when the
dashboard is shown again.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.widgets import Static

from syncwizard.errors import SyncWizardError
from syncwizard.status import StatusReport
from syncwizard.tui import keys
from syncwizard.tui.model import DashboardModel
from syncwizard.tui.polling import SYSTEM_NAMES, SystemPolls
from syncwizard.tui.screens.base import SCREENS_CSS, WizardScreen, log
from syncwizard.tui.source import SourceFactory, StatusSource
from syncwizard.tui.widgets.databases_panel import DatabasesPanel
from syncwizard.tui.widgets.health_panel import HealthPanel
from syncwizard.tui.widgets.queue_panel import QueuePanel
from syncwizard.tui.widgets.stable_lines import StableFooter, StableHorizontal, StableLines
from syncwizard.tui.widgets.title_bar import TitleBar

if TYPE_CHECKING:
    from syncwizard.config import Settings

AGE_REFRESH = 1.0  # at most this long between redraws (ages, a poll not coming back)
SLOW_POLL = 3.0  # seconds after which a poll that has not come back is said on screen


class DashboardScreen(StableLines, WizardScreen):
    BINDINGS = [keys.BACK, keys.COPY_GUID, keys.DASHBOARD_BACKUP, keys.DASHBOARD_RESTORE]
    CSS_PATH = SCREENS_CSS

    def __init__(
        self,
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
        self.model = DashboardModel()
        self.source: StatusSource | None = None
        self.health_panel = HealthPanel()
        self.queue_panel = QueuePanel()
        self.databases_panel = DatabasesPanel()
        self.title_bar = TitleBar("Status", settings.profile.name)
        self.polls: SystemPolls | None = None  # once the source is built
        self._on_top = asyncio.Event()  # set while the dashboard is the screen shown
        self._redrawn_at = 0.0  # clock() at the last redraw
        self._gc_frozen = False
        self._stopping = False

    def compose(self) -> ComposeResult:
        yield self.title_bar
        yield Static("", id="banner")
        yield self.health_panel
        with StableHorizontal(id="lower"):
            yield self.queue_panel
            yield self.databases_panel
        yield StableFooter()

    def on_mount(self) -> None:
        self.set_interval(AGE_REFRESH, self._redraw_if_due)
        self.start_polling()

    def on_screen_resume(self) -> None:
        self._on_top.set()

    def on_screen_suspend(self) -> None:
        self._on_top.clear()

    async def on_unmount(self) -> None:
        self._stopping = True
        if self._gc_frozen:
            gc.unfreeze()  # what the dashboard held can be collected again
        self.workers.cancel_group(self, "poll")
        if self.polls is not None:
            self.polls.stop()
        if self.source is not None:
            try:
                await self.source.aclose()
            except Exception:  # leaving must not fail because a connection did not close well
                log.warning("closing the status source failed", exc_info=True)

    @work(exclusive=True, group="poll", exit_on_error=False, name="status poll")
    async def start_polling(self) -> None:
        """Build the source, then poll each system in its own loop (`SystemPolls`)."""
        source = await self._source()
        if source is None or self._stopping:
            return
        self.polls = SystemPolls(
            self,
            source,
            interval=self.interval,
            clock=self.clock,
            shown=self._shown,
            failed=self.tell_failure,
            ready=self._until_on_top,
        )
        self.polls.start()

    async def _until_on_top(self) -> None:
        """Return when the dashboard is the screen shown (a due poll waits under a modal)."""
        while not self._stopping and not self.is_active:
            self._on_top.clear()
            await self._on_top.wait()

    def _shown(self, system: str, report: StatusReport) -> None:
        self.model.apply(report)
        self.redraw(system)
        if self.model.polls:
            self._freeze_gc()

    def _freeze_gc(self) -> None:
        """After the first poll, keep the collector's full passes off what is here to stay.

        The app, this screen and the open connections are all long-lived; a
        full collection walking them took 30-40 ms every ten seconds or so,
        as much CPU as several ticks. Frozen, a pass walks only what is new.
        """
        if not self._gc_frozen:
            gc.freeze()
            self._gc_frozen = True

    async def _source(self) -> StatusSource | None:
        """The source, built on first use off the event loop (building imports the clients)."""
        if self.source is None:
            banner = self.query_one("#banner", Static)
            try:
                self.source = await asyncio.to_thread(self.source_factory)
            except SyncWizardError as error:
                banner.update(Text(f"cannot start polling: {error.render()}"))
                banner.display = True
                return None
            banner.display = False
        return self.source

    def _redraw_if_due(self) -> None:
        """Move the ages on when no poll has redrawn the screen for a while.

        While polls come back every second each of them redraws, so this
        timer has nothing to add; it keeps ages and "poll running for" moving
        when polls are slow, fail to come back, or are minutes apart.
        """
        if self.clock() - self._redrawn_at >= AGE_REFRESH:
            self.redraw()

    @property
    def _taken_down(self) -> bool:
        """Dismissed or the app is exiting: the panels may already be gone."""
        return self._stopping or not self.is_attached or not self.display

    def redraw(self, system: str | None = None) -> None:
        """Show what the model holds: every panel, or the panel of the system that answered."""
        if self._taken_down:
            return  # a poll that came back while the screen was being taken down
        now = self.clock()
        self._redrawn_at = now
        self.title_bar.set_where(self._where(now))
        model = self.model
        if system in (None, "health"):
            self.health_panel.show(model.health, now)
        if system in (None, "broker"):
            self.queue_panel.show(model.broker, model.pending, model.dequeue_rate, now)
        if system is None or system in model.databases:
            self.databases_panel.show(model.databases, now)

    def _where(self, now: float) -> str:
        """`Status`, or which poll has not come back for how long."""
        slowest = self.polls.slowest(now) if self.polls is not None else None
        if slowest is not None:
            system, running_for = slowest
            if running_for >= max(3 * self.interval, SLOW_POLL):
                return f"Status - {SYSTEM_NAMES[system]} poll running for {int(running_for)} s"
        return "Status"

    def action_back(self) -> None:
        self._stopping = True
        if self.polls is not None:
            self.polls.stop()
        self.dismiss()

    def action_copy_guid(self) -> None:
        sync_id = self.model.sync_id
        if sync_id is None:
            self.notify(
                "no sync GUID yet: it comes from the health check, which has not answered",
                severity="warning",
            )
            return
        self.app.copy_to_clipboard(sync_id)
        self.notify(f"copied the sync GUID {sync_id}", title="Clipboard")
