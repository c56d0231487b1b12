"""One line of plain text, painted from a cached line: for a label that changes every poll.

A `Static` turns its text into a visual on every update; this keeps one
`Strip`, rebuilt only when the text, the width or the colours change.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from syncwizard.tui.widgets.stable_lines import TrueColorLines


class LineLabel(TrueColorLines, Widget):
    """`text` on one line, in the widget's own colours, cut at its width."""

    DEFAULT_CSS = "LineLabel { height: 1; }"

    def __init__(self, text: str = "", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._text = text
        self._line = Strip([])
        self._line_of: tuple[str, int, Style] | None = None

    @property
    def text(self) -> str:
        return self._text

    def update(self, text: str) -> None:
        if text != self._text:
            self._text = text
            self.refresh()  # one line, same size: no layout

    def render(self) -> str:
        return self._text

    def render_line(self, y: int) -> Strip:
        width, base = self.size.width, self.visual_style.rich_style
        if y != 0:
            return Strip.blank(width, base)
        if self._line_of != (self._text, width, base):
            self._line = Strip([Segment(self._text, base)]).adjust_cell_length(width, base)
            self._line_of = (self._text, width, base)
        return self._line
