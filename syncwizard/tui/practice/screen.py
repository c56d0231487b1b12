"""The scenario list: a ticket per scenario, Enter resets the lab and sets it up, then the
trainee runs the real backup or restore; the debrief comes when that run has ended.

Everything of the lab goes through the `PracticeDesk` the entry point handed the app;
its blocking watch runs in a thread worker, stopped when another scenario is set up or
the screen is left.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Button, OptionList, Static
from textual.widgets.option_list import Option

from syncwizard.tui import keys
from syncwizard.tui.screens.base import SCREENS_CSS, WizardScreen
from syncwizard.tui.widgets.footer import WizardFooter
from syncwizard.tui.widgets.title_bar import TitleBar

if TYPE_CHECKING:
    from syncwizard.config import Settings
    from syncwizard.practice import Debrief, PracticeDesk, ScenarioCard, SetUp


@runtime_checkable
class HoldsSettings(Protocol):
    """The app as this screen sees it: the settings its runbooks open with (the app's own
    module is not imported here: it imports this one)."""

    settings: Settings | None


STARS = {1: "*", 2: "**", 3: "***"}
CHOOSE = "Enter resets the practice lab to its initial data and sets the scenario up."
RUNBOOK_ACTIONS = {"backup": "open_backup", "restore": "open_restore"}


def card_prompt(card: ScenarioCard) -> Text:
    text = Text(f"{STARS.get(card.difficulty, '?'):<4}", style="bold")
    text.append(card.title, style="bold")
    text.append(f"\n    {card.runbook}, {card.best}", style="dim")
    return text


class PracticeScreen(WizardScreen):
    BINDINGS = [keys.BACK]
    CSS_PATH = SCREENS_CSS

    def __init__(self, settings: Settings | None, desk: PracticeDesk) -> None:
        super().__init__()
        self.settings = settings
        self.desk = desk
        self.cards: list[ScenarioCard] = []
        self.setup: SetUp | None = None
        self.stop_watching = threading.Event()
        self.last_shown: tuple[str, float, bool] | None = None

    def compose(self) -> ComposeResult:
        yield TitleBar("Practice", self.settings.profile.name if self.settings else None)
        with VerticalScroll(id="practice"):
            yield OptionList(id="scenarios")
            yield Static("", id="ticket", classes="panel")
            with Vertical(id="practice-setup", classes="panel"):
                yield Static(CHOOSE, id="setup-text")
                yield Button("Start", id="start-run", variant="primary")
        yield WizardFooter()

    def on_mount(self) -> None:
        self.query_one("#ticket").border_title = "Ticket"
        self.query_one("#practice-setup").border_title = "The lab"
        self.query_one("#start-run").display = False
        self.query_one("#scenarios").focus()
        self.load_scenarios()

    def on_screen_resume(self) -> None:
        self.load_scenarios()  # a best result may have changed
        if self.setup is not None and not self.stop_watching.is_set():
            self.grade_if_stopped(self.setup)

    @work(exclusive=True, group="practice-stopped", exit_on_error=False, name="grading")
    async def grade_if_stopped(self, setup: SetUp) -> None:
        """Back from the wizard with the run stopped (failed, cancelled): the trainee has
        left it, so it is graded now. Resumed and finished later, it is graded again."""
        debrief = await asyncio.to_thread(self.desk.grade_stopped, setup)
        if debrief is not None and setup is self.setup:
            self.show_debrief(debrief, final=False)

    @work(exclusive=True, group="practice-list", exit_on_error=False, name="listing scenarios")
    async def load_scenarios(self) -> None:
        self.cards = await asyncio.to_thread(self.desk.scenarios)
        menu = self.query_one("#scenarios", OptionList)
        highlighted = menu.highlighted or 0
        menu.clear_options()
        menu.add_options([Option(card_prompt(card), id=card.id) for card in self.cards])
        menu.highlighted = min(highlighted, len(self.cards) - 1) if self.cards else None

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        card = next((c for c in self.cards if c.id == event.option_id), None)
        if card is not None:
            self.query_one("#ticket", Static).update(card.ticket)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_id is not None:
            self.set_up(event.option_id)

    @work(exclusive=True, group="practice-setup", exit_on_error=False, name="setting up")
    async def set_up(self, scenario_id: str) -> None:
        self.stop_watching.set()  # the run of a scenario set up before is not graded
        self.setup = None
        text = self.query_one("#setup-text", Static)
        start = self.query_one("#start-run", Button)
        start.display = False
        text.update("Resetting the lab and setting the scenario up...")
        try:
            setup = await self.desk.set_up(scenario_id)
        except Exception:
            text.update(CHOOSE)
            raise  # told by the screens' one error path
        card = next(c for c in self.cards if c.id == scenario_id)
        self.setup = setup
        text.update("\n".join(setup.lines) + f"\n\nNow run the {card.runbook} as the ticket asks.")
        start.label = f"Start the {card.runbook}"
        start.display = True
        self.call_after_refresh(start.focus)  # focus scrolls it into view, once laid out
        self.stop_watching = threading.Event()
        self.watch_run(setup, self.stop_watching)

    @work(thread=True, exclusive=True, group="practice-watch", exit_on_error=False, name="grading")
    def watch_run(self, setup: SetUp, stop: threading.Event) -> None:
        debrief = self.desk.watch(setup, stop)
        if debrief is not None and not stop.is_set():
            self.app.call_from_thread(self.show_debrief, debrief)

    def show_debrief(self, debrief: Debrief, *, final: bool = True) -> None:
        """`final`: the run finished (or was abandoned); else it stopped and may be resumed."""
        from syncwizard.tui.practice.debrief import DebriefScreen

        shown = (debrief.run_id, debrief.seconds, final)
        if shown == self.last_shown:  # back from the debrief (or F1): nothing new
            return
        self.last_shown = shown
        graded = f"Graded: {debrief.earned}/{debrief.possible}."
        if final:
            self.query_one("#start-run").display = False
            self.query_one("#setup-text", Static).update(f"{graded} {CHOOSE}")
        else:
            self.query_one("#setup-text", Static).update(
                f"{graded} The run stopped: Start offers to resume it, and it is graded "
                f"again when it finishes. {CHOOSE}"
            )
        profile = self.settings.profile.name if self.settings else None
        self.app.push_screen(DebriefScreen(debrief, profile))

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        card = next((c for c in self.cards if self.setup and c.id == self.setup.scenario), None)
        if event.button.id == "start-run" and card is not None:
            if self.setup is not None and self.setup.profile_changes:
                self._read_profile_again()
            await self.app.run_action(RUNBOOK_ACTIONS[card.runbook])

    def _read_profile_again(self) -> None:
        """The scenario rewrote the lab profile (e.g. a second node in health.other_nodes):
        the backup or restore must run with it, not with what the app read at its start."""
        from syncwizard.config import load_settings

        app = self.app
        if isinstance(app, HoldsSettings) and app.settings is not None:
            app.settings = load_settings(app.settings.config_path, app.settings.profile.name)
            self.settings = app.settings

    def on_unmount(self) -> None:
        self.stop_watching.set()

    def action_back(self) -> None:
        self.stop_watching.set()
        self.dismiss()
