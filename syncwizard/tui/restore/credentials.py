"""The repository admin user and password for the recover start: asked, held in memory
only for that start, then wiped.

`ask_recover_credentials` asks them just before the recover start runs, in
`CredentialsScreen` (a modal answering `Credentials`, or None on Esc / Cancel: then
nothing starts). The password field is masked and emptied as soon as it is answered, so
no later screenshot holds it. The answer goes into the run's RestoreChoices, which never
journals it and whose repr hides the password; `forget_recover_password` wipes it when the
step ends (however it ends) and when the screen leaves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Static

from syncwizard.tui import keys
from syncwizard.tui.restore.text import PASSWORD_NOTE
from syncwizard.tui.screens.fitting import FittingModal

if TYPE_CHECKING:
    from textual.app import App

    from syncwizard.runbook.restore.choices import RestoreChoices


@dataclass(frozen=True)
class Credentials:
    user: str
    password: str = field(repr=False)


class CredentialsScreen(FittingModal[Credentials | None]):
    BINDINGS = [keys.CREDENTIALS_CANCEL]

    def __init__(self, user: str = "admin") -> None:
        super().__init__()
        self.user_input = Input(user, placeholder="repository admin user", id="credentials-user")
        self.password_input = Input(
            password=True, placeholder="password", id="credentials-password"
        )
        self.ok_button = Button("Use these", variant="primary", id="credentials-ok", disabled=True)

    def compose(self) -> ComposeResult:
        with Vertical(id="credentials") as box:
            box.border_title = "Repository admin for -Drecover"
            with VerticalScroll(id="credentials-body", classes="modal-body"):
                yield Static(
                    Text(
                        "The recover start logs in to the repository as an admin user.",
                        style="bold",
                    ),
                    id="credentials-why",
                )
                yield Static("User", classes="credentials-label")
                yield self.user_input
                yield Static("Password", classes="credentials-label")
                yield self.password_input
                yield Static(PASSWORD_NOTE, id="credentials-note")
            with Horizontal(id="credentials-buttons"):
                yield Button("Cancel", id="credentials-cancel")
                yield self.ok_button

    def on_mount(self) -> None:
        super().on_mount()
        self.password_input.focus()

    @property
    def complete(self) -> bool:
        return bool(self.user_input.value.strip() and self.password_input.value)

    @on(Input.Changed)
    def changed(self) -> None:
        self.ok_button.disabled = not self.complete

    @on(Input.Submitted, "#credentials-user")
    def user_submitted(self) -> None:
        self.password_input.focus()

    @on(Input.Submitted, "#credentials-password")
    @on(Button.Pressed, "#credentials-ok")
    def answered(self) -> None:
        if not self.complete:
            return
        answer = Credentials(self.user_input.value.strip(), self.password_input.value)
        self.password_input.value = ""
        self.dismiss(answer)

    @on(Button.Pressed, "#credentials-cancel")
    def action_cancel(self) -> None:
        self.password_input.value = ""
        self.dismiss(None)


async def ask_recover_credentials(app: App[object], choices: RestoreChoices) -> bool:
    """Ask the user (the one given last, else admin) and the password into `choices`.
    False when the admin cancelled: the recover start must not run."""
    answer = await app.push_screen_wait(CredentialsScreen(choices.recover_user or "admin"))
    if answer is None:
        return False
    choices.recover_user = answer.user
    choices.recover_password = answer.password
    return True


def forget_recover_password(choices: RestoreChoices | None) -> None:
    """The password was for one start: gone once its step ended or the screen leaves."""
    if choices is not None:
        choices.recover_password = None
