"""SVG snapshots of every screen, at 80x24 (the minimum, over SSH) and at 120x40.

The fake source answers a fixed script and its clock is set by each answer,
so values, sparklines and ages are the same on every run. Update after a
deliberate change with `pytest tests/tui/test_snapshots.py --snapshot-update`
and look at the report before committing.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from support.fake_status import demo_reports, demo_reports_broker_down, demo_settings
from textual.pilot import Pilot
from tui_support import applied, make_app

from syncwizard.config import UiSettings
from syncwizard.errors import SyncWizardError
from syncwizard.status import StatusReport
from syncwizard.tui.app import SyncWizardApp

SnapCompare = Callable[..., bool]
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
NO_CONFIG = SyncWizardError(
    "no config file at /home/admin/.config/syncwizard/config.toml",
    hint="run `syncwizard config init` to write a commented template there, "
    "`syncwizard lab up` to practise on a local stack, or point --config / "
    "SYNCWIZARD_CONFIG at your file",
    system="config",
)


def dashboard_after(
    reports: list[StatusReport], *, high_contrast: bool = False
) -> tuple[SyncWizardApp, Callable[[Pilot[int]], Coroutine[Any, Any, None]]]:
    """An app that opens the dashboard and waits until the whole script has been shown."""
    settings = demo_settings(ui=UiSettings(high_contrast=high_contrast))
    app, _ = make_app(reports, settings=settings, lag=1.2)

    async def open_and_settle(pilot: Pilot[int]) -> None:
        await pilot.press("s")
        await applied(pilot, len(reports))
        await pilot.pause()

    return app, open_and_settle


@pytest.mark.parametrize("size", SIZES)
def test_welcome(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    app, _ = make_app()
    assert snap_compare(app, terminal_size=size)


def test_welcome_without_a_config(snap_compare: SnapCompare) -> None:
    app = SyncWizardApp(None, NO_CONFIG)
    app.animation_level = "none"
    assert snap_compare(app, terminal_size=(80, 24))


@pytest.mark.parametrize("size", SIZES)
def test_dashboard(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    app, run_before = dashboard_after(demo_reports())
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_dashboard_with_the_broker_down(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    app, run_before = dashboard_after(demo_reports_broker_down())
    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_dashboard_in_high_contrast(snap_compare: SnapCompare) -> None:
    app, run_before = dashboard_after(demo_reports(), high_contrast=True)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_help_over_the_dashboard(snap_compare: SnapCompare) -> None:
    app, open_dashboard = dashboard_after(demo_reports(5))

    async def run_before(pilot: Pilot[int]) -> None:
        await open_dashboard(pilot)
        await pilot.press("f1")

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_min_size_notice(snap_compare: SnapCompare) -> None:
    app, _ = make_app()
    assert snap_compare(app, terminal_size=(70, 20))


def practice_after(
    *, debrief: bool
) -> tuple[SyncWizardApp, Callable[[Pilot[int]], Coroutine[Any, Any, None]]]:
    """The Practice screen on the weekend outage's ticket, or its debrief (a run that gave
    up the events), over the fake lab of tests/support/fake_practice.py."""
    from support.fake_practice import FakeDesk
    from textual.widgets import OptionList
    from tui_support import until

    from syncwizard.tui.practice.debrief import DebriefScreen
    from syncwizard.tui.practice.screen import PracticeScreen

    desk = FakeDesk(gave_up=True)
    app, _ = make_app()
    app.practice = desk

    async def open_practice(pilot: Pilot[int]) -> None:
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, PracticeScreen))
        menu = app.screen.query_one("#scenarios", OptionList)
        await until(pilot, lambda: menu.option_count > 0)
        menu.highlighted = menu.get_option_index("weekend-outage")
        if debrief:
            desk.run_ended.set()
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, DebriefScreen))
        await pilot.pause()

    return app, open_practice


@pytest.mark.parametrize("debrief", [False, True], ids=["list", "debrief"])
def test_practice(snap_compare: SnapCompare, debrief: bool) -> None:
    app, run_before = practice_after(debrief=debrief)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
