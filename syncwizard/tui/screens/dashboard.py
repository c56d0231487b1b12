"""The live status dashboard: health, queue and databases, polled one poll at a time.

Polling follows dolphie: the next poll is armed only when the last one has
finished, so polls never overlap however slow a system is. One worker runs
for as long as the dashboard is open: poll, show, sleep the interval, again
(a worker and a timer per poll cost more CPU than the poll itself). While
another screen (help, the palette, a notice) is on top, the due poll waits and
polling resumes when the dashboard is shown again.
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
from syncwizard.tui import keys
from syncwizard.tui.model import DashboardModel
from syncwizard.tui.screens.base import WizardScreen, failure_text, log
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
    BINDINGS = [keys.BACK, keys.COPY_GUID]

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
        self._poll_running = False  # a poll is out
        self._poll_started = 0.0  # clock() when the running poll began
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
        self.poll_loop()

    def on_screen_resume(self) -> None:
        self._on_top.set()

    def on_screen_suspend(self) -> None:
        self._on_top.clear()

    async def on_unmount(self) -> None:
        self._stopping = True
        if self._gc_frozen:
            gc.unfreeze()  # what the dashboard held can be collected again
        self.workers.cancel_group(self, "poll")
        if self.source is not None:
            try:
                await self.source.aclose()
            except Exception:  # leaving must not fail because a connection did not close well
                log.warning("closing the status source failed", exc_info=True)

    @work(exclusive=True, group="poll", exit_on_error=False, name="status poll")
    async def poll_loop(self) -> None:
        """Poll, show, wait the interval; a due poll waits while another screen is on top."""
        while not self._stopping:
            if not self.is_active:
                self._on_top.clear()
                await self._on_top.wait()
                continue
            self._poll_running, self._poll_started = True, self.clock()
            try:
                await self._poll_once()
            except Exception as error:  # a bug: expected failures are in the report
                self._tell_failure(error)
            finally:
                self._poll_running = False
            await asyncio.sleep(self.interval)

    async def _poll_once(self) -> None:
        source = await self._source()
        if source is None:
            return
        self.model.apply(await source.poll())
        self.redraw()
        self._last_failure = None
        self._freeze_gc()

    def _tell_failure(self, error: Exception) -> None:
        """A failure repeated by every poll is told once, until a poll succeeds."""
        text = failure_text(error)
        if text != self._last_failure:
            log.error("status poll failed: %s", text, exc_info=error)
            self.notify(text, title="status poll failed", severity="error")
            self._last_failure = text

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

    def redraw(self) -> None:
        if self._taken_down:
            return  # a poll that came back while the screen was being taken down
        now = self.clock()
        self._redrawn_at = now
        self.title_bar.set_where(self._where(now))
        model = self.model
        self.health_panel.show(model.health, now)
        self.queue_panel.show(model.broker, model.pending, model.dequeue_rate, now)
        self.databases_panel.show(model.databases, now)

    def _where(self, now: float) -> str:
        """`Status`, or how long the poll that has not come back has been running."""
        running_for = now - self._poll_started
        if self._poll_running and running_for >= max(3 * self.interval, SLOW_POLL):
            return f"Status - poll running for {int(running_for)} s"
        return "Status"

    def action_back(self) -> None:
        self._stopping = True
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
