"""The restore's live panels, under the step: the sync queue and the Sync Service's health.

`RestorePanels` is the row #restore-panels: the queue panel (made by the screen's base,
as the backup's is), then the health panel. `redraw` redraws the panel of the system that
answered; `label_rate` says what the queue's rate measures now (the consumers' dequeues,
or the events a clear removes); `follow_queue` names the sync queue to the status source
once the preflight has found it, so it is followed whether the Sync Service runs or not.
On a narrow terminal one panel shows: the screen's `-narrow` and `-health` classes say
which.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.containers import Horizontal

from syncwizard.tui.restore import text as rt
from syncwizard.tui.widgets.health_panel import HealthPanel

if TYPE_CHECKING:
    from syncwizard.tui.model import DashboardModel
    from syncwizard.tui.source import StatusSource
    from syncwizard.tui.widgets.queue_panel import QueuePanel


class RestorePanels(Horizontal):
    def __init__(self, queue: QueuePanel) -> None:
        super().__init__(id="restore-panels")
        self.queue = queue
        self.health = HealthPanel()

    def compose(self) -> ComposeResult:
        yield self.queue
        yield self.health

    def redraw(self, system: str, model: DashboardModel, now: float) -> None:
        if system == "broker":
            self.queue.show(model.broker, model.pending, model.dequeue_rate, now)
        elif system == "health":
            self.health.show(model.health, now)

    def label_rate(self, label: str) -> bool:
        """Name what the queue's rate measures; True when that changed (redraw the queue)."""
        if self.queue.rate_label == label:
            return False
        self.queue.rate_label = label
        return True


def follow_queue(source: StatusSource | None, results: Mapping[str, Mapping[str, Any]]) -> None:
    """Once the preflight has found the sync queue, the status source follows it."""
    found = results.get(rt.PREFLIGHT, {})
    if found.get("queue") and source is not None:
        source.follow_queue(str(found["queue"]), found.get("topic"))
