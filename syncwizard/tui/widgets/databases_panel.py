"""The databases panel: the repository DB and the Sync DB, each with its own age and error."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from syncwizard.clients.results import DatabaseFacts
from syncwizard.tui import formatting
from syncwizard.tui.model import DATABASE_ROLES, Observed
from syncwizard.tui.widgets.panel import PanelBody, StatusPanel, error_text

ROLE_NAMES = {"repository_db": "Repository DB", "sync_db": "Sync DB"}


def connections(count: int) -> str:
    return f"{count} other connection{'' if count == 1 else 's'}"


class DatabasesPanel(StatusPanel):
    def __init__(self) -> None:
        super().__init__("Databases", id="databases")
        self.observed: dict[str, Observed[DatabaseFacts]] = {r: Observed() for r in DATABASE_ROLES}

    def show(self, observed: dict[str, Observed[DatabaseFacts]], now: float) -> None:
        self.observed = observed
        views: list[Observed[object]] = list(observed.values())  # type: ignore[arg-type]
        self.mark(views)
        stale = [ROLE_NAMES[r] for r, o in observed.items() if o.error is not None]
        self.border_subtitle = f"STALE: {', '.join(stale)}" if stale else ""
        self.redraw(now)

    def build(self, body: PanelBody) -> RenderableType:
        parts: list[RenderableType] = []
        for role, observed in self.observed.items():
            parts.append(self._database(body, ROLE_NAMES[role], observed))
        return Group(*parts)

    def _database(self, body: PanelBody, title: str, observed: Observed[DatabaseFacts]) -> Group:
        facts = observed.value
        value = body.style("stale" if observed.stale else "value")
        label = body.style("label")
        head = Table.grid(expand=True)
        head.add_column(no_wrap=True, overflow="ellipsis", ratio=1)
        head.add_column(no_wrap=True, justify="right")
        name = Text(f"{title} ", style=body.style("heading"))
        name.append(facts.name if facts else "", style=value)
        age = formatting.age(observed.age(self.now)) if facts else "no answer yet"
        head.add_row(name, Text(age, style=label))
        lines: list[RenderableType] = [head]
        if facts is not None:
            details = Text("  ")
            details.append(formatting.size(facts.size_bytes), style=value)
            details.append("  PostgreSQL ", style=label)
            details.append(facts.server_version, style=value)
            details.append("\n  ")
            details.append(connections(facts.connections), style=value)
            lines.append(details)
        if observed.error is not None:
            lines.append(error_text(body, observed.error))
        return Group(*lines)
