"""Asked before a running backup is cancelled (Esc, Ctrl+C, or quitting mid-run).

A ModalScreen[bool]: True cancels. Focus starts on "Keep going", so a second
Esc or an Enter pressed by reflex never stops a dump.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Static

from syncwizard.tui import keys
from syncwizard.tui.screens.fitting import FittingModal

QUESTION = "Cancel the backup?"
CONSEQUENCES = (
    "The running dump is stopped and its partial files removed. What is done stays done: "
    "the run is journaled as cancelled and can be resumed later from this step."
)


class ConfirmCancelScreen(FittingModal[bool]):
    """Worded for the backup; a runbook's own question sets the words below."""

    BINDINGS = [keys.CANCEL_NO, keys.CANCEL_YES]
    QUESTION = QUESTION
    QUIT_QUESTION = "Cancel the backup and quit?"
    CANCEL_LABEL = "Cancel the backup"
    CONSEQUENCES = CONSEQUENCES

    def __init__(self, *, step_title: str | None = None, then_quit: bool = False) -> None:
        super().__init__()
        self.step_title = step_title
        self.then_quit = then_quit

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-cancel") as box:
            box.border_title = "Cancel?"
            question = self.QUIT_QUESTION if self.then_quit else self.QUESTION
            with VerticalScroll(id="confirm-body", classes="modal-body"):
                yield Static(Text(question, style="bold"), id="confirm-question")
                if self.step_title:
                    yield Static(f"Running now: {self.step_title}", id="confirm-step")
                yield Static(self.CONSEQUENCES, id="confirm-consequences")
            with Horizontal(id="confirm-buttons"):
                yield Button("Keep going", variant="primary", id="keep-going")
                yield Button(
                    "Cancel and quit" if self.then_quit else self.CANCEL_LABEL,
                    variant="error",
                    id="cancel-backup",
                )

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#keep-going", Button).focus()

    @on(Button.Pressed, "#keep-going")
    def action_keep_going(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#cancel-backup")
    def action_cancel_backup(self) -> None:
        self.dismiss(True)
