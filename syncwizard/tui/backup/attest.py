"""The snapshot time of a repository DB backed up outside syncwizard (Oracle, SQL Server),
asked before a backup starts: what `backup --external-repository-backup` takes on the
command line. `AttestScreen` answers the time (seconds since the epoch), or None on Esc /
Cancel: then no run starts. A time that is not ISO 8601 with its offset, or is in the
future, is refused on the spot, saying what is expected."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Static

from syncwizard.errors import SyncWizardError
from syncwizard.tui import keys
from syncwizard.tui.screens.fitting import FittingModal

WHY = (
    "syncwizard does not dump {vendor}: take the repository DB's backup with the vendor's "
    "tool first (the README's 'Oracle and SQL Server' has the commands), then give the "
    "time its snapshot was taken. Give a time at or after the backup's consistency point "
    "(Data Pump: its FLASHBACK_SCN's time; SQL Server: the backup's finish): the wait then "
    "covers every change it holds."
)


class AttestScreen(FittingModal["float | None"]):
    BINDINGS = [keys.ATTEST_CANCEL]

    def __init__(self, vendor: str) -> None:
        super().__init__()
        self.vendor = vendor
        self.time_input = Input(placeholder="2026-11-26T03:00:00+01:00", id="attest-time")
        self.problem = Static("", id="attest-problem")

    def compose(self) -> ComposeResult:
        with Vertical(id="attest") as box:
            box.border_title = f"Repository DB on {self.vendor}: its backup"
            with VerticalScroll(id="attest-body", classes="modal-body"):
                yield Static(Text(WHY.format(vendor=self.vendor)), id="attest-why")
                yield Static("Snapshot time (ISO 8601 with its UTC offset)", classes="attest-label")
                yield self.time_input
                yield self.problem
            with Horizontal(id="attest-buttons"):
                yield Button("Cancel", id="attest-cancel")
                yield Button("Start the backup", variant="primary", id="attest-ok")

    def on_mount(self) -> None:
        super().on_mount()
        self.time_input.focus()

    @on(Input.Submitted, "#attest-time")
    @on(Button.Pressed, "#attest-ok")
    def answered(self) -> None:
        from syncwizard.runbook.backup.options import parse_attested_time

        try:
            at = parse_attested_time(self.time_input.value)
        except SyncWizardError as exc:
            self.problem.update(Text(f"{exc.message}: {exc.hint}", style="bold"))
            return
        self.dismiss(at)

    @on(Button.Pressed, "#attest-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
