"""The restore's databases: restored into a scratch copy, swapped in, the old one dropped."""

from __future__ import annotations

from typing import Any

from syncwizard.runbook.model import StepState
from syncwizard.runbook.report.markdown import code, count, plural, table, text, took, when
from syncwizard.runbook.report.view import RunView
from syncwizard.runbook.restore.step_names import LABELS, RESTORE_STEP_OF, SWAP_STEP_OF


def databases(view: RunView) -> list[str]:
    """One row per database restored: its scratch copy, the swap, the old one's fate."""
    rows, notes = [], []
    for role, restore_id in RESTORE_STEP_OF.items():
        swap_id, label = SWAP_STEP_OF[role], LABELS[role]
        restored, swap = view.out(restore_id), view.out(swap_id)
        if view.state(restore_id) == StepState.SKIPPED:
            notes.append(f"- {label}: skipped ({text(view.messages.get(restore_id, ''))})")
            continue
        swapped = swap or view.recorded(swap_id, "swapped")
        if not restored and not swapped:
            continue
        aside = swapped.get("aside")
        dropped = view.recorded(swap_id, "dropped_aside")
        rows.append(
            (
                label,
                code(restored.get("database") or swapped.get("database") or "?"),
                code(restored["scratch"]) if restored.get("scratch") else "",
                text(str(restored.get("mode", "")).replace("_", " ")),
                count(restored.get("tables")),
                count(restored.get("rows")),
                took(restored.get("seconds")),
                _swap_cell(swap, swapped, aside),
                _dropped_cell(dropped, view.record_at.get((swap_id, "dropped_aside")), aside),
            )
        )
    if not rows and not notes:
        return []
    headers = (
        "DB",
        "Database",
        "Restored into",
        "Mode",
        "Tables",
        "Rows",
        "Took",
        "Swapped in (old one kept as)",
        "Old one dropped",
    )
    lines = ["## Databases restored", ""]
    if rows:
        lines += table(headers, rows)
    return [*lines, *notes, ""] if notes else lines


def _swap_cell(swap: dict[str, Any], swapped: dict[str, Any], aside: object) -> str:
    if not swapped:
        return "not yet"
    shown = code(aside) if aside else "yes (dropped first, nothing kept)"
    if swap.get("terminated"):
        shown += f"; {plural(swap['terminated'], 'connection')} ended"
    return shown if swap else f"{shown} (recorded; the step did not finish)"


def _dropped_cell(dropped: dict[str, Any], at: float | None, aside: object) -> str:
    if dropped:
        return f"yes, {code(dropped.get('database') or aside or '?')}" + (
            f" at {when(at)}" if at else ""
        )
    return "no, kept" if aside else ""
