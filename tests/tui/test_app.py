"""The app around the dashboard: welcome, no config, keys, help, size, contrast, lab screen."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from reach_support import assert_reachable, assert_whole, shown_lines
from support.fake_status import CONFIG_PATH, SYNC_ID, T0, demo_settings, report
from textual.widgets import OptionList, Static
from tui_support import applied, make_app, open_dashboard, text_of, until

from syncwizard.config import UiSettings
from syncwizard.errors import SyncWizardError
from syncwizard.tui.app import SyncWizardApp
from syncwizard.tui.screens.dashboard import DashboardScreen
from syncwizard.tui.screens.help import HelpScreen
from syncwizard.tui.screens.lab import LabScreen
from syncwizard.tui.screens.min_size import MinSizeScreen
from syncwizard.tui.screens.welcome import WelcomeScreen

NO_CONFIG = SyncWizardError(
    "no config file at /nowhere/config.toml",
    hint="run `syncwizard config init` to write a commented template there, "
    "`syncwizard lab up` to practise on a local stack",
    system="config",
)


def menu_states(app: SyncWizardApp) -> dict[str, bool]:
    menu = app.screen.query_one("#menu", OptionList)
    return {option.id or "": option.disabled for option in menu.options}


async def test_the_welcome_screen_offers_the_four_paths_honestly() -> None:
    app, _ = make_app()
    async with app.run_test(size=(80, 24)):
        assert isinstance(app.screen, WelcomeScreen)
        assert menu_states(app) == {
            "backup": False,
            "restore": False,
            "status": False,
            "lab": False,
        }
        menu_text = " ".join(str(o.prompt) for o in app.screen.query_one(OptionList).options)
        assert "coming next" not in menu_text
        where = text_of(app.screen.query_one("#where"))
        assert "lab" in where and str(CONFIG_PATH) in where


async def test_without_a_config_the_welcome_says_what_is_wrong_and_how_to_fix_it() -> None:
    app = SyncWizardApp(None, NO_CONFIG)
    async with app.run_test(size=(80, 24)) as pilot:
        where = text_of(app.screen.query_one("#where"))
        assert "no config file at /nowhere/config.toml" in where
        assert "syncwizard config init" in where and "syncwizard lab up" in where
        assert menu_states(app)["status"] is True, "Status needs a config"
        assert menu_states(app)["backup"] is True, "Backup needs a config"
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen)


async def test_an_error_without_a_fix_in_its_hint_gets_the_two_ways_out() -> None:
    error = SyncWizardError(
        "the config file x is not valid TOML", hint="fix line 3", system="config"
    )
    app = SyncWizardApp(None, error)
    async with app.run_test(size=(80, 24)):
        where = text_of(app.screen.query_one("#where"))
        assert "fix line 3" in where and "lab up" in where and "config init" in where


async def test_keymap_from_the_config_rebinds_an_action(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = demo_settings(ui=UiSettings(keymap={"dashboard.copy_guid": "y"}))
    app, _ = make_app([report(T0)], settings=settings)
    copied: list[str] = []
    async with app.run_test(size=(80, 24)) as pilot:
        monkeypatch.setattr(app, "copy_to_clipboard", copied.append)
        await open_dashboard(pilot)
        await pilot.press("c")
        await pilot.pause()
        assert copied == [], "c is no longer bound"
        await pilot.press("y")
        await pilot.pause()
        assert copied == [SYNC_ID]


async def test_an_unknown_keymap_id_is_reported_not_ignored() -> None:
    settings = demo_settings(ui=UiSettings(keymap={"dashboard.copy_gid": "y"}))
    app, _ = make_app(settings=settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        messages = [str(n.message) for n in app._notifications]
        assert any("dashboard.copy_gid" in m and "dashboard.copy_guid" in m for m in messages)


async def test_copy_on_the_welcome_screen_copies_the_config_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app, _ = make_app()
    copied: list[str] = []
    async with app.run_test(size=(80, 24)) as pilot:
        monkeypatch.setattr(app, "copy_to_clipboard", copied.append)
        await pilot.press("c")
        await pilot.pause()
        assert copied == [str(CONFIG_PATH)]


async def test_f1_lists_the_keys_of_the_screen_underneath_and_escape_closes_it() -> None:
    app, _ = make_app([report(T0)])
    async with app.run_test(size=(80, 24)) as pilot:
        await open_dashboard(pilot)
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        keys = text_of(app.screen.query_one("#help-keys"))
        assert "Copy the sync GUID" in keys and "dashboard.copy_guid" in keys
        assert "Back to the previous screen" in keys and "Leave syncwizard" in keys
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)


async def test_f1_also_holds_the_glossary_whole_and_reachable_at_80x24() -> None:
    app, _ = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        glossary = app.screen.query_one("#help-glossary", Static)
        await assert_reachable(pilot, glossary)
        assert_whole(glossary)
        painted = "\n".join(shown_lines(glossary))
        for term in ("pending", "in flight", "virtual topic", "t0", "sync GUID", "-Drecover"):
            assert term in painted
        assert "Messages Dequeued equals Number Of Pending" in " ".join(painted.split())


async def test_question_mark_also_opens_help_for_terminals_that_keep_f1() -> None:
    app, _ = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)


async def test_below_80x24_a_notice_covers_the_app_and_goes_away_when_it_fits() -> None:
    app, _ = make_app()
    async with app.run_test(size=(79, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, MinSizeScreen)
        assert "79x24" in text_of(app.screen.query_one("#min-size"))
        await pilot.resize_terminal(100, 20)
        await pilot.pause()
        assert "100x20" in text_of(app.screen.query_one("#min-size"))
        await pilot.press("s")  # nothing opens behind the notice
        await pilot.pause()
        assert isinstance(app.screen, MinSizeScreen)
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen)


async def test_at_exactly_80x24_there_is_no_notice() -> None:
    app, _ = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert not isinstance(app.screen, MinSizeScreen)


async def test_high_contrast_toggles_with_a_key_and_changes_the_colours() -> None:
    app, _ = make_app([report(T0)])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_dashboard(pilot)
        body = screen.health_panel.body
        normal = body.style("healthy")
        await pilot.press("h")
        await pilot.pause()
        assert app.high_contrast
        strong = body.style("healthy")
        assert strong.color != normal.color
        await pilot.press("h")
        await pilot.pause()
        assert not app.high_contrast
        assert body.style("healthy").color == normal.color


async def test_high_contrast_can_start_on_from_the_config() -> None:
    app, _ = make_app(settings=demo_settings(ui=UiSettings(high_contrast=True)))
    async with app.run_test(size=(80, 24)):
        assert app.high_contrast


async def test_q_quits_from_the_dashboard() -> None:
    app, source = make_app([report(T0)])
    async with app.run_test(size=(80, 24)) as pilot:
        await open_dashboard(pilot)
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running)
    assert source.closed


async def test_the_palette_offers_the_app_commands() -> None:
    app, _ = make_app()
    async with app.run_test(size=(80, 24)):
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert {"Status dashboard", "Practice lab", "High contrast", "Keys"} <= set(titles)


async def test_the_lab_screen_shows_the_commands_and_a_lab_never_brought_up(tmp_path: Path) -> None:
    app, _ = make_app(lab_root=tmp_path / "lab")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("l")
        await pilot.pause()
        assert isinstance(app.screen, LabScreen)
        commands = text_of(app.screen.query_one("#lab-commands"))
        for command in ("syncwizard lab up", "lab generate --rate 50 --for 30s", "lab down"):
            assert command in commands
        state = app.screen.query_one("#lab-state")
        await until(pilot, lambda: "never brought up" in text_of(state))
        assert "`lab` is in" in text_of(state)  # demo settings have a lab profile
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen)


async def test_the_lab_screen_says_which_parts_are_not_running(tmp_path: Path) -> None:
    root = tmp_path / "lab"
    root.mkdir()
    (root / "pids.json").write_text(json.dumps({}), encoding="utf-8")
    app, _ = make_app(lab_root=root)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("l")
        state = app.screen.query_one("#lab-state")
        await until(pilot, lambda: "standin" in text_of(state))
        shown = text_of(state)
        for part in ("postgres", "broker", "standin"):
            assert f"{part}" in shown
        assert "not running" in shown and "running," not in shown


async def test_the_lab_screen_of_an_app_not_handed_the_lab_says_so() -> None:
    app, _ = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("l")
        state = app.screen.query_one("#lab-state")
        await until(pilot, lambda: "not looked at" in text_of(state))
        assert "`lab` is in" in text_of(state)


async def test_enter_on_status_and_escape_return_to_a_working_welcome() -> None:
    app, _ = make_app([report(T0), report(T0 + 1)])
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")
        await applied(pilot, 1)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen)
        await pilot.press("l")
        await pilot.pause()
        assert isinstance(app.screen, LabScreen)
