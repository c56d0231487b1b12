"""Practice on the welcome screen: the scenario list with tickets, the lab set up, the real
wizard started, and the debrief once the trainee's run has ended (issue 12)."""

from __future__ import annotations

import pytest
from reach_support import assert_reachable, assert_whole, shown_lines
from support.fake_practice import FakeDesk
from support.fake_status import demo_settings
from textual.screen import Screen
from textual.widgets import Button, OptionList, Static
from tui_support import make_app, text_of, until

from syncwizard.tui.app import SyncWizardApp
from syncwizard.tui.practice.debrief import DebriefScreen
from syncwizard.tui.practice.screen import PracticeScreen
from syncwizard.tui.screens.welcome import WelcomeScreen


def practice_app(desk: FakeDesk, profile: str = "lab") -> SyncWizardApp:
    app, _ = make_app(settings=demo_settings(profile=profile))
    app.practice = desk if profile == "lab" else None  # as the app's constructor decides
    return app


def menu_ids(app: SyncWizardApp) -> list[str | None]:
    menu = app.screen.query_one("#menu", OptionList)
    return [menu.get_option_at_index(i).id for i in range(menu.option_count)]


async def test_practice_is_offered_only_with_the_lab_profile_and_a_desk() -> None:
    async with practice_app(FakeDesk()).run_test(size=(80, 24)) as pilot:
        assert menu_ids(pilot.app)[-1] == "practice"  # type: ignore[arg-type]
    app = SyncWizardApp(demo_settings(profile="prod"), practice=FakeDesk())
    async with app.run_test(size=(80, 24)):
        assert app.practice is None and "practice" not in menu_ids(app)
    async with make_app()[0].run_test(size=(80, 24)) as pilot:
        assert "practice" not in menu_ids(pilot.app)  # type: ignore[arg-type]


async def test_the_list_shows_each_tickets_and_enter_sets_the_scenario_up() -> None:
    desk = FakeDesk()
    app = practice_app(desk)
    started: list[str] = []
    async with app.run_test(size=(80, 24)) as pilot:
        app.action_open_restore = lambda: started.append("restore")  # type: ignore[method-assign]
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, PracticeScreen))
        screen = app.screen
        await until(pilot, lambda: screen.query_one("#scenarios", OptionList).option_count > 0)
        menu = screen.query_one("#scenarios", OptionList)
        assert "not played" in str(menu.get_option("weekend-outage").prompt)
        menu.highlighted = menu.get_option_index("weekend-outage")
        await pilot.pause()
        assert "INC-3307" in text_of(screen.query_one("#ticket"))
        await pilot.press("enter")
        start = screen.query_one("#start-run", Button)
        await until(pilot, lambda: start.display)
        assert desk.set_up_ids == ["weekend-outage"]
        told = text_of(screen.query_one("#setup-text"))
        assert "lab reset in 1.6 s" in told and "Now run the restore" in told
        assert str(start.label) == "Start the restore"
        await assert_reachable(pilot, start)
        await pilot.click("#start-run")
        await until(pilot, lambda: started == ["restore"])
        desk.run_ended.set()  # the trainee's restore ended: the debrief comes
        await until(pilot, lambda: isinstance(app.screen, DebriefScreen), timeout=10)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_the_debrief_says_each_point_its_procedure_step_and_the_terms_used(
    size: tuple[int, int],
) -> None:
    desk = FakeDesk(gave_up=True)
    desk.run_ended.set()
    app = practice_app(desk)
    async with app.run_test(size=size) as pilot:
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, PracticeScreen))
        screen = app.screen
        await until(pilot, lambda: screen.query_one("#scenarios", OptionList).option_count > 0)
        menu = screen.query_one("#scenarios", OptionList)
        menu.highlighted = menu.get_option_index("weekend-outage")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DebriefScreen), timeout=10)
        debrief = app.screen
        points = debrief.query_one("#debrief-points", Static)
        terms = debrief.query_one("#debrief-terms", Static)
        for widget in (points, terms):
            await assert_reachable(pilot, widget)
            assert_whole(widget)
        text = " ".join(" ".join(shown_lines(points)).split())
        assert "MISS 0/4 No event lost" in text and "100,000 event(s) were given up" in text
        assert "Restore, step 1: remove the undelivered events" in text
        assert "after 0.6 s" in text  # the gate passed without its facts
        assert "-Drecover" in " ".join(shown_lines(terms))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, PracticeScreen))
        assert "Graded: 4/15" in text_of(app.screen.query_one("#setup-text"))


async def test_leaving_the_practice_screen_stops_watching_for_the_run() -> None:
    desk = FakeDesk()
    app = practice_app(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, PracticeScreen))
        screen = app.screen
        assert isinstance(screen, PracticeScreen)
        await until(pilot, lambda: screen.query_one("#scenarios", OptionList).option_count > 0)
        await pilot.press("enter")
        await until(pilot, lambda: screen.query_one("#start-run", Button).display)
        stop = screen.stop_watching
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, WelcomeScreen))
        assert stop.is_set()


async def test_a_run_that_stopped_is_graded_when_the_trainee_comes_back_and_only_once() -> None:
    desk = FakeDesk(gave_up=True)
    app = practice_app(desk)
    async with app.run_test(size=(80, 24)) as pilot:
        app.action_open_restore = lambda: app.push_screen(Screen())  # type: ignore[method-assign,assignment]
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, PracticeScreen))
        screen = app.screen
        assert isinstance(screen, PracticeScreen)
        menu = screen.query_one("#scenarios", OptionList)
        await until(pilot, lambda: menu.option_count > 0)
        menu.highlighted = menu.get_option_index("weekend-outage")
        await pilot.press("enter")
        await until(pilot, lambda: screen.query_one("#start-run", Button).display)
        await pilot.click("#start-run")
        await until(pilot, lambda: not isinstance(app.screen, PracticeScreen))
        desk.stopped = True  # the restore failed; the trainee leaves it
        app.pop_screen()
        await until(pilot, lambda: isinstance(app.screen, DebriefScreen))
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)
        told = text_of(screen.query_one("#setup-text"))
        assert "The run stopped: Start offers to resume it" in told
        assert screen.query_one("#start-run", Button).display
        await pilot.press("f1")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause(0.3)
        assert app.screen is screen, "the same stopped run is not debriefed twice"
