"""How the restore screen shows the Sync Service coming back (the -Drecover start, and the
plain restart after it).

While it comes back, each look the runbook takes is a PROGRESS detail, a `RecoverWatch`
(runbook/restore/recover_watch.py): its health checks, the consumers on the sync queue,
the seconds left before it gives up, and what did not answer. `read_watch` tells it from
the other details; `watch_headline` is the one line the log pane's progress row and the
step's live text begin with; `healthy_count` is that row's count of healthy checks; and
`watch_text` is the live text, one line per check, then what did not answer.
`WatchProgress` reads a detail as the screen shows it, as events_panel.ClearProgress reads a
clear's.

The runbook is imported for its types only, or inside `read_watch`: this module loads with the
screen, before the run has loaded the runbook, which has by the time it sends a watch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text

from syncwizard.tui.restore import text as rt

if TYPE_CHECKING:
    from syncwizard.runbook.restore.recover_watch import RecoverWatch


def read_watch(detail: object) -> RecoverWatch | None:
    """`detail` when it is a look at the service coming back; None for any other detail."""
    from syncwizard.runbook.restore.recover_watch import RecoverWatch

    return detail if isinstance(detail, RecoverWatch) else None


def healthy_count(watch: RecoverWatch) -> int:
    return sum(1 for _, healthy, _ in watch.checks if healthy)


def watch_headline(watch: RecoverWatch) -> str:
    """`2 of 3 health checks healthy; 1 consumer on the sync queue; gives up in 40 s`."""
    checks = watch.checks
    healthy = healthy_count(watch)
    consumers = watch.consumers
    parts = [f"{healthy} of {len(checks)} health checks healthy" if checks else "no health answer"]
    if consumers is not None:
        parts.append(f"{consumers} consumer{'s' if consumers != 1 else ''} on the sync queue")
    parts.append(f"gives up in {max(watch.seconds_left, 0):.0f} s")
    return "; ".join(parts)


def watch_text(watch: RecoverWatch) -> Text:
    """The headline, each check (healthy, unknown or not yet, and what it says), then what
    did not answer."""
    text = Text(watch_headline(watch), style="bold")
    for name, healthy, message in watch.checks:
        word = "healthy" if healthy else ("unknown" if healthy is None else "not yet")
        text.append(f"\n{'✓' if healthy else '·'} {name}: {word}")
        if message:
            text.append(f" ({message})", style="italic")
    for error in watch.errors:
        text.append(f"\n{error}", style="italic")
    return text


@dataclass(frozen=True)
class WatchProgress:
    """A look as the log pane's progress row (healthy checks of all) and the step's live
    line show it."""

    watch: RecoverWatch
    how: str  # what is watched: the recover start, or the step that starts the service

    @classmethod
    def read(cls, detail: object, step_id: str, titles: Mapping[str, str]) -> WatchProgress | None:
        """A look at the service coming back, during `step_id`; None for any other detail."""
        watch = read_watch(detail)
        return None if watch is None else cls(watch, rt.watching(step_id, titles))

    @property
    def headline(self) -> str:
        return watch_headline(self.watch)

    @property
    def done(self) -> int:
        return healthy_count(self.watch)

    @property
    def total(self) -> int | None:
        return len(self.watch.checks) or None

    @property
    def text(self) -> Text:
        return watch_text(self.watch)
