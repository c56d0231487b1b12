"""Shown over everything while the terminal is smaller than the app needs."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.geometry import Size
from textual.screen import ModalScreen
from textual.widgets import Static

MIN_WIDTH, MIN_HEIGHT = 80, 24


def too_small(size: Size) -> bool:
    return size.width < MIN_WIDTH or size.height < MIN_HEIGHT


def notice(size: Size, quit_keys: str) -> str:
    return (
        f"This terminal is {size.width}x{size.height}.\n"
        f"syncwizard needs at least {MIN_WIDTH}x{MIN_HEIGHT}.\n\n"
        "Enlarge the window (or make the font smaller);\n"
        f"this notice goes away by itself. {quit_keys} quits."
    )


class MinSizeScreen(ModalScreen[None]):
    def __init__(self, size: Size) -> None:
        super().__init__()
        self.terminal_size = size

    def compose(self) -> ComposeResult:
        yield Static(notice(self.terminal_size, self._quit_keys()), id="min-size")

    def show_size(self, size: Size) -> None:
        self.terminal_size = size
        self.query_one("#min-size", Static).update(notice(size, self._quit_keys()))

    def _quit_keys(self) -> str:
        shown = [
            self.app.get_key_display(active.binding.with_key(key))
            for key, active in self.active_bindings.items()
            if active.binding.action == "quit"
        ]
        return " or ".join(shown) or "ctrl+q"
