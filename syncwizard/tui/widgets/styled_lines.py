"""Lines of styled text, built up run by run: what a dashboard panel body shows.

A panel rebuilds its whole body every poll. Building a Rich `Text` and
splitting it into lines again cost more than the rest of the redraw, so a
panel appends plain `(text, style)` runs here instead, and each finished line
is a tuple that compares (and hashes) cheaply, so a body can tell which lines
changed since the last poll.
"""

from __future__ import annotations

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

Run = tuple[str, Style | None]
Line = tuple[Run, ...]

# Control characters (a remote message could carry an escape sequence) are dropped; a tab,
# which would break the column widths, becomes a space; newlines split lines.
UNPRINTABLE: dict[int, str | None] = {code: None for code in [*range(0x20), 0x7F]}
UNPRINTABLE[0x09] = " "
del UNPRINTABLE[0x0A]


class StyledLines:
    """`append(text, style)` like a Rich `Text`; a newline in `text` starts a new line."""

    def __init__(self) -> None:
        self._lines: list[list[Run]] = [[]]

    def append(self, text: str, style: Style | None = None) -> StyledLines:
        first, *more = text.translate(UNPRINTABLE).split("\n")
        if first:
            self._lines[-1].append((first, style))
        for part in more:
            self._lines.append([(part, style)] if part else [])
        return self

    def __bool__(self) -> bool:
        return len(self._lines) > 1 or bool(self._lines[0])

    @property
    def lines(self) -> tuple[Line, ...]:
        return tuple(tuple(line) for line in self._lines)

    @property
    def plain(self) -> str:
        return "\n".join("".join(run for run, _ in line) for line in self._lines)

    def to_text(self) -> Text:
        """The same lines as one Rich `Text` (for tests, selection and copying)."""
        text = Text(end="")
        for number, line in enumerate(self._lines):
            if number:
                text.append("\n")
            for run, style in line:
                text.append(run, style)
        return text


def line_strips(line: Line, width: int, base: Style, console: Console) -> list[Strip]:
    """One line as strips of `width` cells on `base`: one, or more if it has to wrap."""
    runs = [Segment(run, base + style if style else base) for run, style in line]
    strip = Strip(runs)
    if strip.cell_length <= width:
        return [strip.adjust_cell_length(width, base)]
    text = Text(end="")
    for run, style in line:
        text.append(run, style)
    return [
        Strip(list(part.render(console))).apply_style(base).adjust_cell_length(width, base)
        for part in text.wrap(console, max(width, 1))
    ]
