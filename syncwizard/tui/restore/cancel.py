"""Asked before a running restore step is cancelled (Esc, Ctrl+C, or quitting mid-step).

The backup's ConfirmCancelScreen (a ModalScreen[bool], True cancels, focus on "Keep
going"), worded for a restore step: what stopping it leaves behind.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Static

from syncwizard.tui.screens.confirm_cancel import ConfirmCancelScreen

CONSEQUENCES = (
    "The running step is stopped and cleans up after itself (a half-restored scratch "
    "database is dropped; the live database is never left half done). The journal says so "
    "and the step can be run again."
)


class RestoreCancelScreen(ConfirmCancelScreen):
    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-cancel") as box:
            box.border_title = "Cancel?"
            question = "Cancel this step and quit?" if self.then_quit else "Cancel this step?"
            with VerticalScroll(id="confirm-body", classes="modal-body"):
                yield Static(Text(question, style="bold"), id="confirm-question")
                if self.step_title:
                    yield Static(f"Running now: {self.step_title}", id="confirm-step")
                yield Static(CONSEQUENCES, id="confirm-consequences")
            with Horizontal(id="confirm-buttons"):
                yield Button("Keep going", variant="primary", id="keep-going")
                yield Button(
                    "Cancel and quit" if self.then_quit else "Cancel the step",
                    variant="error",
                    id="cancel-backup",
                )
