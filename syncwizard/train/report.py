"""The trainer's Markdown report: every scenario, its attempts, grades, times, debriefs.

Made from the results store only (counts, step states, debrief sentences), which holds no
secret; it goes through the masking policy anyway, as every report does."""

from __future__ import annotations

from datetime import UTC, datetime

from syncwizard.glossary import terms_in
from syncwizard.train.model import Scenario
from syncwizard.train.results import Attempt


def _md(text: str) -> str:
    """Text as Markdown shows it: `<guid>` is not an HTML tag, `|` does not end a cell."""
    return text.replace("\\", "\\\\").replace("<", "\\<").replace("|", "\\|")


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _attempt_lines(attempt: Attempt) -> list[str]:
    lines = [
        f"#### Run {attempt.run_id}: {attempt.earned}/{attempt.possible} points, "
        f"{attempt.seconds:.0f} s (graded {_when(attempt.graded_at)})",
        "",
    ]
    if attempt.faults:
        lines += [f"Fault injected: {_md(what)}." for what in attempt.faults] + [""]
    lines += ["| Point | Score | Debrief | Procedure |", "|---|---|---|---|"]
    for point in attempt.points:
        lines.append(
            f"| {_md(point.title)} | {point.earned}/{point.possible} | {_md(point.debrief)} "
            f"| {_md(point.procedure)} |"
        )
    return [*lines, ""]


def render(scenarios: tuple[Scenario, ...], attempts: list[Attempt]) -> str:
    lines = [
        "# Sync Service training: trainer's report",
        "",
        f"Written {_when(max((a.graded_at for a in attempts), default=0.0))} "
        f"from {len(attempts)} graded run(s).",
        "",
        "| Scenario | Difficulty | Runs | Best | Best time |",
        "|---|---|---|---|---|",
    ]
    for scenario in scenarios:
        mine = [a for a in attempts if a.scenario == scenario.id]
        top = max(mine, key=lambda a: (a.earned, -a.seconds), default=None)
        best = "-" if top is None else f"{top.earned}/{top.possible}"
        took = "-" if top is None else f"{top.seconds:.0f} s"
        lines.append(
            f"| {scenario.title} (`{scenario.id}`) | {scenario.difficulty} | {len(mine)} "
            f"| {best} | {took} |"
        )
    lines.append("")
    for scenario in scenarios:
        lines += [f"## {scenario.title}", "", f"> {_md(scenario.ticket)}", ""]
        mine = sorted((a for a in attempts if a.scenario == scenario.id), key=lambda a: a.graded_at)
        if not mine:
            lines += ["Not played yet.", ""]
        for attempt in mine:
            lines += _attempt_lines(attempt)
    used = terms_in(*(p.debrief for a in attempts for p in a.points))
    if used:
        lines += ["## Terms the debriefs use", ""]
        lines += [f"- **{term.name}**: {_md(term.meaning)}" for term in used]
    return "\n".join(lines)
