"""A sparkline that costs next to nothing to repaint: its lines are built once per change.

It draws what Textual's `Sparkline` draws (bars of `▁▂▃▄▅▆▇█` over the
widget's height, coloured from the min colour to the max colour by value),
but Textual's renders every cell through Rich on every repaint, which was most
of the dashboard's CPU per tick. This one is a line-API widget: it builds its
`Strip`s when the data, its size or its colours change, and hands out the
cached lines otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby

from rich.color import Color as RichColor
from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from syncwizard.tui.widgets.stable_lines import TrueColorLines

BARS = "▁▂▃▄▅▆▇█"
LEVELS = len(BARS)
MAX_STYLES = 1024  # blended styles kept between paints


def blend(low: RichColor, high: RichColor, ratio: float) -> RichColor:
    """The colour `ratio` of the way from `low` to `high` (Textual's sparkline blend)."""
    if low.triplet is None or high.triplet is None:
        return high
    r1, g1, b1 = low.triplet
    r2, g2, b2 = high.triplet
    return RichColor.from_rgb(
        r1 + (r2 - r1) * ratio, g1 + (g2 - g1) * ratio, b1 + (b2 - b1) * ratio
    )


def column_ratios(data: Sequence[float], width: int) -> list[float]:
    """Each column's height as a fraction of the data's range: the max of its bucket.

    The data is spread over the whole width (fewer points than columns repeat),
    or each column summarises a bucket of points (more points than columns).
    """
    count = len(data)
    buckets = [
        data[count * number // width : count * (number + 1) // width] for number in range(width)
    ]
    summaries = [max(bucket) for bucket in buckets if bucket]
    low, high = min(data), max(data)
    extent = high - low or 1
    step = len(summaries) / width
    ratios = []
    index = 0.0
    for _ in range(width):
        ratios.append((summaries[int(index)] - low) / extent)
        index += step
    return ratios


def sparkline_rows(
    data: Sequence[float],
    width: int,
    height: int,
    base: Style,
    low: RichColor,
    high: RichColor,
    styles: dict[float, Style] | None = None,
) -> list[Strip]:
    """The sparkline's lines, top first; runs of one style are one segment.

    `styles` keeps the style blended for each height between calls with the
    same `base`, `low` and `high` (heights recur from one poll to the next).
    """
    if width <= 0 or height <= 0:
        return []
    blank = Strip.blank(width, base)
    if not data:
        return [blank] * (height - 1) + [Strip([Segment("▁" * width, base + Style(color=low))])]
    if len(data) == 1:
        return [Strip([Segment("█" * width, base + Style(color=high))])] * height
    ratios = column_ratios(data, width)
    top_level = LEVELS * height - 1
    levels = [int(ratio * top_level) for ratio in ratios]
    styles = {} if styles is None else styles
    if len(styles) > MAX_STYLES:
        styles.clear()  # heights that have not recurred: start again
    for ratio in ratios:
        if ratio not in styles:
            styles[ratio] = base + Style(color=blend(low, high, ratio))
    highest = max(levels)
    # Each column top down: blanks, the partial block of its top row, full blocks below.
    columns = [
        " " * (height - 1 - full) + BARS[part] + "█" * full
        for full, part in (divmod(level, LEVELS) for level in levels)
    ]
    texts = map("".join, zip(*columns, strict=True))  # the rows, top first
    rows = []
    for row, text in zip(reversed(range(height)), texts, strict=True):
        floor = row * LEVELS
        if highest < floor:
            rows.append(blank)
            continue
        keys = [
            ratio if level >= floor else None for level, ratio in zip(levels, ratios, strict=True)
        ]
        segments = []
        start = 0
        for key, run in groupby(keys):
            end = start + len(list(run))
            segments.append(Segment(text[start:end], base if key is None else styles[key]))
            start = end
        rows.append(Strip(segments, width))
    return rows


class BlockSparkline(TrueColorLines, Widget):
    """A sparkline of `data`; colours from the `sparkline--min/max-color` component classes."""

    COMPONENT_CLASSES = {"sparkline--max-color", "sparkline--min-color"}
    DEFAULT_CSS = """
    BlockSparkline { height: 1; }
    BlockSparkline > .sparkline--max-color { color: $primary; }
    BlockSparkline > .sparkline--min-color { color: $primary 30%; }
    """

    def __init__(self, data: Sequence[float] = (), *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._data = tuple(data)
        self._rows: list[Strip] = []
        self._rows_key: tuple[object, ...] | None = None
        self._styles: dict[float, Style] = {}  # blended per height, for the colours in _rows_key
        self._colors_now: tuple[Style, RichColor, RichColor] | None = None

    @property
    def data(self) -> tuple[float, ...]:
        return self._data

    @data.setter
    def data(self, data: Sequence[float]) -> None:
        data = tuple(data)
        if data != self._data:
            self._data = data
            self.refresh()  # same size: no layout

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._colors_now = None

    def _colors(self) -> tuple[Style, RichColor, RichColor]:
        """The base style and the two colours; they change only with the stylesheet."""
        if self._colors_now is None:
            _, background = self.background_colors
            low = background + self._component_color("sparkline--min-color")
            high = background + self._component_color("sparkline--max-color")
            self._colors_now = (self.visual_style.rich_style, low.rich_color, high.rich_color)
        return self._colors_now

    def _component_color(self, name: str) -> Color:
        return self.get_component_styles(name).color

    def render_lines(self, crop: Region) -> list[Strip]:
        # Once per paint (not per line): colours can change with the theme or high contrast.
        width, height = self.size
        base, low, high = self._colors()
        key = (self._data, width, height, base, low, high)
        if key != self._rows_key:
            if self._rows_key is None or self._rows_key[3:] != key[3:]:
                self._styles = {}
            self._rows = sparkline_rows(self._data, width, height, base, low, high, self._styles)
            self._rows_key = key
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        if 0 <= y < len(self._rows):
            return self._rows[y]
        return Strip.blank(self.size.width, self.visual_style.rich_style)
