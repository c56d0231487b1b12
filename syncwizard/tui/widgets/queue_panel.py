"""The queue panel: the sync queue's counters, its dequeue rate and a sparkline of pending."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.widgets import Sparkline, Static

from syncwizard.tui import formatting
from syncwizard.tui.model import BrokerNumbers, DequeueRate, Observed
from syncwizard.tui.widgets.panel import PanelBody, StatusPanel, error_text, state_line


class QueuePanel(StatusPanel):
    def __init__(self) -> None:
        super().__init__("Queue", id="queue")
        self.observed: Observed[BrokerNumbers] = Observed()
        self.rate: float | None = None
        self.rate_restarted = False
        self.pending: Sequence[int] = ()
        self.sparkline = Sparkline([], id="pending-sparkline")
        self.sparkline_label = Static("", id="pending-label")

    def compose(self):  # type: ignore[no-untyped-def]
        yield self.body
        yield self.sparkline_label
        yield self.sparkline

    def show(
        self,
        observed: Observed[BrokerNumbers],
        pending: Sequence[int],
        rate: DequeueRate,
        now: float,
    ) -> None:
        self.observed = observed
        self.pending = tuple(pending)
        self.rate = rate.per_second
        self.rate_restarted = self.rate is None and rate.reset_at is not None
        self.mark(observed)
        self.border_subtitle = state_line(observed, now)
        if self.pending:
            self.sparkline.data = [float(p) for p in self.pending]
            self.sparkline_label.update(
                f"pending, last {len(self.pending)} polls (max {formatting.count(max(pending))})"
            )
        self.redraw(now)

    def build(self, body: PanelBody) -> RenderableType:
        numbers = self.observed.value
        parts: list[RenderableType] = []
        if numbers is not None:
            queue = numbers.queue
            value = body.style("stale" if self.observed.stale else "value")
            parts.append(Text(formatting.middle_ellipsis(queue.name, body.width), style=value))
            grid = Table.grid(padding=(0, 1))
            for _ in range(2):
                grid.add_column(no_wrap=True, style=body.style("label"))
                grid.add_column(no_wrap=True, justify="right", min_width=6, style=value)
            topic = "--" if numbers.topic is None else formatting.count(numbers.topic.enqueued)
            grid.add_row(
                "pending",
                formatting.count(queue.pending),
                " enqueued",
                formatting.count(queue.enqueued),
            )
            grid.add_row(
                "dequeued",
                formatting.count(queue.dequeued),
                " in flight",
                formatting.count(queue.in_flight),
            )
            grid.add_row(
                "consumers", str(queue.consumers), " dequeues/s", formatting.rate(self.rate)
            )
            grid.add_row("", "", " topic enq.", topic)
            parts.append(grid)
            if queue.consumers == 0:
                parts.append(
                    Text("no consumer: the Sync Service is not reading", style=body.style("error"))
                )
            if self.rate_restarted:
                parts.append(
                    Text(
                        "DequeueCount went down (broker restart?): rate restarted",
                        style=body.style("hint"),
                    )
                )
        if self.observed.error is not None:
            parts.append(error_text(body, self.observed.error))
        if not parts:
            parts.append(Text("asking the broker...", style=body.style("label")))
        return Group(*parts)
