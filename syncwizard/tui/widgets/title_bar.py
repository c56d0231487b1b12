"""The one-line bar at the top of every screen: where you are and on which profile."""

from __future__ import annotations

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual.widget import Widget

from syncwizard.tui.widgets.stable_lines import StableLines


class TitleBar(StableLines, Widget):
    """`syncwizard > Status` on the left, `profile lab` on the right."""

    COMPONENT_CLASSES = {"title-bar--app", "title-bar--where"}
    DEFAULT_CSS = "TitleBar { dock: top; height: 1; }"

    def __init__(self, where: str, profile: str | None) -> None:
        super().__init__(id="title-bar")
        self.where = where
        self.profile = profile

    def set_where(self, where: str) -> None:
        if where != self.where:
            self.where = where
            self.refresh()

    def render(self) -> RenderableType:
        grid = Table.grid(expand=True)
        grid.add_column(no_wrap=True, ratio=1)
        grid.add_column(no_wrap=True, justify="right")
        left = Text(" syncwizard", style=self.get_component_rich_style("title-bar--app"))
        if self.where:
            left.append(f" > {self.where}", style=self.get_component_rich_style("title-bar--where"))
        right = f"profile {self.profile} " if self.profile else "no profile "
        grid.add_row(left, right)
        return grid
