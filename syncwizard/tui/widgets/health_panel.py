"""The health panel: the sync GUID in its title, then every check of every Sync Service node."""

from __future__ import annotations

from collections.abc import Hashable

from syncwizard.clients.results import HealthCheck, HealthReport
from syncwizard.tui import formatting
from syncwizard.tui.model import Observed
from syncwizard.tui.widgets.panel import (
    PanelBody,
    StatusPanel,
    append_error,
    error_key,
    fit,
    state_line,
)
from syncwizard.tui.widgets.styled_lines import StyledLines

STATE_WIDTH = len("UNHEALTHY")
STALE_WORD = "STALE"  # in place of a check's state while the health check does not answer


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
        title = f"Health - Sync GUID {reports[0].sync_id}" if reports else "Health"
        self.set_titles(title, self._summary(now))
        self.redraw(now)

    def view_key(self) -> Hashable:
        reports = self.observed.value or ()
        nodes = tuple((report.url, report.http_status, report.checks) for report in reports)
        ages = tuple(self._age(report) for report in reports) if len(reports) > 1 else ()
        return nodes, ages, self.observed.stale, error_key(self.observed.error)

    def _age(self, report: HealthReport) -> str:
        return formatting.age(max(0.0, self.now - report.fetched_at))

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

    def build(self, body: PanelBody) -> StyledLines:
        reports = self.observed.value or ()
        text = StyledLines()
        for number, report in enumerate(reports, start=1):
            if len(reports) > 1:  # one node: its URL is in the profile, its status in the border
                self._node_line(text, body, report, number)
            self._checks(text, body, report)
        if self.observed.error is not None:
            append_error(text, body, self.observed.error)
        if not text:
            text.append("asking the Sync Service...", style=body.style("label"))
        return text

    def _node_line(
        self, text: StyledLines, body: PanelBody, report: HealthReport, number: int
    ) -> None:
        label = f"node {number} "
        age = self._age(report)
        tail = f"  HTTP {report.http_status}  {age}"
        room = max(body.width - len(label) - len(tail), 10)
        if text:
            text.append("\n")
        text.append(label, style=body.style("label"))
        text.append(formatting.middle_ellipsis(report.url, room))
        text.append(tail, style=body.style("label"))

    def _checks(self, text: StyledLines, body: PanelBody, report: HealthReport) -> None:
        stale = self.observed.stale
        name_width = max((len(c.name) for c in report.checks), default=0)
        message_width = body.width - name_width - STATE_WIDTH - 2
        for check in report.checks:
            word, style = check_state(check)
            message = check.message.strip()
            if stale:  # the service stopped answering: never let its last answer look current
                message = f"was {word}" + (f": {message}" if message else "")
                word, style = STALE_WORD, "stale"
            if text:
                text.append("\n")
            text.append(check.name.ljust(name_width), style=body.style("stale") if stale else None)
            text.append(" ")
            text.append(word.ljust(STATE_WIDTH), style=body.style(style))
            text.append(" ")
            text.append(fit(message, message_width), style=body.style("label"))
