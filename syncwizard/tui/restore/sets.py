"""Choose the backup set to restore; and the prompt for an unfinished restore run.

`SetChooserScreen(sets, backup_dir, profile)` is a Screen answering the chosen
SetListing, or None (Esc). Every set is listed, newest first: time, size, sync
GUID, tool version, status. A set that cannot be restored (no manifest, a
damaged one, dumps out of order) is greyed with its reason and Enter on it
only says why. The highlighted set's details are shown under the table.
Checksums are verified by the first restore step, not here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, DataTable, Static

from syncwizard.runbook.journal import RunRecord
from syncwizard.runbook.restore.step_names import GUID_TOKEN_LENGTH
from syncwizard.tui import formatting, keys
from syncwizard.tui.backup.summary import moment_text
from syncwizard.tui.restore import text as rt
from syncwizard.tui.restore.leave import state_text
from syncwizard.tui.runbook_text import short_path
from syncwizard.tui.screens.base import SCREENS_CSS
from syncwizard.tui.screens.resume_prompt import ResumePromptScreen, describe_run
from syncwizard.tui.widgets.footer import WizardFooter
from syncwizard.tui.widgets.title_bar import TitleBar

if TYPE_CHECKING:
    from syncwizard.runbook.restore.sets import SetListing

HOW = (
    "Resume continues at that step: what is done stays done; each step is shown before "
    "it runs. Start afresh abandons that run (its files and any aside databases stay)."
)


def choosable(listing: SetListing) -> bool:
    return listing.sealed and listing.choosable


def status_text(listing: SetListing) -> str:
    if choosable(listing):
        return "sealed"
    return listing.problem or "not sealed"


class SetChooserScreen(Screen[Any]):
    BINDINGS = [keys.SETS_CHOOSE, keys.SETS_BACK]
    CSS_PATH = SCREENS_CSS

    def __init__(self, sets: Sequence[SetListing], backup_dir: str, profile: str | None) -> None:
        super().__init__()
        self.sets = list(sets)
        self.backup_dir = backup_dir
        self.profile = profile
        self.table: DataTable[Text] = DataTable(
            id="sets-table", cursor_type="row", zebra_stripes=True
        )
        self.details = Static("", id="sets-details")

    def compose(self) -> ComposeResult:
        yield TitleBar("Restore: choose a backup set", self.profile)
        with Vertical(id="sets"):
            intro = Text("Backup sets in ", style="bold")
            intro.append(short_path(self.backup_dir))
            intro.append(
                f": {len(self.sets)} found, newest first. Enter chooses; greyed sets "
                "cannot be restored."
                if self.sets
                else ": none found. Check backup.dir in the profile, or run a backup first."
            )
            yield Static(intro, id="sets-intro")
            self.table.border_title = "Backup sets"
            yield self.table
            yield self.details
        yield WizardFooter()

    def on_mount(self) -> None:
        table = self.table
        table.add_column("Sealed at (UTC)", key="time")
        table.add_column("Size", key="size")
        table.add_column("Sync GUID", key="guid")
        table.add_column("Tool", key="tool")
        table.add_column("Status", key="status")
        for number, listing in enumerate(self.sets):
            style = "" if choosable(listing) else "dim italic"
            size = listing.total_bytes
            guid = listing.sync_id
            table.add_row(
                Text(
                    moment_text(listing.created_at or None).removesuffix(" UTC"),
                    style=style,
                ),
                Text(formatting.size(size) if size else "-", style=style, justify="right"),
                Text(guid[:GUID_TOKEN_LENGTH] + "…" if guid else "?", style=style),
                Text(listing.tool_version or "?", style=style),
                Text(status_text(listing), style=style or "bold", no_wrap=True),
                key=str(number),
            )
        first = next((n for n, s in enumerate(self.sets) if choosable(s)), 0)
        if self.sets:
            table.move_cursor(row=first)
            self._show_details(first)
        table.focus()

    def _listing(self, row: int) -> SetListing | None:
        return self.sets[row] if 0 <= row < len(self.sets) else None

    @on(DataTable.RowHighlighted, "#sets-table")
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_details(event.cursor_row)

    def _show_details(self, row: int) -> None:
        listing = self._listing(row)
        if listing is None:
            self.details.update("")
            return
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        grid.add_row("Folder", Text(short_path(str(listing.path))))
        grid.add_row("Sync GUID", Text(listing.sync_id or "?"))
        for number, dump in enumerate(listing.dumps):
            size = formatting.size(int(dump.get("size_bytes", 0) or 0))
            line = (
                f"{dump.get('path')}: {dump.get('database', '?')}, {size}, "
                f"snapshot {moment_text(dump.get('snapshot_at_iso'))}"
            )
            grid.add_row("Dumps" if number == 0 else "", Text(line))
        if not choosable(listing):
            grid.add_row("Cannot", Text(status_text(listing), style="bold"))
        self.details.update(grid)
        self.details.set_class(not choosable(listing), "-unusable")

    @on(DataTable.RowSelected, "#sets-table")
    def selected(self, event: DataTable.RowSelected) -> None:
        self._choose(event.cursor_row)

    def action_choose_set(self) -> None:
        self._choose(self.table.cursor_row)

    def _choose(self, row: int) -> None:
        listing = self._listing(row)
        if listing is None:
            return
        if not choosable(listing):
            self.notify(
                f"{listing.run_id} cannot be restored: {status_text(listing)}",
                title="Backup set",
                severity="warning",
                markup=False,
            )
            return
        self.dismiss(listing)

    def action_back(self) -> None:
        self.dismiss(None)


class RestoreResumePromptScreen(ResumePromptScreen):
    """The backup's resume prompt, worded for a restore run."""

    def __init__(self, record: RunRecord, titles: Mapping[str, str]) -> None:
        super().__init__(record, titles)

    def compose(self) -> ComposeResult:
        with Vertical(id="resume-prompt") as box:
            box.border_title = "Unfinished restore run"
            text = describe_run(self.record, self.titles)
            where = self.record.header.get("set_dir")
            if where and not self.record.header.get("backup_set"):
                text.append("\nRestoring ", style="bold")
                text.append(short_path(str(where)))
            left = rt.left_state(
                self.record.states, self.record.results, self.record.records, self.titles
            )
            if left:
                text.append("\n")
                text.append(state_text(left))
            with VerticalScroll(id="resume-body", classes="modal-body"):
                yield Static(text, id="resume-run")
                yield Static(HOW, id="resume-how")
            with Horizontal(id="resume-buttons"):
                yield Button("Resume", variant="primary", id="resume")
                yield Button("Start afresh", variant="warning", id="afresh")
                yield Button("Cancel", id="cancel")
