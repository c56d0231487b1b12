"""How a runbook's events read in the TUI: progress rows, log lines, paths. No Textual here.

The engine's PROGRESS details are typed records (results.Progress for dumps,
drain.DrainStatus for the wait, seconds left for the countdown). The wait's type is
looked up when a detail arrives: the runbook is loaded by then, and the welcome screen
does not load it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeGuard

from syncwizard.clients.results import Progress
from syncwizard.runbook.model import EventKind, StepEvent, StepState
from syncwizard.tui import formatting
from syncwizard.tui.widgets.step_sidebar import MARKERS, duration

if TYPE_CHECKING:
    from syncwizard.runbook.backup.drain import DrainStatus


def short_path(path: str | Path) -> str:
    """`/home/admin/backups/x` -> `~/backups/x` (only for showing; copies keep the full path)."""
    text = str(path)
    home = os.path.expanduser("~")
    if home not in ("", "/") and (text == home or text.startswith(home + os.sep)):
        return "~" + text[len(home) :]
    return text


@dataclass(frozen=True)
class ProgressRow:
    label: str  # beside the bar: how far
    done: float | None = None
    total: float | None = None
    detail: str = ""  # the line under it: on what, how big, how long


def is_dump_progress(detail: object) -> TypeGuard[Progress]:
    return isinstance(detail, Progress)


def is_drain_status(detail: object) -> TypeGuard[DrainStatus]:
    from syncwizard.runbook.backup.drain import DrainStatus

    return isinstance(detail, DrainStatus)


def dump_row(progress: Progress) -> ProgressRow:
    total = progress.tuples_total
    done = progress.rows_done
    rows = f"{done} of ~{total:,} rows" if total else f"{done} rows"
    parts = [progress.current_object] if progress.current_object else []
    parts.append(f"{formatting.size(progress.bytes_written)} written")
    parts.append(f"{progress.tool} running {duration(progress.elapsed) or '0 s'}")
    return ProgressRow(
        f"{rows} ({progress.phase})", progress.tuples_done, total or None, " · ".join(parts)
    )


def drain_row(status: DrainStatus) -> ProgressRow:
    """`n of P0 events consumed` beside the bar; the rest of the headline under it."""
    label, _, rest = status.headline.partition("; ")
    rest = rest.replace("; ", " · ")
    waited = f"waited {duration(status.elapsed) or '0 s'} of at most {duration(status.timeout)}"
    detail = f"{rest} · {waited}" if rest else waited
    if status.consumed is not None and status.p0:
        return ProgressRow(label, min(status.consumed, status.p0), status.p0, detail)
    return ProgressRow(label, detail=detail)


class ProgressReader:
    """Turns PROGRESS events into progress rows; remembers each countdown's length."""

    def __init__(self) -> None:
        self._countdown_total: dict[str | None, float] = {}

    def row(self, event: StepEvent) -> ProgressRow:
        detail = event.detail
        if is_dump_progress(detail):
            return dump_row(detail)
        if is_drain_status(detail):
            return drain_row(detail)
        if isinstance(detail, int | float) and not isinstance(detail, bool):
            total = self._countdown_total.setdefault(event.step_id, max(float(detail), 1.0))
            return ProgressRow(event.message.partition("\n")[0], total - float(detail), total)
        return ProgressRow(event.message.partition("\n")[0])


def log_line(event: StepEvent, titles: dict[str, str]) -> str | None:
    """The log pane's line for an event (child output lines excepted), or None."""
    title = titles.get(event.step_id or "", event.step_id or "")
    kind = event.kind
    if kind in (EventKind.RUN_STARTED, EventKind.RUN_RESUMED, EventKind.RUN_FINISHED):
        return event.message
    if kind == EventKind.STATE and event.state is not None:
        marker = MARKERS[event.state]
        if event.state == StepState.RUNNING:
            return f"{marker} {title}"
        if event.state == StepState.FAILED and event.error is not None:
            line = f"{marker} {title} failed: {event.error.message}"
            return line + (f"\n  hint: {event.error.hint}" if event.error.hint else "")
        if event.state == StepState.CANCELLED:
            return f"{marker} {title} cancelled"
        return f"{marker} {event.state}: {event.message}"
    if kind == EventKind.RECORD:
        if event.message.endswith("_snapshot"):
            t0 = " (t0)" if event.message == "repository_db_snapshot" else ""
            return f"  snapshot taken at {event.data.get('snapshot_at_iso')}{t0}"
        if event.message == "warnings":
            return "\n".join(f"  warning: {w}" for w in event.data.get("warnings", []))
        if event.message == "counter_reset":
            return f"  note: {event.data.get('note')}"
    return None
