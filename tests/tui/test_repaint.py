"""What a dashboard tick repaints: only what changed, and exactly what Textual would have drawn."""

from __future__ import annotations

import gc
import math
from collections.abc import Callable

import pytest
from rich.color import Color
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from support.fake_status import T0, FakeClock, broker_down, report
from textual.geometry import Region
from textual.renderables.sparkline import Sparkline as TextualSparkline
from textual.strip import Strip
from textual.widget import Widget
from tui_support import applied, make_app, open_dashboard

from syncwizard.status import StatusReport
from syncwizard.tui.widgets.panel import PanelBody, StatusPanel
from syncwizard.tui.widgets.sparkline import sparkline_rows
from syncwizard.tui.widgets.styled_lines import StyledLines

Refreshes = list[tuple[tuple[Region, ...], bool]]


def spy_on_refresh(widget: Widget) -> Refreshes:
    """Record each `refresh(*regions, layout=...)` asked of `widget` from now on."""
    calls: Refreshes = []
    original = widget.refresh

    def refresh(*regions: Region, layout: bool = False, **kwargs: bool) -> Widget:
        calls.append((regions, layout))
        return original(*regions, layout=layout, **kwargs)

    widget.refresh = refresh  # type: ignore[method-assign]
    return calls


def spy_on_builds(panels: tuple[StatusPanel, ...]) -> list[str]:
    """Record the id of each panel that builds its lines from now on."""
    builds: list[str] = []
    for panel in panels:
        original = panel.build

        def build(
            body: PanelBody, original: Callable[[PanelBody], StyledLines] = original
        ) -> StyledLines:
            builds.append(body.id or "")
            return original(body)

        panel.build = build  # type: ignore[method-assign]
    return builds


def steady(taken_at: float, pending: int = 12) -> StatusReport:
    return report(taken_at, pending=pending, enqueued=1_000, dequeued=988)


async def test_a_poll_that_changes_one_number_repaints_only_that_line() -> None:
    app, source = make_app([steady(T0 + n) for n in range(3)])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_dashboard(pilot, polls=3)
        await pilot.pause()
        body = screen.queue_panel.body
        calls = spy_on_refresh(body)
        source.add(steady(T0 + 3, pending=13))
        await applied(pilot, 4)
        width = body.size.width
        assert calls == [((Region(0, 1, width, 1),), False)], "the `pending` row, no layout"
        await pilot.pause()
        painted = body.render_lines(Region(0, 0, *body.outer_size))
        assert painted[1].text.split()[:2] == ["pending", "13"]


async def test_a_poll_with_nothing_new_repaints_no_panel_text() -> None:
    # Polls a quarter second apart: each system answers on its own, and the age of the
    # one not polled yet stays "just now" (a whole second apart it would rightly tick).
    app, source = make_app([steady(T0 + n / 4) for n in range(3)])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_dashboard(pilot, polls=3)
        await pilot.pause()
        panels = (screen.health_panel, screen.queue_panel, screen.databases_panel)
        calls = [spy_on_refresh(panel.body) for panel in panels]
        subtitles = [panel.border_subtitle for panel in panels]
        builds = spy_on_builds(panels)
        source.add(steady(T0 + 3 / 4))
        await applied(pilot, 4)
        assert calls == [[], [], []]
        assert [panel.border_subtitle for panel in panels] == subtitles
        assert builds == [], "nothing new: no panel even built its lines"


async def test_an_age_inside_a_panel_moves_on_with_the_clock() -> None:
    clock = FakeClock()
    app, _ = make_app([steady(T0)], clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_dashboard(pilot)
        await pilot.pause()
        body = screen.databases_panel.body
        clock.advance(42)
        screen.redraw()
        await pilot.pause()
        painted = body.render_lines(Region(0, 0, *body.outer_size))
        assert painted[0].text.rstrip().endswith("42 s ago")


async def test_a_new_line_in_a_panel_redoes_the_layout() -> None:
    app, source = make_app([steady(T0 + n) for n in range(3)])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_dashboard(pilot, polls=3)
        await pilot.pause()
        body = screen.queue_panel.body
        lines_before = body.size.height
        calls = spy_on_refresh(body)
        source.add(report(T0 + 3, pending=12, enqueued=1_000, dequeued=988, consumers=0))
        await applied(pilot, 4)
        await pilot.pause()
        assert calls and calls[-1][1], "one more line: the body's height changes"
        assert body.size.height > lines_before


def painted_style_of(widget: Widget, word: str) -> Style:
    """The style `word` is painted in, as the screen would get it."""
    strips = widget.render_lines(Region(0, 0, widget.size.width, widget.size.height))
    for strip in strips:
        for segment in strip:
            if segment.text.strip() == word and segment.style is not None:
                return segment.style
    raise AssertionError(f"{word!r} is not painted in {widget}")


async def test_high_contrast_repaints_the_panel_text_in_its_colours() -> None:
    app, _ = make_app([report(T0)])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_dashboard(pilot)
        await pilot.pause()
        body = screen.health_panel.body
        normal = painted_style_of(body, "healthy").color
        await pilot.press("h")
        await pilot.pause()
        strong = painted_style_of(body, "healthy").color
        assert strong != normal
        assert strong == body.style("healthy").color


async def test_the_age_timer_leaves_alone_a_screen_a_poll_has_just_redrawn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = FakeClock()
    app, _ = make_app([report(T0)], clock=clock, interval=60)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_dashboard(pilot)
        redraws: list[float] = []
        original = screen.redraw

        def redraw() -> None:
            redraws.append(clock())
            original()

        monkeypatch.setattr(screen, "redraw", redraw)
        clock.advance(0.5)
        screen._redraw_if_due()
        assert redraws == [], "the poll redrew half a second ago"
        clock.advance(0.7)
        screen._redraw_if_due()
        assert len(redraws) == 1, "no poll for over a second: the ages move on"
        assert "1 s ago" in str(screen.queue_panel.border_subtitle)


def cells(lines: list[list[Segment]], width: int) -> list[list[tuple[str, Color | None]]]:
    """Each cell of each line: its character and (for anything but a blank) its colour.

    A line Textual leaves empty is painted blank by the widget around it.
    """
    grid = []
    for line in lines:
        row: list[tuple[str, Color | None]] = []
        for segment in line:
            color = segment.style.color if segment.style else None
            row += [(char, None if char == " " else color) for char in segment.text]
        grid.append(row + [(" ", None)] * (width - len(row)))
    return grid


LOW, HIGH = Color.parse("#0a3d62"), Color.parse("#0178d4")
SINE = [40 + 35 * math.sin(n / 6) + 10 * math.sin(n / 2.3) for n in range(60)]


@pytest.mark.parametrize(
    ("data", "width", "height"),
    [
        ([], 30, 1),
        ([], 30, 4),
        ([7.0], 30, 3),
        ([0.0, 0.0, 0.0], 30, 6),
        ([float(n) for n in range(10)], 30, 1),
        ([float(n) for n in range(10)], 7, 6),
        (SINE, 62, 6),
        (SINE, 40, 3),
        (SINE[:24], 62, 6),
    ],
)
def test_the_sparkline_draws_what_textuals_sparkline_draws(
    data: list[float], width: int, height: int
) -> None:
    console = Console(width=width, color_system="truecolor", file=None, legacy_windows=False)
    textual_lines = Segment.split_lines(
        console.render(
            TextualSparkline(data, width=width, height=height, min_color=LOW, max_color=HIGH)
        )
    )
    ours: list[Strip] = sparkline_rows(data, width, height, Style(), LOW, HIGH)
    assert cells([list(strip) for strip in ours], width) == cells(list(textual_lines), width)


async def test_while_the_dashboard_polls_the_collector_skips_what_is_here_to_stay() -> None:
    app, _ = make_app([report(T0)])
    async with app.run_test(size=(80, 24)) as pilot:
        assert gc.get_freeze_count() == 0
        await open_dashboard(pilot)
        assert gc.get_freeze_count() > 0, "frozen after the first poll"
        await pilot.press("escape")
        await pilot.pause()
        assert gc.get_freeze_count() == 0, "leaving the dashboard lets it all be collected"


async def test_a_panel_with_nothing_new_hands_back_its_last_lines() -> None:
    app, source = make_app([steady(T0 + n) for n in range(3)])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_dashboard(pilot, polls=3)
        await pilot.pause()
        panel = screen.databases_panel
        crop = Region(0, 0, *panel.outer_size)
        painted = panel.render_lines(crop)
        source.add(steady(T0 + 3, pending=13))  # the queue panel changes, this one does not
        await applied(pilot, 4)
        await pilot.pause()
        assert panel.render_lines(crop) is painted


async def test_a_panel_whose_border_text_changes_is_painted_anew() -> None:
    app, source = make_app([steady(T0 + n) for n in range(3)])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_dashboard(pilot, polls=3)
        await pilot.pause()
        panel = screen.queue_panel
        crop = Region(0, 0, *panel.outer_size)
        assert "answered" in panel.render_lines(crop)[-1].text
        source.add(report(T0 + 9, down=[broker_down()]))
        await applied(pilot, 4)
        await pilot.pause()
        bottom = panel.render_lines(crop)[-1].text
        assert "STALE - last answer 7 s ago" in bottom


def test_styles_kept_between_paints_give_the_same_lines() -> None:
    kept: dict[float, Style] = {}
    for start in range(0, 30, 3):  # the window moves on, heights recur
        window = SINE[start : start + 30]
        fresh = sparkline_rows(window, 40, 6, Style(), LOW, HIGH)
        assert sparkline_rows(window, 40, 6, Style(), LOW, HIGH, kept) == fresh
    assert kept, "the blended styles were kept"


async def test_high_contrast_repaints_the_sparkline_in_its_colours() -> None:
    app, _ = make_app([steady(T0 + n, pending=n) for n in range(8)])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_dashboard(pilot, polls=8)
        await pilot.pause()
        sparkline = screen.queue_panel.sparkline

        def bar_colours() -> set[Color | None]:
            lines = sparkline.render_lines(Region(0, 0, *sparkline.outer_size))
            return {s.style.color for line in lines for s in line if s.text.strip() and s.style}

        normal = bar_colours()
        await pilot.press("h")
        await pilot.pause()
        strong = bar_colours()
        assert normal and strong and not normal & strong
