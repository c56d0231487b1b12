"""The events a restore took off the queue, shown beside its step, and how the clear that
takes them reads while it runs.

`EventsPanel` holds the run's events archive as a table and, for a terminal too short to
show the table beside the step, one line saying where the events are (e shows the table on
the whole screen: `toggle_full`). The events show on the clear's step and the one after it
(text.EVENT_STEPS), once the clear has begun writing the archive (`archive_of`); `show_for`
loads them or hides them, `place` puts the table or the line. The screen gives them room:
the panel sets the screen's `-events` and `-full-events` classes, and the stylesheet lays
out the rest by them (and by the screen's `-short`, a short terminal).

While the clear runs, the queue panel's rate is the events it removes (`rate_label`), and
`ClearProgress` reads its progress: how many taken, of how many, and whether the admin ends
it (x) because events still arrive.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from syncwizard.tui.restore import text as rt
from syncwizard.tui.widgets.events_table import EventsTable
from syncwizard.tui.widgets.queue_panel import DEQUEUE_RATE

if TYPE_CHECKING:
    from textual.dom import DOMNode

    from syncwizard.runbook.engine import Engine

WHERE = (
    "The events taken off the queue are in the run folder's archive: press e to look through them."
)


def archive_of(engine: Engine | None) -> Path | None:
    """The run's events archive, once a clear has begun (or done) writing it."""
    if engine is None:
        return None
    done = engine.results.get(rt.CLEAR_EVENTS, {}).get("archive")
    begun = engine.records.get(rt.CLEAR_EVENTS, {}).get("baseline", {}).get("archive")
    path = done or begun
    return Path(str(path)) if path and Path(str(path)).exists() else None


def rate_label(clearing: bool) -> str:
    """What the queue's rate measures: the consumers' dequeues, or, while a clear runs
    (text.CLEARING_STEPS), the events it removes."""
    return rt.REMOVED_RATE if clearing else DEQUEUE_RATE


@dataclass(frozen=True)
class ClearProgress:
    headline: str
    removed: int
    total: int | None  # removed and still pending, when the pending count is known
    by_hand: bool  # events still arrive: the clear goes on until the admin ends it (x)

    @classmethod
    def read(cls, detail: object) -> ClearProgress | None:
        """What the panel shows of a clear's progress detail; None for any other detail.
        (The runbook's type is looked up when a detail arrives: it is loaded by then.)"""
        from syncwizard.runbook.restore.clear import ClearProgress as Clearing

        if not isinstance(detail, Clearing):
            return None
        removed, pending = detail.counts.removed, detail.pending
        total = removed + pending if pending is not None else None
        return cls(detail.headline, removed, total, detail.ending_by_hand)

    @property
    def done(self) -> int:
        return self.removed

    @property
    def text(self) -> Text:
        """The step's live line while the clear runs: its headline."""
        return Text(self.headline, style="bold")

    @property
    def how(self) -> str:
        if self.by_hand:
            return "events still arrive: x ends the clear"
        return "each event acknowledged once on disk"


class EventsPanel(Vertical):
    def __init__(self) -> None:
        super().__init__(id="events-panel")
        self.table = EventsTable(id="events-table")
        # Too short a terminal for the table beside the step: one line says where it is.
        self.hint = Static(WHERE, id="events-hint")
        self.table.display = False
        self.hint.display = False

    def compose(self) -> ComposeResult:
        yield self.table
        yield self.hint

    def show_for(self, step_id: str, engine: Engine | None, screen: DOMNode) -> None:
        """Show the run's archived events (read again) if `step_id` shows them, else hide
        them and leave the whole screen to the step again."""
        archive = archive_of(engine) if step_id in rt.EVENT_STEPS else None
        if archive is not None:
            self.table.load(archive)
        screen.set_class(archive is not None, "-events")
        if archive is None:
            screen.remove_class("-full-events")
        self.place(screen)

    def load(self, archive: Path) -> None:
        """Read `archive` again (a step that took events has ended)."""
        self.table.load(archive)

    def place(self, screen: DOMNode) -> None:
        """The table (beside the step, or on the whole screen), or, on a short terminal
        until e, the line saying where the events are; nothing when they are not shown."""
        shown = screen.has_class("-events")
        inline = not screen.has_class("-short") or screen.has_class("-full-events")
        self.table.display = shown and inline
        self.hint.display = shown and not inline
        self.set_class(shown and inline, "-table")

    def toggle_full(self, screen: DOMNode) -> None:
        """e: the events on the whole screen (the table takes the focus), or back."""
        if screen.has_class("-events"):
            screen.toggle_class("-full-events")
            self.place(screen)
            if screen.has_class("-full-events"):
                self.table.focus()
