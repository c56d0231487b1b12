"""The databases panel: the repository DB and the Sync DB, each with its own age and error."""

from __future__ import annotations

from collections.abc import Hashable

from syncwizard.clients.results import NOT_READ, DatabaseFacts
from syncwizard.tui import formatting
from syncwizard.tui.model import DATABASE_ROLES, Observed
from syncwizard.tui.widgets.panel import PanelBody, StatusPanel, append_error, error_key, fit
from syncwizard.tui.widgets.styled_lines import StyledLines

ROLE_NAMES = {"repository_db": "Repository DB", "sync_db": "Sync DB"}


def connections(count: int) -> str:
    return f"{count} other connection{'' if count == 1 else 's'}"


class DatabasesPanel(StatusPanel):
    def __init__(self) -> None:
        super().__init__("Databases", id="databases")
        self.observed: dict[str, Observed[DatabaseFacts]] = {r: Observed() for r in DATABASE_ROLES}

    def show(self, observed: dict[str, Observed[DatabaseFacts]], now: float) -> None:
        self.observed = observed
        self.mark(list(observed.values()))
        stale = [ROLE_NAMES[r] for r, o in observed.items() if o.error is not None]
        self.set_titles("Databases", f"STALE: {', '.join(stale)}" if stale else "")
        self.redraw(now)

    def view_key(self) -> Hashable:
        return tuple(
            (o.value, self._age(o), o.stale, error_key(o.error)) for o in self.observed.values()
        )

    def _age(self, observed: Observed[DatabaseFacts]) -> str:
        return formatting.age(observed.age(self.now)) if observed.value else "no answer yet"

    def build(self, body: PanelBody) -> StyledLines:
        text = StyledLines()
        for role, observed in self.observed.items():
            if text:
                text.append("\n")
            self._database(text, body, ROLE_NAMES[role], observed)
        return text

    def _database(
        self, text: StyledLines, body: PanelBody, title: str, observed: Observed[DatabaseFacts]
    ) -> None:
        facts = observed.value
        value = body.style("stale" if observed.stale else "value")
        label = body.style("label")
        age = self._age(observed)
        name = fit(facts.name if facts else "", body.width - len(title) - len(age) - 3)
        text.append(f"{title} ", style=body.style("heading"))
        text.append(name, style=value)
        text.append(" " * max(body.width - len(title) - 1 - len(name) - len(age), 1))
        text.append(age, style=label)
        if facts is not None and not facts.read:
            text.append(f"\n  {facts.product} ", style=label)
            text.append(NOT_READ, style=value)
        elif facts is not None:
            text.append("\n  ")
            text.append(formatting.size(facts.size_bytes), style=value)
            text.append(f"  {facts.product} ", style=label)
            text.append(facts.server_version, style=value)
            text.append("\n  ")
            text.append(connections(facts.connections), style=value)
        if observed.error is not None:
            append_error(text, body, observed.error)
