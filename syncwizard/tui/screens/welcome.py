"""The first screen: what syncwizard does, which profile and config it uses, where to go.

Kept small on purpose: it is the screen whose first paint is benchmarked, so
it imports no client and composes a handful of widgets.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from syncwizard.errors import SyncWizardError
from syncwizard.tui import keys
from syncwizard.tui.screens.base import WizardScreen
from syncwizard.tui.widgets.footer import WizardFooter
from syncwizard.tui.widgets.title_bar import TitleBar

if TYPE_CHECKING:
    from syncwizard.config import Settings

INTRO = (
    "Guides a backup or a restore of the Alfresco Sync Service: the repository DB, "
    "the Sync Service's event queue on ActiveMQ, and the Sync DB, in the right order."
)
MENU_HINT = "Enter opens the highlighted choice. F1 lists every key."
BACKUP_TEXT = "repository DB, wait for the Sync Service, Sync DB, seal"
RESTORE_TEXT = "choose a set, clear events, both DBs, start with recover"
PRACTICE_TEXT = "training scenarios on the lab, graded with a debrief"
NO_CONFIG_FIX = (
    "To practise first: `syncwizard lab up` starts a local stack and writes a `lab` profile.\n"
    "For your own systems: `syncwizard config init` writes a commented template to fill in."
)


def _choice(title: str, description: str, *, later: bool = False) -> Text:
    text = Text(f"{title:<13}", style="bold")
    if later:
        text.append("coming next  ", style="italic")
    text.append(description)
    return text


class WelcomeScreen(WizardScreen):
    BINDINGS = [
        keys.WELCOME_BACKUP,
        keys.WELCOME_RESTORE,
        keys.WELCOME_STATUS,
        keys.WELCOME_LAB,
        keys.WELCOME_PRACTICE,
        keys.WELCOME_COPY_PATH,
    ]

    def __init__(
        self,
        settings: Settings | None,
        settings_error: SyncWizardError | None,
        *,
        practice: bool = False,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.settings_error = settings_error
        self.practice = practice  # training scenarios offered: the lab profile is in use

    def compose(self) -> ComposeResult:
        settings = self.settings
        yield TitleBar("Welcome", settings.profile.name if settings else None)
        with Vertical(id="welcome"):
            yield Static(INTRO, id="intro")
            yield Static(self._where(), id="where", classes="-error" if not settings else "")
            yield OptionList(
                Option(
                    _choice(
                        "Backup",
                        BACKUP_TEXT if settings else "needs a config file (see above)",
                    ),
                    id="backup",
                    disabled=settings is None,
                ),
                Option(
                    _choice(
                        "Restore",
                        RESTORE_TEXT if settings else "needs a config file (see above)",
                    ),
                    id="restore",
                    disabled=settings is None,
                ),
                Option(
                    _choice(
                        "Status",
                        "live health checks, queue counters and databases"
                        if settings
                        else "needs a config file (see above)",
                    ),
                    id="status",
                    disabled=settings is None,
                ),
                Option(_choice("Practice lab", "a local stack to rehearse on"), id="lab"),
                *(
                    [Option(_choice("Practice", PRACTICE_TEXT), id="practice")]
                    if self.practice
                    else []
                ),
                id="menu",
            )
            yield Static(MENU_HINT, id="menu-hint")
        yield WizardFooter()

    def _where(self) -> Text:
        if self.settings is None:
            error = self.settings_error
            text = Text("No usable config: ", style="bold")
            text.append(error.message if error else "none was loaded")
            if error and error.hint:
                text.append(f"\nhint: {error.hint}")
            if not error or "lab up" not in error.hint:
                text.append(f"\n{NO_CONFIG_FIX}")
            return text
        profile = self.settings.profile.name
        others = [p for p in self.settings.profiles if p != profile]
        text = Text("Profile  ", style="bold")
        text.append(profile)
        if others:
            text.append(f"  (also: {', '.join(others)}; choose with --profile)")
        text.append("\nConfig   ", style="bold")
        text.append(str(self.settings.config_path))
        return text

    def on_mount(self) -> None:
        menu = self.query_one(OptionList)
        menu.highlighted = menu.get_option_index("status" if self.settings else "lab")

    def on_screen_resume(self) -> None:
        if self.settings is not None:
            self.look_for_unfinished_backup()  # a backup may have stopped, or finished, since
            self.look_for_unfinished_restore()

    @work(exclusive=True, group="unfinished", exit_on_error=False, name="unfinished runs")
    async def look_for_unfinished_backup(self) -> None:
        """Say on the Backup choice whether an unfinished run waits (read off the event loop)."""
        from syncwizard.tui.backup.launcher import find_unfinished_backup

        record = await asyncio.to_thread(find_unfinished_backup)
        text = BACKUP_TEXT
        if record is not None:
            text = f"resume or abandon the unfinished run {record.run_id}"
        option = self.query_one(OptionList)
        if str(option.get_option("backup").prompt) != str(_choice("Backup", text)):
            option.replace_option_prompt("backup", _choice("Backup", text))

    @work(exclusive=True, group="unfinished-restore", exit_on_error=False, name="unfinished runs")
    async def look_for_unfinished_restore(self) -> None:
        """Say on the Restore choice whether an unfinished restore run waits."""
        from syncwizard.tui.restore.launcher import find_unfinished_restore

        record = await asyncio.to_thread(find_unfinished_restore)
        text = RESTORE_TEXT
        if record is not None:
            text = f"resume or abandon the unfinished run {record.run_id}"
        option = self.query_one(OptionList)
        if str(option.get_option("restore").prompt) != str(_choice("Restore", text)):
            option.replace_option_prompt("restore", _choice("Restore", text))

    async def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_id in ("backup", "restore", "status", "lab", "practice"):
            await self.app.run_action(f"open_{event.option_id}")

    def action_copy_config_path(self) -> None:
        if self.settings is not None:
            path = str(self.settings.config_path)
        else:
            from syncwizard.paths import config_file

            path = str(config_file())
        self.app.copy_to_clipboard(path)
        self.notify(f"copied {path}", title="Clipboard")
