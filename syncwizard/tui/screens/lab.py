"""The practice lab screen: how to bring the lab up, and what of it runs on this machine.

What runs is read by a `LabState` the app is handed by the entry point (cli.py,
tui/__main__.py: lab/look.py's `what_runs`): the TUI never imports the lab.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from syncwizard.tui import keys
from syncwizard.tui.screens.base import SCREENS_CSS, WizardScreen
from syncwizard.tui.widgets.footer import WizardFooter
from syncwizard.tui.widgets.title_bar import TitleBar

if TYPE_CHECKING:
    from syncwizard.config import Settings

ABOUT = (
    "On 127.0.0.1 only: PostgreSQL with a repository DB and a Sync DB, ActiveMQ with "
    "Jolokia and STOMP, a Sync Service stand-in, an event generator. Rehearse here "
    "before production. In another terminal:"
)
COMMANDS = (
    ("syncwizard lab up", "start it, write the lab profile"),
    ("syncwizard lab generate --rate 50 --for 30s", "make events flow"),
    ("syncwizard --profile lab", "this wizard, on the lab"),
    ("syncwizard lab status", "what runs, drift between DBs"),
    ("syncwizard lab down", "stop it (the data is kept)"),
)
REFRESH = 2.0  # seconds between re-reads of the lab's state


# What of the lab is on this machine, one line each (blocking: reads small files, no network).
LabState = Callable[[], list[str]]
NOT_HANDED = "lab folder: not looked at (this wizard was started without the lab's state)"


def profile_line(settings: Settings | None) -> str:
    if settings is not None and "lab" in settings.profiles:
        current = " (in use)" if settings.profile.name == "lab" else ""
        return f"profile: `lab` is in {settings.config_path}{current}"
    return "profile: no `lab` profile yet (`syncwizard lab up` writes it)"


class LabScreen(WizardScreen):
    BINDINGS = [keys.BACK]
    CSS_PATH = SCREENS_CSS

    def __init__(self, settings: Settings | None, lab_state: LabState | None) -> None:
        super().__init__()
        self.settings = settings
        self.lab_state = lab_state

    def compose(self) -> ComposeResult:
        yield TitleBar("Practice lab", self.settings.profile.name if self.settings else None)
        with VerticalScroll(id="lab"):
            yield Static(ABOUT, id="lab-about")
            table = Table.grid(padding=(0, 2))
            table.add_column(no_wrap=True, style="bold")
            table.add_column()
            for command, what in COMMANDS:
                table.add_row(command, what)
            yield Static(table, id="lab-commands")
            yield Static("reading the lab's state...", id="lab-state", classes="panel")
        yield WizardFooter()

    def on_mount(self) -> None:
        self.query_one("#lab-state").border_title = "On this machine"
        self.refresh_state()
        self.set_interval(REFRESH, self.refresh_state)

    @work(exclusive=True, group="lab-state", exit_on_error=False, name="reading the lab state")
    async def refresh_state(self) -> None:
        lines = [profile_line(self.settings)]
        if self.lab_state is None:
            lines.append(NOT_HANDED)
        else:
            lines += await asyncio.to_thread(self.lab_state)
        self.query_one("#lab-state", Static).update(Text("\n".join(lines)))

    def action_back(self) -> None:
        self.dismiss()
