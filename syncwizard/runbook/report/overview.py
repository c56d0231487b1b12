"""The parts every report has: heading with the outcome, facts, timeline, errors."""

from __future__ import annotations

from syncwizard.runbook.model import StepState
from syncwizard.runbook.report.markdown import code, table, text, took, when
from syncwizard.runbook.report.view import RunView


def _where(view: RunView) -> str:
    step = view.record.stopped_at
    return view.title(step) if step else "the end"


def outcome(view: RunView) -> str:
    """finished / stopped at step X (failed) / abandoned / running (at step X)."""
    status = view.record.status()
    if status == "finished":
        return "finished"
    if status == "abandoned":
        return "abandoned" + (f" ({view.abandon_reason})" if view.abandon_reason else "")
    if status == "running":
        return f"running (at step {_where(view)})"
    if status == "interrupted":
        return f"stopped at step {_where(view)} (interrupted: the process ended mid-run)"
    return f"stopped at step {_where(view)} ({status})"


def heading(view: RunView) -> list[str]:
    record = view.record
    runbook = record.runbook or "unknown"
    return [
        f"# {runbook.capitalize()} run {code(record.run_id)}: {text(outcome(view))}",
        "",
        f"Profile {code(view.header.get('profile', '?'))}. Written by syncwizard from the "
        "run's journal; times in UTC.",
        "",
    ]


def facts(view: RunView) -> list[str]:
    record = view.record
    end = view.finished_at if view.finished_at is not None else record.last_at
    last_label = "Finished" if view.finished_at is not None else "Last journaled"
    if record.status() == "abandoned":
        last_label = "Abandoned"
    tool = view.header.get("tool_version")
    rows = [
        ("Run", code(record.run_id)),
        ("Runbook", text(record.runbook)),
        ("Profile", code(view.header.get("profile", "?"))),
        ("Outcome", text(outcome(view))),
        ("Started", when(record.started_at)),
        (last_label, when(end)),
        ("Duration", took(end - record.started_at) if record.started_at else ""),
        ("Tool version", f"syncwizard {text(tool)}" if tool else ""),
        ("Resumed", ", ".join(when(at) for at in view.resumed)),
        ("Run folder", code(record.run_dir)),
    ]
    return ["## Facts", "", *table(("Fact", "Value"), [(k, v) for k, v in rows if v])]


_STATE_SHOWN = {
    StepState.PENDING: "not run",
    StepState.RUNNING: "running",
    StepState.DONE: "done",
    StepState.SKIPPED: "skipped",
    StepState.FAILED: "**FAILED**",
    StepState.CANCELLED: "cancelled",
}


def _step_summary(view: RunView, step: str) -> str:
    state = view.state(step)
    if state.satisfied:
        summary = view.results.get(step, {}).get("summary") or view.messages.get(step, "")
        return text(summary)
    if state in (StepState.FAILED, StepState.CANCELLED):
        attempt = next((a for a in reversed(view.attempts) if a.step == step), None)
        return text(attempt.message if attempt else state)
    if state == StepState.RUNNING and view.record.status() != "running":
        return "the process ended during this step"
    return ""


def timeline(view: RunView) -> list[str]:
    rows = []
    for number, step in enumerate(view.step_ids, 1):
        state = view.state(step)
        shown = _STATE_SHOWN[state]
        if state == StepState.RUNNING and view.record.status() != "running":
            shown = "interrupted"
        start, end = view.started.get(step), view.ended.get(step)
        rows.append(
            (
                str(number),
                text(view.title(step)),
                shown,
                when(start, day=view.day),
                when(end, day=view.day),
                took(end - start) if start is not None and end is not None else "",
                _step_summary(view, step),
            )
        )
    headers = ("#", "Step", "State", "Started", "Finished", "Took", "Summary")
    return ["## Timeline", "", *table(headers, rows)]


def confirmations(view: RunView) -> list[str]:
    """Every gate answered: what it asked, and whether and after how long it was confirmed."""
    rows = []
    for gate in view.record.gates:
        seconds = float(gate.get("seconds", 0.0))
        if gate.get("confirmed"):
            answer = f"confirmed after {seconds:.1f} s"
        else:
            answer = "declined" if gate.get("optional") else "refused"
        rows.append(
            (
                when(float(gate.get("at", 0.0)), day=view.day),
                text(view.title(str(gate.get("step", "")))),
                text(str(gate.get("title", ""))),
                answer,
            )
        )
    if not rows:
        return []
    return ["## Confirmations", "", *table(("At", "Step", "Asked", "Answer"), rows)]


def errors(view: RunView) -> list[str]:
    if not view.attempts:
        return []
    lines = ["## Errors", ""]
    for attempt in view.attempts:
        resolved = view.state(attempt.step).satisfied
        said = "" if attempt.message == attempt.state else f": {text(attempt.message)}"
        lines.append(
            f"- **{text(view.title(attempt.step))}** {attempt.state} at "
            f"{when(attempt.at, day=view.day)}{said}"
            + (" (the step was done later, on resume)" if resolved else "")
        )
        if attempt.hint:
            lines.append(f"  - what to do: {text(attempt.hint)}")
    return [*lines, ""]
