"""What every dashboard panel shares: a titled border, a stale state, an error with its hint.

A panel is a scrollable container (so nothing is lost at 80x24) holding a
`PanelBody`, which renders the Rich text its panel builds. Colours come from
the body's component classes, so the stylesheet (and high contrast) decides
them, not the code.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.console import RenderableType
from rich.style import Style
from rich.text import Text
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

    def __init__(self, build: Callable[[PanelBody], RenderableType], *, id: str | None = None):
        super().__init__(id=id)
        self._build = build

    def style(self, name: str) -> Style:
        return self.get_component_rich_style(f"panel--{name}", partial=True)

    @property
    def width(self) -> int:
        return max(self.content_region.width, 20)

    def render(self) -> RenderableType:
        return self._build(self)


class StatusPanel(VerticalScroll):
    """A bordered panel for one or more systems; subclasses build the body's content."""

    def __init__(self, title: str, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="panel")
        self.border_title = title
        self.border_subtitle = "waiting for the first answer"
        self.body = PanelBody(self.build, id=f"{id}-body" if id else None)
        self.now = 0.0

    def compose(self):  # type: ignore[no-untyped-def]
        yield self.body

    def build(self, body: PanelBody) -> RenderableType:
        raise NotImplementedError

    def redraw(self, now: float) -> None:
        self.now = now
        self.body.refresh(layout=True)

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


def error_text(body: PanelBody, error: SyncWizardError) -> Text:
    text = Text(error.message, style=body.style("error"))
    if error.hint:
        text.append("\nhint: ", style=body.style("label"))
        text.append(error.hint, style=body.style("hint"))
    return text
