"""What every dashboard panel shares: a titled border, a stale state, an error with its hint.

A panel is a scrollable container (so nothing is lost at 80x24) holding a
`PanelBody`, which shows the Rich `Text` its panel builds. Colours come from
the body's component classes, so the stylesheet (and high contrast) decides
them, not the code. Bodies are plain text lines, not Rich tables, and a body
paints through Textual's line API: on each poll it turns the new text into
lines (reusing the lines that did not change) and repaints only the lines that
differ; the layout is redone only when the number of lines changes.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

from rich.console import Console
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
    """Shows the `Text` its `build` function returns; styles via `style(name)`."""

    COMPONENT_CLASSES = STYLES
    DEFAULT_CSS = "PanelBody { height: auto; }"

    def __init__(self, build: Callable[[PanelBody], Text], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.build_content = build
        self._text: Text | None = None
        self._text_width = 0  # `width` the text was built for
        self._restyled = False  # the stylesheet changed since the text was built
        self._lines: list[Strip] = []
        self._lines_of: tuple[Text | None, int, Style | None] = (None, 0, None)
        self._line_cache: dict[Hashable, list[Strip]] = {}

    def style(self, name: str) -> Style:
        return self.get_component_rich_style(f"panel--{name}", partial=True)

    @property
    def width(self) -> int:
        return max(self.content_region.width, 20)

    def render(self) -> Text:
        return self.build_content(self)

    def show(self, text: Text) -> None:
        """Show `text`: repaint the lines that changed, redo the layout if their number did."""
        if text == self._text:
            return
        self._text, self._text_width = text, self.width
        if self._lines_of[0] is None or not self.size:
            self.refresh(layout=True)  # not painted yet
            return
        before = self._lines
        after = self._lines_for(text, self.size.width)
        if len(after) != len(before):
            self.refresh(layout=True)
            return
        width = self.size.width
        changed = [Region(0, y, width, 1) for y, line in enumerate(after) if line != before[y]]
        if changed:
            self.refresh(*changed)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._restyled = True  # the component colours baked into the text may be old

    def _current_text(self) -> Text:
        """The text to paint: rebuilt after a resize or a restyle, else the last one shown."""
        if self._text is None or self._restyled or self._text_width != self.width:
            self._restyled = False
            self._text, self._text_width = self.build_content(self), self.width
        return self._text

    def _lines_for(self, text: Text, width: int) -> list[Strip]:
        """`text` as lines of `width` cells on this body's background; unchanged lines reused."""
        base = self.visual_style.rich_style
        if self._lines_of == (text, width, base):
            return self._lines
        if self._lines_of[1:] != (width, base):
            self._line_cache.clear()
        console = self.app.console
        cache: dict[Hashable, list[Strip]] = {}
        lines: list[Strip] = []
        for line in text.split("\n", allow_blank=True):
            key = (line.plain, tuple(line.spans), line.style)
            strips = cache.get(key) or self._line_cache.get(key)
            if strips is None:
                strips = line_strips(line, width, base, console)
            cache[key] = strips
            lines.extend(strips)
        self._lines, self._lines_of, self._line_cache = lines, (text, width, base), cache
        return lines

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._lines_for(self._current_text(), width)) if width else 0

    def render_lines(self, crop: Region) -> list[Strip]:
        # Once per paint (render_line runs per line): bring the lines up to date.
        self._lines_for(self._current_text(), self.size.width)
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        if 0 <= y < len(self._lines):
            return self._lines[y]
        return Strip.blank(self.size.width, self.visual_style.rich_style)


def line_strips(line: Text, width: int, base: Style, console: Console) -> list[Strip]:
    """One line of text as strips of `width` cells: one, or more if it has to wrap."""
    parts = [line] if line.cell_len <= width else list(line.wrap(console, max(width, 1)))
    return [
        Strip(list(part.render(console)), part.cell_len)
        .apply_style(base)
        .adjust_cell_length(width, base)
        for part in parts
    ]


class StatusPanel(VerticalScroll):
    """A bordered panel for one or more systems; subclasses build the body's content."""

    def __init__(self, title: str, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="panel")
        self.border_title = title
        self.border_subtitle = "waiting for the first answer"
        self.body = PanelBody(self.build, id=f"{id}-body" if id else None)
        self.now = 0.0

    def compose(self) -> ComposeResult:
        yield self.body

    def build(self, body: PanelBody) -> Text:
        raise NotImplementedError

    def redraw(self, now: float) -> None:
        """Show the body as of `now`; only what changed is repainted (ages tick, values don't)."""
        self.now = now
        self.body.show(self.build(self.body))

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
