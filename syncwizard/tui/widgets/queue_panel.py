"""The queue panel: the sync queue's counters, its dequeue rate and a sparkline of pending."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from textual.app import ComposeResult

from syncwizard.tui import formatting
from syncwizard.tui.model import BrokerNumbers, DequeueRate, Observed
from syncwizard.tui.widgets.line_label import LineLabel
from syncwizard.tui.widgets.panel import (
    PanelBody,
    StatusPanel,
    append_error,
    error_key,
    state_line,
)
from syncwizard.tui.widgets.sparkline import BlockSparkline
from syncwizard.tui.widgets.styled_lines import StyledLines

NO_CONSUMER = "no consumer: the Sync Service is not reading"
DEQUEUE_RATE = "dequeues/s"  # what the consumers take; a screen may say what it measures there
RATE_RESTARTED = "DequeueCount went down (broker restart?): rate restarted"


class QueuePanel(StatusPanel):
    def __init__(self) -> None:
        super().__init__("Queue", id="queue")
        self.observed: Observed[BrokerNumbers] = Observed()
        self.rate: float | None = None
        self.rate_restarted = False
        self.rate_label = DEQUEUE_RATE
        self.pending: Sequence[int] = ()
        self.sparkline = BlockSparkline(id="pending-sparkline")
        self.sparkline_label = LineLabel(id="pending-label")

    def compose(self) -> ComposeResult:
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
        self.rate = rate.per_second
        self.rate_restarted = self.rate is None and rate.reset_at is not None
        self.mark(observed)
        self.set_titles("Queue", state_line(observed, now))
        if tuple(pending) != self.pending:
            self.pending = tuple(pending)
            self.sparkline.data = [float(p) for p in self.pending]
            self.sparkline_label.update(
                f"pending, last {len(self.pending)} polls (max {formatting.count(max(pending))})"
                if pending
                else ""
            )
        self.redraw(now)

    def view_key(self) -> Hashable:
        observed = self.observed
        rate = formatting.rate(self.rate)
        return (
            observed.value,
            rate,
            self.rate_label,
            self.rate_restarted,
            observed.stale,
            error_key(observed.error),
        )

    def build(self, body: PanelBody) -> StyledLines:
        numbers = self.observed.value
        text = StyledLines()
        if numbers is not None:
            self._counters(text, body, numbers)
        if self.observed.error is not None:
            append_error(text, body, self.observed.error)
        if not text:
            text.append("asking the broker...", style=body.style("label"))
        return text

    def _counters(self, text: StyledLines, body: PanelBody, numbers: BrokerNumbers) -> None:
        queue = numbers.queue
        value = body.style("stale" if self.observed.stale else "value")
        label = body.style("label")
        topic = "--" if numbers.topic is None else formatting.count(numbers.topic.enqueued)
        rows = (
            (
                "pending",
                formatting.count(queue.pending),
                "enqueued",
                formatting.count(queue.enqueued),
            ),
            (
                "dequeued",
                formatting.count(queue.dequeued),
                "in flight",
                formatting.count(queue.in_flight),
            ),
            ("consumers", str(queue.consumers), self.rate_label, formatting.rate(self.rate)),
            ("", "", "topic enq.", topic),
        )
        widths = [max(len(row[column]) for row in rows) for column in range(4)]
        widths[1] = max(widths[1], 6)
        text.append(formatting.middle_ellipsis(queue.name, body.width), style=value)
        for left_label, left_value, right_label, right_value in rows:
            text.append("\n")
            text.append(left_label.ljust(widths[0]) + " ", style=label)
            text.append(left_value.rjust(widths[1]), style=value)
            text.append("  " + right_label.ljust(widths[2]) + " ", style=label)
            text.append(right_value.rjust(widths[3]), style=value)
        if queue.consumers == 0:
            text.append("\n" + NO_CONSUMER, style=body.style("error"))
        if self.rate_restarted:
            text.append("\n" + RATE_RESTARTED, style=body.style("hint"))
