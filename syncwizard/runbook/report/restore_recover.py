"""The restore's end: the -Drecover start, the plain restart, health at the end."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncwizard.runbook.model import StepState
from syncwizard.runbook.report.markdown import bullets, code, count, table, text, when
from syncwizard.runbook.report.view import RunView
from syncwizard.runbook.restore import step_names as steps
from syncwizard.runbook.restore.recover_watch import UNHEALTHY_SEEN


def recover_and_restart(view: RunView) -> list[str]:
    """The -Drecover start (with what its log says of it), then the plain restart."""
    recover, restart = view.out(steps.RECOVER), view.out(steps.PLAIN_RESTART)
    lines: list[str] = []
    if recover:
        lines += ["## Sync Service started with -Drecover", ""]
        lines += bullets(
            [
                ("Command", code(recover["command"]) if recover.get("command") else ""),
                ("Exit code", count(recover.get("exit_code"))),
                ("Healthy at", when(recover.get("healthy_at"))),
                ("Consumers on the queue", count(recover.get("consumers"))),
                ("Drift before the start", text(recover.get("drift_before") or "not measured")),
                ("Drift after it", text(recover.get("drift_after") or "not measured")),
            ]
        )
        lines += failing_on_the_way(view, steps.RECOVER)
        log_lines = recover.get("log_lines") or []
        if log_lines:
            lines += ["", f"What the Sync Service's log ({code(recover.get('log'))}) says of it:"]
            lines += ["", "```", *[str(line) for line in log_lines], "```", ""]
        elif recover.get("log"):
            lines.append(f"- Its log, {code(recover['log'])}, said nothing of the recover.")
        if recover.get("persistent_note"):
            lines.append(f"- {text(recover['persistent_note'])}")
        if recover.get("other_nodes"):
            others = ", ".join(str(url) for url in recover["other_nodes"])
            lines.append(f"- The other nodes start normally, without -Drecover: {text(others)}")
        lines.append("")
    if view.state(steps.PLAIN_RESTART) == StepState.SKIPPED:
        lines += [
            "## Plain restart",
            "",
            "Not done: " + text(view.messages.get(steps.PLAIN_RESTART, "")),
            "",
        ]
    elif restart:
        lines += ["## Plain restart (without recover)", ""]
        lines += bullets(
            [
                ("Exit code", count(restart.get("exit_code"))),
                ("Healthy at", when(restart.get("healthy_at"))),
                ("-Drecover in the running process", text(restart.get("option_check") or "")),
            ]
        )
        lines.append("")
    return lines


def failing_on_the_way(view: RunView, step: str) -> list[str]:
    """The checks the step's last watch saw failing before the service was healthy, each
    with when it first failed and what it said then."""
    checks = view.recorded(step, UNHEALTHY_SEEN).get("checks")
    if not isinstance(checks, Mapping) or not checks:
        return []
    lines = ["- **Failing on the way:**"]
    for name, seen in checks.items():
        seen = seen if isinstance(seen, Mapping) else {}
        said = f": {text(' '.join(str(seen['message']).split()))}" if seen.get("message") else ""
        lines.append(f"  - {code(name)} from {when(seen.get('at'))}{said}")
    return lines


def final_health(view: RunView) -> list[str]:
    """Health after the last start that ran, and where the report was written."""
    health: Mapping[str, Any] = {}
    source = ""
    for step in (steps.PLAIN_RESTART, steps.RECOVER):
        found = view.out(step).get("health")
        if isinstance(found, Mapping) and found:
            health, source = found, view.title(step)
            break
    lines: list[str] = []
    if health:
        all_ok = all(ok is True for ok in health.values())
        lines += ["## Health at the end", ""]
        lines += [
            f"{'Every check healthy' if all_ok else '**Not every check is healthy**'} "
            f"(after: {text(source)}).",
            "",
        ]
        restart = view.out(steps.PLAIN_RESTART)
        if source != view.title(steps.PLAIN_RESTART) and restart.get("healthy_at"):
            lines += [
                f"Healthy again after the plain restart, at {when(restart['healthy_at'])}.",
                "",
            ]
        rows = [
            (code(name), "healthy" if ok is True else "**UNHEALTHY**" if ok is False else text(ok))
            for name, ok in health.items()
        ]
        lines += table(("Check", "State"), rows)
    report = view.out(steps.REPORT).get("report")
    if report:
        lines += [f"Report written to {code(report)}.", ""]
    return lines
