"""Modals that fit the terminal: their text scrolls, their fields and buttons stay on screen.

At 80x24 a gate naming a long queue, its archive path and what it destroys is
taller than the terminal. A `FittingModal` puts its text in a scrolling body
(`.modal-body`) and gives it whatever height the box's other children (the token
field, the buttons) leave, so nothing an admin must read or press is cut off.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget

from syncwizard.tui.screens.base import SCREENS_CSS

T = TypeVar("T")
MIN_BODY = 3  # rows the text keeps however small the terminal


class FittingModal(ModalScreen[T], Generic[T]):
    """A modal with one box (a child of the screen) holding a `.modal-body` and fixed parts."""

    CSS_PATH = SCREENS_CSS

    def on_mount(self) -> None:
        self.call_after_refresh(self.fit_body)

    def on_resize(self) -> None:
        self.call_after_refresh(self.fit_body)

    def fit_body(self) -> None:
        bodies = list(self.query(".modal-body").results(VerticalScroll))
        if not bodies:
            return
        body = bodies[0]
        # The box is the screen's child holding the body: not simply its first child, as
        # the screen may hold others (Textual's notifications, tooltips) before it.
        box = next(
            (w for w in body.ancestors_with_self if isinstance(w, Widget) and w.parent is self),
            None,
        )
        if box is None:
            return
        fixed = sum(
            child.outer_size.height + child.styles.margin.height
            for child in box.children
            if child is not body and child.display
        )
        room = self.size.height - fixed - box.styles.gutter.height - body.styles.margin.height
        wanted = max(room, MIN_BODY)
        if body.styles.max_height is None or body.styles.max_height.value != wanted:
            body.styles.max_height = wanted
