"""The Textual app: welcome screen first, the status dashboard and the lab screen on demand.

Start-up stays light: this module imports no client. The dashboard module (and
through the poller, httpx and psycopg) is imported when Status is opened. The app's
stylesheet holds only what the welcome screen paints; the other screens bring theirs
(screens/base.py, SCREENS_CSS).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.app import App, SystemCommand
from textual.screen import Screen

from syncwizard.errors import SyncWizardError
from syncwizard.tui import keys
from syncwizard.tui.screens.min_size import MinSizeScreen, too_small
from syncwizard.tui.screens.welcome import WelcomeScreen

if TYPE_CHECKING:
    from textual import events
    from textual.geometry import Size

    from syncwizard.config import Settings
    from syncwizard.practice import PracticeDesk
    from syncwizard.runbook.journal import RunRecord
    from syncwizard.tui.backup.launcher import RunLauncher
    from syncwizard.tui.restore.launcher import RestoreLauncher
    from syncwizard.tui.screens.lab import LabState
    from syncwizard.tui.source import SourceFactory

HIGH_CONTRAST = "-high-contrast"


class SyncWizardApp(App[int]):
    CSS_PATH = "syncwizard.tcss"
    TITLE = "syncwizard"
    BINDINGS = [keys.QUIT, keys.FORCE_QUIT, keys.HELP, keys.HIGH_CONTRAST]

    def __init__(
        self,
        settings: Settings | None,
        settings_error: SyncWizardError | None = None,
        *,
        source_factory: SourceFactory | None = None,
        clock: Callable[[], float] = time.time,
        poll_interval: float | None = None,
        lab_state: LabState | None = None,
        backup_launcher: RunLauncher | None = None,
        restore_launcher: RestoreLauncher | None = None,
        start: str | None = None,
        practice: PracticeDesk | None = None,
    ) -> None:
        super().__init__()
        self.start = start  # "status": open the dashboard over the welcome screen
        self.backup_launcher = backup_launcher
        self.restore_launcher = restore_launcher
        self.settings = settings
        self.settings_error = settings_error
        self.source_factory = source_factory
        self.clock = clock
        self.poll_interval = poll_interval or (settings.ui.poll_interval if settings else 1.0)
        self.lab_state = lab_state  # handed by the entry point: the TUI never imports the lab
        # Training scenarios, offered while the lab profile is in use (also handed over).
        self.practice = practice if settings and settings.profile.name == "lab" else None
        self.size_notice: MinSizeScreen | None = None

    def get_default_screen(self) -> Screen[None]:
        return WelcomeScreen(self.settings, self.settings_error, practice=self.practice is not None)

    def on_mount(self) -> None:
        if self.settings is not None:
            self._apply_keymap(dict(self.settings.ui.keymap))
            self.set_class(self.settings.ui.high_contrast, HIGH_CONTRAST)
        self._check_size(self.size)
        if self.start == "status" and self.settings is not None:
            self.call_after_refresh(self.action_open_status)

    def _apply_keymap(self, keymap: dict[str, str]) -> None:
        unknown = sorted(set(keymap) - keys.IDS)
        if unknown:
            self.notify(
                f"[ui.keymap] has no binding {unknown[0]!r}; the ids are: "
                + ", ".join(sorted(keys.IDS)),
                title="Config",
                severity="warning",
                markup=False,
            )
        self.set_keymap({k: v for k, v in keymap.items() if k in keys.IDS})

    def on_resize(self, event: events.Resize) -> None:
        # Runs before App's own handler, so `self.size` is still the old size here.
        self._check_size(event.size)

    def _check_size(self, size: Size) -> None:
        """Show the min-size notice while the terminal is below 80x24, drop it after."""
        notice = self.size_notice
        if too_small(size):
            if notice is None:
                self.size_notice = MinSizeScreen(size)
                self.push_screen(self.size_notice)
            else:
                notice.show_size(size)
        elif notice is not None:
            self.size_notice = None
            if self.screen is notice:
                self.pop_screen()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.size_notice is not None and action not in ("quit", "help_quit"):
            return False
        if action in ("open_status", "open_backup", "open_restore") and self.settings is None:
            return None  # shown dimmed: Status and Backup need a config
        return True

    @property
    def high_contrast(self) -> bool:
        return self.has_class(HIGH_CONTRAST)

    def action_toggle_high_contrast(self) -> None:
        self.toggle_class(HIGH_CONTRAST)
        self.notify(f"high contrast {'on' if self.high_contrast else 'off'}", timeout=2)

    def action_help(self) -> None:
        from syncwizard.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_open_status(self) -> None:
        if self.settings is None:
            return
        from syncwizard.tui.screens.dashboard import DashboardScreen
        from syncwizard.tui.source import poller_factory

        if self._show_existing(DashboardScreen):
            return
        self.push_screen(
            DashboardScreen(
                self.settings,
                self.source_factory or poller_factory(self.settings),
                interval=self.poll_interval,
                clock=self.clock,
            )
        )

    def action_open_backup(self) -> None:
        if self.settings is None:
            return
        from syncwizard.tui.backup.screen import BackupScreen

        if self._show_existing(BackupScreen):
            return
        self._open_backup()

    @work(exclusive=True, group="open-backup", exit_on_error=False, name="opening the backup")
    async def _open_backup(self) -> None:
        """Offer to resume an unfinished backup run (or start afresh), then open the wizard."""
        from syncwizard.tui.backup.launcher import BackupLauncher
        from syncwizard.tui.backup.screen import BackupScreen
        from syncwizard.tui.screens.resume_prompt import ResumePromptScreen
        from syncwizard.tui.source import poller_factory

        settings = self.settings
        if settings is None:
            return
        launcher = self.backup_launcher or BackupLauncher(settings.profile)

        proceed, record = await self._resume_or_afresh(launcher, "Backup", ResumePromptScreen)
        if not proceed:
            return
        await self.push_screen(
            BackupScreen(
                settings,
                launcher,
                self.source_factory or poller_factory(settings),
                resume=record,
                interval=self.poll_interval,
                clock=self.clock,
            )
        )

    async def _resume_or_afresh(
        self,
        launcher: RunLauncher | RestoreLauncher,
        title: str,
        prompt: Callable[[RunRecord, dict[str, str]], Screen[str]],
    ) -> tuple[bool, RunRecord | None]:
        """The newest unfinished run of `launcher`'s runbook, offered to resume (or abandoned
        for a fresh one): (go on?, the run to resume). A run another process drives, or a
        prompt answered with Esc, does not go on."""
        from syncwizard.tui.screens.resume_prompt import AFRESH, RESUME

        def unfinished() -> tuple[RunRecord | None, str]:
            record = launcher.find_unfinished()
            return record, record.status() if record is not None else ""

        try:
            record, status = await asyncio.to_thread(unfinished)
        except SyncWizardError as error:
            self.notify(error.render(), title=title, severity="error", markup=False)
            return False, None
        if record is None:
            return True, None
        if status == "running":
            self.notify(
                f"{title.lower()} run {record.run_id} is being driven by another syncwizard "
                "process; wait for it to finish (`syncwizard runs` shows it)",
                title=title,
                severity="warning",
                markup=False,
            )
            return False, None
        try:
            titles = await launcher.step_titles(record)
        except SyncWizardError:
            titles = {}
        choice = await self.push_screen_wait(prompt(record, titles))
        if choice not in (RESUME, AFRESH):
            return False, None
        if choice == AFRESH:
            await asyncio.to_thread(launcher.abandon, record, "a new run was started from the TUI")
            return True, None
        return True, record

    def action_open_restore(self) -> None:
        if self.settings is None:
            return
        from syncwizard.tui.restore.screen import RestoreScreen

        if self._show_existing(RestoreScreen):
            return
        self._open_restore()

    @work(exclusive=True, group="open-restore", exit_on_error=False, name="opening the restore")
    async def _open_restore(self) -> None:
        """Offer to resume an unfinished restore run, else let the admin choose a backup set;
        then open the wizard."""
        from syncwizard.tui.restore.launcher import RealRestoreLauncher
        from syncwizard.tui.restore.screen import RestoreScreen
        from syncwizard.tui.restore.sets import (
            RestoreResumePromptScreen,
            SetChooserScreen,
        )
        from syncwizard.tui.source import poller_factory

        settings = self.settings
        if settings is None:
            return
        launcher = self.restore_launcher or RealRestoreLauncher(settings.profile)

        proceed, record = await self._resume_or_afresh(
            launcher, "Restore", RestoreResumePromptScreen
        )
        if not proceed:
            return
        set_dir: Path | None = None
        if record is None:
            try:
                sets = await launcher.list_sets()
            except SyncWizardError as error:
                self.notify(error.render(), title="Restore", severity="error", markup=False)
                return
            chosen = await self.push_screen_wait(
                SetChooserScreen(sets, settings.profile.backup.dir, settings.profile.name)
            )
            if chosen is None:
                return
            set_dir = Path(chosen.path)
        await self.push_screen(
            RestoreScreen(
                settings,
                launcher,
                self.source_factory or poller_factory(settings),
                set_dir=set_dir,
                resume=record,
                interval=self.poll_interval,
                clock=self.clock,
            )
        )

    def action_open_lab(self) -> None:
        from syncwizard.tui.screens.lab import LabScreen

        if self._show_existing(LabScreen):
            return
        self.push_screen(LabScreen(self.settings, self.lab_state))

    def action_open_practice(self) -> None:
        if self.practice is None:
            return
        from syncwizard.tui.practice.screen import PracticeScreen

        if self._show_existing(PracticeScreen):
            return
        self.push_screen(PracticeScreen(self.settings, self.practice))

    def _show_existing(self, kind: type[Screen[None]]) -> bool:
        """Go back to a screen of `kind` already open (from the palette or help), if any."""
        existing = next((s for s in self.screen_stack if isinstance(s, kind)), None)
        if existing is None:
            return False
        if existing is not self.screen:
            existing.pop_until_active()
        return True

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if self.settings is not None:
            yield SystemCommand(
                "Status dashboard", "Live health, queue and databases", self.action_open_status
            )
            yield SystemCommand(
                "Backup", "Back up the repository DB and the Sync DB", self.action_open_backup
            )
            yield SystemCommand(
                "Restore",
                "Restore both DBs from a backup set and start with recover",
                self.action_open_restore,
            )
        yield SystemCommand(
            "Practice lab", "How to bring up the practice lab", self.action_open_lab
        )
        if self.practice is not None:
            yield SystemCommand(
                "Practice", "Training scenarios on the lab, graded", self.action_open_practice
            )
        yield SystemCommand(
            "High contrast", "Toggle strong colours", self.action_toggle_high_contrast
        )
        yield SystemCommand("Keys", "List the keys of this screen (F1)", self.action_help)


def run_tui(
    settings: Settings | None,
    settings_error: SyncWizardError | None = None,
    *,
    start: str | None = None,
    lab_state: LabState | None = None,
    practice: PracticeDesk | None = None,
) -> int:
    """Run the TUI until the user quits (on the dashboard with `start="status"`); the exit
    status for the CLI. `lab_state` reads what of the practice lab runs, for its screen."""
    app = SyncWizardApp(
        settings, settings_error, start=start, lab_state=lab_state, practice=practice
    )
    result = app.run()
    return result if isinstance(result, int) else (app.return_code or 0)
