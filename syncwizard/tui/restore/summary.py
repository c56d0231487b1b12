"""What the restore did: each step's outcome, the report, the events archive, the old copies.

For each database a swap step set aside (`<db>__before_<run>`), a "Drop the old
copy" button asks its own gate (type the aside database's name) and then calls
`launcher.drop_aside(run_id, role)`. `c` copies the report's path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Static

from syncwizard.errors import SyncWizardError
from syncwizard.runbook.model import Gate, StepState
from syncwizard.tui import keys
from syncwizard.tui.restore import text as rt
from syncwizard.tui.restore.launcher import RestoreLauncher
from syncwizard.tui.runbook_text import short_path
from syncwizard.tui.screens.base import SCREENS_CSS
from syncwizard.tui.widgets.footer import WizardFooter
from syncwizard.tui.widgets.step_sidebar import MARKERS
from syncwizard.tui.widgets.title_bar import TitleBar


def steps_table(
    results: Mapping[str, Mapping[str, Any]],
    states: Mapping[str, StepState],
    titles: Mapping[str, str],
) -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for step_id, title in titles.items():
        state = states.get(step_id, StepState.PENDING)
        summary = str(results.get(step_id, {}).get("summary") or state)
        table.add_row(MARKERS[state], title, Text(summary))
    return table


CLEARED = {
    "clear": "cleared into the archive",
    "delete": "cleared into the archive, then deleted with its topic",
    "give_up": "purged: its events given up",
}


def files_table(results: Mapping[str, Mapping[str, Any]]) -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    report = results.get(rt.REPORT, {}).get("report")
    table.add_row("Report", Text(short_path(str(report)) if report else "not written"))
    cleared = results.get(rt.CLEAR_EVENTS, {})
    if cleared.get("archive"):
        where = short_path(str(cleared["archive"]))
        table.add_row("Events", Text(f"{where}: {int(cleared.get('archived') or 0):,} events"))
    if cleared.get("action"):
        how = CLEARED.get(str(cleared["action"]), str(cleared["action"]))
        said = f"{cleared.get('queue', '')} {how}"
        if cleared.get("given_up"):
            said += f"; {int(cleared['given_up']):,} events given up (lost)"
        if cleared.get("still_pending"):
            said += f"; {int(cleared['still_pending']):,} still pending"
        table.add_row("Queue", Text(said))
    for entry in results.get(rt.CLEAR_ORPHANS, {}).get("cleared") or ():
        where = short_path(str(entry.get("archive", "")))
        removed = int(entry.get("removed") or 0)
        table.add_row(
            "Orphan", Text(f"{entry.get('queue')} cleared: {removed:,} events in {where}")
        )
    for entry in results.get(rt.CLEAR_ORPHANS, {}).get("left") or ():
        pending = int(entry.get("pending") or 0)
        table.add_row("Orphan", Text(f"{entry.get('queue')} left: {pending:,} pending"))
    return table


class RestoreSummaryScreen(Screen[None]):
    BINDINGS = [keys.RESTORE_SUMMARY_COPY, keys.RESTORE_SUMMARY_BACK, keys.RESTORE_SUMMARY_DONE]
    CSS_PATH = SCREENS_CSS

    def __init__(
        self,
        launcher: RestoreLauncher,
        run_id: str,
        results: Mapping[str, Mapping[str, Any]],
        states: Mapping[str, StepState],
        titles: Mapping[str, str],
        profile: str | None,
    ) -> None:
        super().__init__()
        self.launcher = launcher
        self.run_id = run_id
        self.results = results
        self.states = states
        self.titles = titles
        self.profile = profile
        self.dropped: set[str] = set()  # roles whose old copy was dropped
        # role -> aside database name, for each swap that set one aside
        self.asides: dict[str, str] = {
            role: str(results[step]["aside"])
            for step, role in rt.SWAP_ROLES.items()
            if results.get(step, {}).get("aside")
        }

    def compose(self) -> ComposeResult:
        yield TitleBar(f"Restore {self.run_id} finished", self.profile)
        with VerticalScroll(id="restore-summary"):
            yield Static(
                Text("Restored, and the Sync Service started with recover.", style="bold"),
                id="restore-verdict",
            )
            yield Static(files_table(self.results), id="restore-files")
            with VerticalScroll(id="restore-steps") as steps:
                steps.border_title = "Steps"
                yield Static(steps_table(self.results, self.states, self.titles))
            for role, aside in self.asides.items():
                with Vertical(classes="aside-row"):
                    yield Static(self._aside_text(role, aside), id=f"aside-{role}")
                    yield Button("Drop the old copy", variant="error", id=f"drop-{role}")
        yield WizardFooter()

    def _aside_text(self, role: str, aside: str) -> Text:
        label = "Repository DB" if role == "repository_db" else "Sync DB"
        text = Text(f"{label}: old copy ", style="bold")
        text.append(aside)
        text.append(": dropped" if role in self.dropped else ": kept until you drop it")
        return text

    @on(Button.Pressed, ".aside-row Button")
    def drop_pressed(self, event: Button.Pressed) -> None:
        role = (event.button.id or "").removeprefix("drop-")
        if role in self.asides and role not in self.dropped:
            self.drop(role)

    @work(exclusive=True, group="drop", exit_on_error=False, name="dropping the old copy")
    async def drop(self, role: str) -> None:
        from syncwizard.tui.screens.gate import GateScreen

        aside = self.asides[role]
        gate = Gate(
            title=f"Drop the old copy {aside}?",
            consequences=f"The database {aside} (the {role} as it was before this restore) "
            "is dropped: the restore cannot be undone by renaming it back any more.",
            token=aside,
            facts=(("Database", aside), ("Run", self.run_id)),
            step="Summary",
        )
        if not await self.app.push_screen_wait(GateScreen(gate)):
            self.notify("nothing was dropped", title="Old copy")
            return
        try:
            await self.launcher.drop_aside(self.run_id, role)
        except SyncWizardError as exc:
            self.notify(exc.render(), title="Old copy", severity="error", markup=False)
            return
        self.dropped.add(role)
        self.query_one(f"#aside-{role}", Static).update(self._aside_text(role, aside))
        self.query_one(f"#drop-{role}", Button).disabled = True
        self.notify(f"{aside} dropped", title="Old copy")

    def action_copy_report_path(self) -> None:
        report = self.results.get(rt.REPORT, {}).get("report")
        if report:
            self.app.copy_to_clipboard(str(report))
            self.notify(f"copied {report}", title="Clipboard")

    def action_back(self) -> None:
        self.dismiss()

    def action_welcome(self) -> None:
        from syncwizard.tui.screens.welcome import WelcomeScreen

        while len(self.app.screen_stack) > 1 and not isinstance(self.app.screen, WelcomeScreen):
            self.app.pop_screen()
