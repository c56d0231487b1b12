"""What every dashboard panel shares: a titled border, a stale state, an error with its hint.

A panel is a scrollable container (so nothing is lost at 80x24) holding a
`PanelBody`, which renders the Rich `Text` its panel builds. Colours come from
the body's component classes, so the stylesheet (and high contrast) decides
them, not the code. Bodies are plain text lines, not Rich tables: a redraw
every second must stay cheap, and the layout is only recomputed when the
number of lines can have changed.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widget import Widget

from syncwizard.errors import SyncWizardError
from syncwizard.tui import formatting
from syncwizard.tui.model import Observed

STYLES = {
    "panel--label",
    "panel--value",
    "panel--stale",
    "panel--error",
    "panel--hint",
    "panel--healthy",
    "panel--unhealthy",
    "panel--unknown",
    "panel--heading",
}


class PanelBody(Widget):
    """Renders what its `build` function returns; styles via `style(name)`."""

    COMPONENT_CLASSES = STYLES
    DEFAULT_CSS = "PanelBody { height: auto; }"

    def __init__(self, build: Callable[[PanelBody], Text], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.build_content = build

    def style(self, name: str) -> Style:
        return self.get_component_rich_style(f"panel--{name}", partial=True)

    @property
    def width(self) -> int:
        return max(self.content_region.width, 20)

    def render(self) -> Text:
        return self.build_content(self)


class StatusPanel(VerticalScroll):
    """A bordered panel for one or more systems; subclasses build the body's content."""

    def __init__(self, title: str, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="panel")
        self.border_title = title
        self.border_subtitle = "waiting for the first answer"
        self.body = PanelBody(self.build, id=f"{id}-body" if id else None)
        self.now = 0.0
        self._shape: Hashable = None
        self._shown: Text | None = None

    def compose(self) -> ComposeResult:
        yield self.body

    def build(self, body: PanelBody) -> Text:
        raise NotImplementedError

    def shape(self) -> Hashable:
        """What decides the body's number of lines; the layout is redone when it changes."""
        raise NotImplementedError

    def redraw(self, now: float) -> None:
        """Repaint the body if what it shows changed (ages tick every second, values don't)."""
        self.now = now
        shown = self.build(self.body)
        if shown == self._shown:
            return
        shape = self.shape()
        self.body.refresh(layout=shape != self._shape)
        self._shown, self._shape = shown, shape

    def set_titles(self, title: str, subtitle: str) -> None:
        """Set the border texts only when they change: each change repaints the whole panel."""
        if self.border_title != title:
            self.border_title = title
        if self.border_subtitle != subtitle:
            self.border_subtitle = subtitle

    def mark(self, observed: Observed[object] | list[Observed[object]]) -> None:
        """Set -stale / -down from one or several systems."""
        views = observed if isinstance(observed, list) else [observed]
        self.set_class(any(v.stale for v in views), "-stale")
        self.set_class(any(v.error is not None and v.value is None for v in views), "-down")


def state_line(observed: Observed[object], now: float) -> str:
    """The border subtitle for one system: fresh, stale with age, down, or waiting."""
    age = formatting.age(observed.age(now))
    if observed.error is not None:
        return f"STALE - last answer {age}" if observed.value is not None else "no answer"
    if observed.value is None:
        return "waiting for the first answer"
    return f"answered {age}"


def error_shape(error: SyncWizardError | None) -> Hashable:
    return None if error is None else (error.message, error.hint)


def append_error(text: Text, body: PanelBody, error: SyncWizardError) -> None:
    if text:
        text.append("\n")
    text.append(error.message, style=body.style("error"))
    if error.hint:
        text.append("\nhint: ", style=body.style("label"))
        text.append(error.hint, style=body.style("hint"))


def fit(value: str, width: int) -> str:
    """`value` cut to `width` with an ellipsis, so a line never wraps."""
    if len(value) <= width:
        return value
    return value[: max(width - 1, 0)] + "…" if width > 0 else ""
