"""Checks that what an admin must read or press is on screen, or one scroll away, and whole.

At 80x24 a widget may sit below the fold of a scrolling body: that is fine, it is
reached by scrolling (or focusing it). What is not fine is a widget with no room at
all, a text cut to a fixed height, an ellipsis where words were, a button label cut.
"""

from __future__ import annotations

from rich.cells import cell_len
from textual.containers import ScrollableContainer
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Button, Input, RadioButton, Static


def shown_lines(widget: Widget) -> list[str]:
    """The lines `widget` paints, as text (its whole area, scrolled into view or not)."""
    strips = widget.render_lines(Region(0, 0, widget.size.width, widget.size.height))
    return [strip.text for strip in strips]


def source_text(widget: Static) -> str:
    content = widget.content
    return content if isinstance(content, str) else getattr(content, "plain", "")


def assert_whole(widget: Widget) -> None:
    """Its text has all the rows it needs at its width, and nothing was cut to an ellipsis."""
    name = f"#{widget.id}" if widget.id else repr(widget)
    width = widget.content_region.width
    assert width > 0, f"{name} has no width"
    needed = widget.get_content_height(widget.size, widget.app.size, width)
    assert widget.content_region.height >= needed, (
        f"{name} is cut: it needs {needed} rows at width {width}, "
        f"it has {widget.content_region.height}: {shown_lines(widget)}"
    )
    painted = "\n".join(shown_lines(widget))
    meant = source_text(widget) if isinstance(widget, Static) else ""
    assert "…" not in painted or "…" in meant, f"{name} was cut to an ellipsis: {painted!r}"
    if isinstance(widget, Button | RadioButton):
        label = str(widget.label)
        assert cell_len(label) <= width, f"{name}'s label {label!r} is cut to {width} cells"


def scroller_of(widget: Widget) -> ScrollableContainer | None:
    for ancestor in widget.ancestors:
        if isinstance(ancestor, ScrollableContainer):
            return ancestor
    return None


async def assert_reachable(pilot: Pilot[int], widget: Widget) -> None:
    """`widget` is displayed, and once scrolled into view it is on screen: whole when it
    fits its scrolling container's view, else at least partly (the rest scrolls)."""
    name = f"#{widget.id}" if widget.id else repr(widget)
    assert widget.display and widget.visible, f"{name} is not displayed"
    for ancestor in widget.ancestors_with_self:
        if isinstance(ancestor, Widget):
            assert ancestor.display, f"{name} is inside #{ancestor.id}, which is not displayed"
    widget.scroll_visible(animate=False, immediate=True)
    await pilot.pause()
    geometry = widget.screen.find_widget(widget)
    visible = geometry.visible_region
    assert visible.area > 0, f"{name} has no room on screen even scrolled to: {geometry}"
    scroller = scroller_of(widget)
    room = scroller.scrollable_content_region.height if scroller else widget.screen.size.height
    if widget.outer_size.height <= room:
        assert visible.height >= widget.size.height, (
            f"{name} fits its view ({widget.size.height} of {room} rows) but only "
            f"{visible.height} rows of it are on screen"
        )
    if isinstance(widget, Static | Button | RadioButton):
        assert_whole(widget)


async def assert_all_reachable(pilot: Pilot[int], widgets: list[Widget]) -> None:
    for widget in widgets:
        await assert_reachable(pilot, widget)


def must_reach(screen: Widget) -> list[Widget]:
    """Every text, field and button of `screen` that is displayed (in its displayed parts)."""
    found: list[Widget] = []
    for widget in screen.query("Static, Button, Input, RadioButton"):
        if isinstance(widget, Static | Button | Input | RadioButton) and all(
            isinstance(node, Widget) and node.display
            for node in widget.ancestors_with_self
            if node is not screen and isinstance(node, Widget)
        ):
            found.append(widget)
    return found
