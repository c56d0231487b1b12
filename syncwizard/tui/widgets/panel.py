"""What every dashboard panel shares: a titled border, a stale state, an error with its hint.

A panel is a scrollable container (so nothing is lost at 80x24) holding a
`PanelBody`, which shows the `StyledLines` its panel builds. Colours come from
the body's component classes, so the stylesheet (and high contrast) decides
them, not the code. Bodies are plain text lines, not Rich tables, and a body
paints through Textual's line API: on each poll it turns the new lines into
strips (reusing those of the lines that did not change) and repaints only the
lines that differ; the layout is redone only when the number of lines changes.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

from syncwizard.errors import SyncWizardError
from syncwizard.tui import formatting
from syncwizard.tui.model import Observed
from syncwizard.tui.widgets.stable_lines import StableLines, TrueColorLines
from syncwizard.tui.widgets.styled_lines import Line, StyledLines, line_strips

T = TypeVar("T")

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


class PanelBody(StableLines, TrueColorLines, Widget):
    """Shows the lines its `build` function returns; styles via `style(name)`."""

    COMPONENT_CLASSES = STYLES
    DEFAULT_CSS = "PanelBody { height: auto; }"

    def __init__(self, build: Callable[[PanelBody], StyledLines], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.build_content = build
        self._shown: tuple[Line, ...] | None = None  # the lines last shown
        self._shown_width = 0  # `width` they were built for
        self._restyled = False  # the stylesheet changed since they were built
        self._strips: list[Strip] = []
        self._strips_of: tuple[tuple[Line, ...] | None, int, Style | None] = (None, 0, None)
        self._line_cache: dict[Line, list[Strip]] = {}
        self._styles: dict[str, Style] = {}

    def style(self, name: str) -> Style:
        # Textual forgets its own copy at every repaint; these change only with the stylesheet.
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self.get_component_rich_style(
                f"panel--{name}", partial=True
            )
        return style

    @property
    def width(self) -> int:
        return max(self.content_region.width, 20)

    def render(self) -> Text:
        return self.build_content(self).to_text()

    def show(self, content: StyledLines) -> None:
        """Show `content`: repaint the lines that changed, redo the layout if their number did."""
        lines = content.lines
        if lines == self._shown:
            return
        self._shown, self._shown_width = lines, self.width
        if self._strips_of[0] is None or not self.size:
            self.refresh(layout=True)  # not painted yet
            return
        width = self.size.width
        before = self._strips
        after = self._strips_for(lines, width)
        if len(after) != len(before):
            self.refresh(layout=True)
            return
        changed = [Region(0, y, width, 1) for y, strip in enumerate(after) if strip != before[y]]
        if changed:
            self.refresh(*changed)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._restyled = True  # the component colours baked into the lines may be old

    def _current_lines(self) -> tuple[Line, ...]:
        """The lines to paint: rebuilt after a resize or a restyle, else the last ones shown."""
        if self._shown is None or self._restyled or self._shown_width != self.width:
            self._restyled = False
            self._shown, self._shown_width = self.build_content(self).lines, self.width
        return self._shown

    def _strips_for(self, lines: tuple[Line, ...], width: int) -> list[Strip]:
        """`lines` as strips of `width` cells on this body's background; unchanged ones reused."""
        base = self.visual_style.rich_style
        if self._strips_of == (lines, width, base):
            return self._strips
        if self._strips_of[1:] != (width, base):
            self._line_cache.clear()
        console = self.app.console
        cache: dict[Line, list[Strip]] = {}
        strips: list[Strip] = []
        for line in lines:
            line_strips_ = cache.get(line) or self._line_cache.get(line)
            if line_strips_ is None:
                line_strips_ = line_strips(line, width, base, console)
            cache[line] = line_strips_
            strips.extend(line_strips_)
        self._strips, self._strips_of, self._line_cache = strips, (lines, width, base), cache
        return strips

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._strips_for(self._current_lines(), width)) if width else 0

    def render_lines(self, crop: Region) -> list[Strip]:
        # Once per paint (render_line runs per line): bring the strips up to date.
        self._strips_for(self._current_lines(), self.size.width)
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        if 0 <= y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self.size.width, self.visual_style.rich_style)


class StatusPanel(StableLines, VerticalScroll):
    """A bordered panel for one or more systems; subclasses build the body's content."""

    def __init__(self, title: str, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="panel")
        self.border_title = title
        self.border_subtitle = "waiting for the first answer"
        self.body = PanelBody(self.build, id=f"{id}-body" if id else None)
        self.now = 0.0
        self._built_from: Hashable = None  # view_key() and width of the last build

    def compose(self) -> ComposeResult:
        yield self.body

    def build(self, body: PanelBody) -> StyledLines:
        raise NotImplementedError

    def view_key(self) -> Hashable:
        """Everything `build` reads but the width and the styles; `None`: build every time."""
        return None

    def redraw(self, now: float) -> None:
        """Show the body as of `now`; only what changed is repainted (ages tick, values don't).

        A poll that brings nothing new (the usual case) is not even built.
        """
        self.now = now
        key = self.view_key()
        built_from = None if key is None else (key, self.body.width)
        if built_from is not None and built_from == self._built_from:
            return
        self._built_from = built_from
        self.body.show(self.build(self.body))

    def set_titles(self, title: str, subtitle: str) -> None:
        """Set the border texts only when they change: each change repaints the whole panel."""
        if self.border_title != title:
            self.border_title = title
        if self.border_subtitle != subtitle:
            self.border_subtitle = subtitle

    def mark(self, observed: Observed[T] | list[Observed[T]]) -> None:
        """Set -stale / -down from one or several systems."""
        views = observed if isinstance(observed, list) else [observed]
        self.set_class(any(v.stale for v in views), "-stale")
        self.set_class(any(v.error is not None and v.value is None for v in views), "-down")


def state_line(observed: Observed[T], now: float) -> str:
    """The border subtitle for one system: fresh, stale with age, down, or waiting."""
    age = formatting.age(observed.age(now))
    if observed.error is not None:
        return f"STALE - last answer {age}" if observed.value is not None else "no answer"
    if observed.value is None:
        return "waiting for the first answer"
    return f"answered {age}"


def error_key(error: SyncWizardError | None) -> Hashable:
    return None if error is None else (error.message, error.hint)


def append_error(text: StyledLines, body: PanelBody, error: SyncWizardError) -> None:
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
