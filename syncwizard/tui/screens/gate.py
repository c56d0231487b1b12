"""The type-to-confirm gate of a destructive step (subiquity's "Confirm destructive action").

`GateScreen(gate)` is a ModalScreen[bool]: it says what exactly is destroyed,
and Confirm (red) stays disabled until the user has typed the gate's token
(e.g. the database name). Focus starts on Cancel; Esc means no. The gate's
`facts` (names, counts, sizes) are listed as a table, and the step asking is
named in the border. A runbook
screen awaits it from the engine's `confirm(gate)` coroutine:

    async def confirm(gate: Gate) -> bool:
        return await app.push_screen_wait(GateScreen(gate))   # inside a worker
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Static

from syncwizard.runbook.model import Gate
from syncwizard.tui import keys
from syncwizard.tui.runbook_text import short_path
from syncwizard.tui.screens.fitting import FittingModal

NO_GOING_BACK = "This cannot be undone."


def facts_table(facts: tuple[tuple[str, str], ...]) -> Table:
    """What exactly is destroyed, one (label, value) row each; values are shown as they
    are (a command's `[`, a message id's `:-1:` are not markup or emoji codes), a path in
    the home folder as `~/...` (room at 80 columns)."""
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for label, value in facts:
        table.add_row(label, Text(short_path(value)))
    return table


class GateScreen(FittingModal[bool]):
    BINDINGS = [keys.GATE_REFUSE]

    def __init__(self, gate: Gate) -> None:
        super().__init__()
        self.gate = gate
        self.token_input = Input(placeholder=f"type {gate.token}", id="gate-token")
        self.confirm_button = Button("Confirm", variant="error", id="gate-confirm", disabled=True)
        self.cancel_button = Button("Cancel", id="gate-cancel")
        self.mismatch = Static("", id="gate-mismatch")

    def compose(self) -> ComposeResult:
        with Vertical(id="gate") as box:
            box.border_title = (
                "Confirm destructive action" if self.gate.destructive else "Confirm before going on"
            )
            if self.gate.step:
                box.border_subtitle = f"step: {self.gate.step}"
            with VerticalScroll(id="gate-body", classes="modal-body"):
                yield Static(Text(self.gate.title, style="bold"), id="gate-title")
                if self.gate.facts:
                    yield Static(facts_table(self.gate.facts), id="gate-facts")
                yield Static(Text(self.gate.consequences), id="gate-consequences")
                prompt = Text(f"{self.gate.undo or NO_GOING_BACK} To go on, type ")
                prompt.append(self.gate.token, style="bold")
                prompt.append(" below:")
                yield Static(prompt, id="gate-prompt")
            yield self.token_input
            yield self.mismatch
            with Horizontal(id="gate-buttons"):
                yield self.cancel_button
                yield self.confirm_button

    def on_mount(self) -> None:
        super().on_mount()
        # Typing the token is the one thing to do here; Enter does nothing until it matches
        # (so a second Enter after the step's Run is harmless), Esc cancels.
        self.mismatch.display = False
        self.token_input.focus()

    @property
    def matches(self) -> bool:
        return self.token_input.value == self.gate.token

    @on(Input.Changed, "#gate-token")
    def token_changed(self) -> None:
        self.confirm_button.disabled = not self.matches
        if self.mismatch.display and self.gate.token.startswith(self.token_input.value):
            self.mismatch.display = False  # on the way to the token again
            self.call_after_refresh(self.fit_body)

    @on(Input.Submitted, "#gate-token")
    def token_submitted(self) -> None:
        if self.matches:
            self.dismiss(True)
            return
        typed = self.token_input.value
        said = Text()
        if typed:
            said.append(typed, style="bold")
            said.append(" does not match. ")
        else:
            said.append("Nothing typed yet. ")
        said.append("Type ")
        said.append(self.gate.token, style="bold")
        said.append(" exactly to go on, or press Esc to cancel.")
        self.mismatch.update(said)
        self.mismatch.display = True
        self.call_after_refresh(self.fit_body)

    @on(Button.Pressed, "#gate-confirm")
    def confirmed(self) -> None:
        if self.matches:  # a disabled button sends nothing; this guards a race with typing
            self.dismiss(True)

    @on(Button.Pressed, "#gate-cancel")
    def action_refuse(self) -> None:
        self.dismiss(False)
