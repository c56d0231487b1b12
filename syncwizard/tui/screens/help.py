"""F1: the keys of the screen underneath, as the keymap has them, with what they do; and
the glossary of the words the screens use."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from syncwizard.glossary import TERMS
from syncwizard.tui import keys
from syncwizard.tui.screens.base import SCREENS_CSS

KEYMAP_NOTE = (
    "Also: Tab moves between panels, the arrows and PgUp/PgDn scroll the one in focus, "
    "ctrl+p opens the command palette.\n"
    "Keys can be changed in the config file, by binding id:\n"
    '[ui.keymap]\n"dashboard.copy_guid" = "y"'
)


def bindings_table(screen: Screen[object]) -> Table:
    """One row per action: its keys, what it does, and its binding id."""
    app = screen.app
    rows: dict[tuple[str, str], list[str]] = {}
    described: dict[tuple[str, str], tuple[str, str]] = {}
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if not binding.id:  # widget keys (scrolling, lists) are summed up below the table
            continue
        row = (binding.id or "", binding.action)
        rows.setdefault(row, []).append(app.get_key_display(binding.with_key(key)))
        described[row] = (binding.description, binding.tooltip)
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True, style="bold")
    table.add_column()
    table.add_column(no_wrap=True, style="dim")
    for row, shown_keys in rows.items():
        description, tooltip = described[row]
        table.add_row(" ".join(shown_keys), tooltip or description, row[0])
    return table


def glossary_table() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True, style="bold")
    table.add_column()
    for term in TERMS:
        table.add_row(term.name, term.meaning)
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [keys.CLOSE_HELP]
    CSS_PATH = SCREENS_CSS

    def __init__(self, under: Screen[object]) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help", classes="panel") as box:
            box.border_title = "Keys and glossary"
            box.border_subtitle = "Esc closes"
            yield Static(bindings_table(self.under), id="help-keys")
            yield Static(KEYMAP_NOTE, id="help-keymap")
            yield Static("Glossary", id="help-glossary-title")
            yield Static(glossary_table(), id="help-glossary")

    def action_dismiss_help(self) -> None:
        self.dismiss()
