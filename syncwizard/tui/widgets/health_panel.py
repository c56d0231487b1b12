"""The health panel: the sync GUID, then every check of every Sync Service node."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from syncwizard.clients.results import HealthCheck, HealthReport
from syncwizard.tui import formatting
from syncwizard.tui.model import Observed
from syncwizard.tui.widgets.panel import PanelBody, StatusPanel, error_text, state_line


def check_state(check: HealthCheck) -> tuple[str, str]:
    """The word shown for a check and the style it takes (words, not only colours)."""
    if check.healthy is None:
        return "unknown", "unknown"
    return ("healthy", "healthy") if check.healthy else ("UNHEALTHY", "unhealthy")


class HealthPanel(StatusPanel):
    def __init__(self) -> None:
        super().__init__("Health", id="health")
        self.observed: Observed[tuple[HealthReport, ...]] = Observed()

    def show(self, observed: Observed[tuple[HealthReport, ...]], now: float) -> None:
        self.observed = observed
        self.mark(observed)
        reports = observed.value
        # The GUID goes in the title: prominent, and it costs no row at 80x24.
        self.border_title = f"Health - Sync GUID {reports[0].sync_id}" if reports else "Health"
        self.border_subtitle = self._summary(now)
        self.redraw(now)

    def _summary(self, now: float) -> str:
        reports = self.observed.value
        state = state_line(self.observed, now)
        if not reports or self.observed.error is not None:
            return state
        failing = sum(1 for r in reports for c in r.checks if not c.healthy)
        verdict = "all healthy" if failing == 0 else f"{failing} not healthy"
        if len(reports) == 1:
            return f"{verdict} - HTTP {reports[0].http_status} - {state}"
        return f"{verdict} - {state}"

    def build(self, body: PanelBody) -> RenderableType:
        reports = self.observed.value or ()
        stale = self.observed.stale
        parts: list[RenderableType] = []
        for number, report in enumerate(reports, start=1):
            if len(reports) > 1:  # one node: its URL is in the profile, its status in the border
                parts.append(self._node_line(body, report, number))
            parts.append(self._checks(body, report, stale))
        if self.observed.error is not None:
            parts.append(error_text(body, self.observed.error))
        if not parts:
            parts.append(Text("asking the Sync Service...", style=body.style("label")))
        return Group(*parts)

    def _node_line(self, body: PanelBody, report: HealthReport, number: int) -> Text:
        label = f"node {number}"
        age = formatting.age(max(0.0, self.now - report.fetched_at))
        tail = f"  HTTP {report.http_status}  {age}"
        room = body.width - len(label) - 1 - len(tail)
        line = Text(f"{label} ", style=body.style("label"))
        line.append(formatting.middle_ellipsis(report.url, max(room, 10)))
        line.append(tail, style=body.style("label"))
        return line

    def _checks(self, body: PanelBody, report: HealthReport, stale: bool) -> Table:
        table = Table.grid(padding=(0, 1), expand=True)
        table.add_column(no_wrap=True)
        table.add_column(no_wrap=True, min_width=9)
        table.add_column(no_wrap=True, overflow="ellipsis", ratio=1)
        for check in report.checks:
            word, style = check_state(check)
            table.add_row(
                Text(check.name, style=body.style("stale") if stale else ""),
                Text(word, style=body.style("stale" if stale else style)),
                Text(check.message.strip(), style=body.style("label")),
            )
        return table
