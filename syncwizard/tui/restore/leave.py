"""Asked when Esc would leave a restore that has changed things (services stopped, a queue
cleared, a database swapped): it says in what state the systems stay, then Stay or Leave.

A ModalScreen[bool]: True leaves. Focus starts on Stay, so a second Esc or a reflex Enter
never leaves the systems half restored without a word.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Static

from syncwizard.tui.screens.fitting import FittingModal

RESUME_NOTE = (
    "The run waits to be resumed: choose Restore on the welcome screen (or run "
    "`syncwizard runs`). Nothing is undone by leaving."
)


def state_text(lines: Sequence[str]) -> Text:
    text = Text("Left as it is now:", style="bold")
    for line in lines:
        text.append(f"\n- {line}")
    return text


class LeaveRestoreScreen(FittingModal[bool]):
    BINDINGS = [
        Binding("escape,n", "stay", "Stay", id="leave.stay", tooltip="Stay in the restore"),
        Binding("y", "leave", "Leave", id="leave.leave", tooltip="Leave the restore as it is"),
    ]

    def __init__(self, lines: Sequence[str]) -> None:
        super().__init__()
        self.lines = list(lines)

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-cancel") as box:
            box.border_title = "Leave the restore?"
            with VerticalScroll(id="leave-body", classes="modal-body"):
                yield Static(
                    Text("The restore is not finished.", style="bold"), id="confirm-question"
                )
                yield Static(state_text(self.lines), id="leave-state")
                yield Static(RESUME_NOTE, id="confirm-consequences")
            with Horizontal(id="confirm-buttons"):
                yield Button("Stay", variant="primary", id="stay")
                yield Button("Leave as it is", variant="warning", id="leave")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#stay", Button).focus()

    @on(Button.Pressed, "#stay")
    def action_stay(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed, "#leave")
    def action_leave(self) -> None:
        self.dismiss(True)
