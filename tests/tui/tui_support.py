"""Helpers for the TUI tests: an app wired to the fake source, waiting, reading panels."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

from rich.console import Console
from support.fake_status import FakeClock, FakeStatusSource, demo_settings
from textual.pilot import Pilot
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Static

from syncwizard.config import Settings
from syncwizard.lab.look import what_runs
from syncwizard.status import StatusReport
from syncwizard.tui.app import SyncWizardApp
from syncwizard.tui.screens.dashboard import DashboardScreen


def make_app(
    reports: Iterable[StatusReport] = (),
    *,
    settings: Settings | None = None,
    source: FakeStatusSource | None = None,
    clock: FakeClock | None = None,
    lag: float = 0.0,
    interval: float = 0.01,
    lab_root: Path | None = None,
) -> tuple[SyncWizardApp, FakeStatusSource]:
    """An app on the fake source; `clock` (if given) is set by each answer; its lab screen
    looks at the lab under `lab_root` (if given), as the entry points hand it the real one."""
    clock = clock or FakeClock()
    source = source or FakeStatusSource(reports, clock=clock, lag=lag)
    app = SyncWizardApp(
        settings or demo_settings(),
        source_factory=lambda: source,
        clock=clock,
        poll_interval=interval,
        lab_state=partial(what_runs, lab_root) if lab_root is not None else None,
    )
    app.animation_level = "none"
    return app, source


async def until(pilot: Pilot[int], condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Let the app run until `condition()` holds; fail after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {condition}")
        await pilot.pause(0.01)
    await pilot.pause()


def dashboard(app: SyncWizardApp) -> DashboardScreen:
    screen = next(s for s in app.screen_stack if isinstance(s, DashboardScreen))
    return screen


async def applied(pilot: Pilot[int], polls: int) -> DashboardScreen:
    """Wait until the dashboard has shown `polls` reports."""
    app = pilot.app
    assert isinstance(app, SyncWizardApp)
    await until(
        pilot,
        lambda: (
            any(isinstance(s, DashboardScreen) for s in app.screen_stack)
            and dashboard(app).model.polls >= polls
        ),
    )
    return dashboard(app)


async def open_dashboard(pilot: Pilot[int], polls: int = 1) -> DashboardScreen:
    await pilot.press("s")
    return await applied(pilot, polls)


def text_of(widget: Widget) -> str:
    """What a widget renders, as plain text at its current width."""
    renderable = widget.content if isinstance(widget, Static) else widget.render()
    if isinstance(renderable, str):
        return renderable
    out = io.StringIO()
    console = Console(width=max(widget.size.width, 40), file=out, color_system=None)
    console.print(renderable)
    return out.getvalue()


def tables_measured(screen: Screen[object]) -> bool:
    """Every table on `screen` has sized its columns for its rows (DataTable does that
    when it is next idle: a picture taken before shows squeezed columns)."""
    return not any(table._require_update_dimensions for table in screen.query(DataTable))
