"""Hand the compositor a widget's lines again when nothing in the widget changed.

On every frame Textual asks each widget that shares the screen region of the
update for its lines, even when only a sparkline deep inside another panel
changed; for a widget with nothing new its styles cache rebuilds the same
list from the same cached lines. With a dozen such widgets on the dashboard
that was half of each tick's paint. A widget that changes marks lines of its
styles cache dirty (that is what `refresh` does), so while no line is dirty
and the request is the same, the last answer is still right.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from textual.containers import Horizontal
from textual.filter import ANSIToTruecolor, LineFilter
from textual.geometry import Region
from textual.strip import Strip

from syncwizard.tui.widgets.footer import WizardFooter

if TYPE_CHECKING:
    from textual.widget import Widget

    MixinBase = Widget
else:
    MixinBase = object  # not a DOM node: Textual takes CSS type names from the first DOM base


class StableLines(MixinBase):
    """Mixin: put it first, `class Panel(StableLines, VerticalScroll)`."""

    _stable: tuple[object, list[Strip]] | None = None

    def render_lines(self, crop: Region) -> list[Strip]:
        cache = self._styles_cache
        key = (crop, self.size, len(cache._cache), tuple(self.get_line_filters()))
        stable = self._stable
        if stable is not None and stable[0] == key and not cache._dirty_lines:
            return stable[1]
        lines = super().render_lines(crop)
        self._stable = (key, lines)
        return lines


class TrueColorLines(MixinBase):
    """Mixin for widgets that paint only true colours (theme and CSS colours, blends of them).

    Textual runs every new line through a filter that turns ANSI colours into
    true colours; lines with none gain nothing from it, and a sparkline's
    lines are new, and full of segments, every poll.
    """

    def get_line_filters(self) -> Sequence[LineFilter]:
        filters = super().get_line_filters()
        return [
            line_filter for line_filter in filters if not isinstance(line_filter, ANSIToTruecolor)
        ]


class StableHorizontal(StableLines, Horizontal):
    """A `Horizontal` whose own (background) lines are handed out again while unchanged."""


class StableFooter(StableLines, WizardFooter):
    """A `Footer` whose own lines are handed out again while unchanged."""
