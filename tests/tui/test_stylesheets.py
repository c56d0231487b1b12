"""Two stylesheets: the first paint parses only what the welcome screen shows
(syncwizard.tcss); every other screen names screens.tcss, parsed when it first opens."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from support.fake_status import T0, report
from textual.screen import Screen
from tui_support import make_app, open_dashboard

import syncwizard.tui
from syncwizard.tui.app import SyncWizardApp
from syncwizard.tui.screens.base import SCREENS_CSS, WizardScreen
from syncwizard.tui.screens.min_size import MinSizeScreen
from syncwizard.tui.screens.welcome import WelcomeScreen

APP_CSS = Path(syncwizard.tui.__file__).parent / "syncwizard.tcss"
# The welcome screen is the default screen: Textual reads no CSS_PATH of it, its rules are
# the app's. The too-small notice can cover the first paint. WizardScreen is a base.
FIRST_PAINT_SCREENS = {WelcomeScreen, MinSizeScreen, WizardScreen}


def sources(app: SyncWizardApp) -> set[Path]:
    return {Path(path) for path, _ in app.stylesheet.source if path.endswith(".tcss")}


async def test_the_first_paint_parses_the_first_screens_rules_only() -> None:
    app, _ = make_app([report(T0)])
    async with app.run_test(size=(80, 24)) as pilot:
        assert isinstance(app.screen, WelcomeScreen)
        assert sources(app) == {APP_CSS}
        await open_dashboard(pilot)
        assert sources(app) == {APP_CSS, SCREENS_CSS}


def screens_of_the_tui() -> set[type[Screen[object]]]:
    """Every screen class the TUI's modules define (each module imported)."""
    for module in pkgutil.walk_packages(syncwizard.tui.__path__, "syncwizard.tui."):
        importlib.import_module(module.name)
    found: set[type[Screen[object]]] = set()
    todo: list[type[Screen[object]]] = [Screen]
    while todo:
        for cls in todo.pop().__subclasses__():
            todo.append(cls)
            if cls.__module__.startswith("syncwizard.tui."):
                found.add(cls)
    return found


def test_every_screen_after_the_first_names_the_screens_stylesheet() -> None:
    screens = screens_of_the_tui()
    assert len(screens) > 15, "the walk found the screens"
    without = sorted(
        cls.__qualname__
        for cls in screens - FIRST_PAINT_SCREENS
        if cls.CSS_PATH != SCREENS_CSS
        and not (isinstance(cls.CSS_PATH, list) and SCREENS_CSS in cls.CSS_PATH)
    )
    assert without == [], f"these screens would open without their rules: {without}"
