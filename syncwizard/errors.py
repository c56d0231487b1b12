"""One error type for everything the user can be told about.

Every failure that reaches the user names the thing that failed, what was
expected, and what to do next. Clients raise `SyncWizardError`; the CLI prints
it without a traceback and the TUI shows it in the panel of its system.
"""

from __future__ import annotations


class SyncWizardError(Exception):
    """A failure with a message for the user and a hint on what to do.

    `system` names the outside system or input at fault ("health", "broker",
    "stomp", "repository_db", "sync_db", "service", "config", "lab"), so a
    status report can list errors per system.
    """

    def __init__(self, message: str, *, hint: str = "", system: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.system = system

    def __str__(self) -> str:
        return self.message

    def render(self) -> str:
        """The message and, on its own line, the hint."""
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message

    def as_dict(self) -> dict[str, str]:
        return {"system": self.system, "message": self.message, "hint": self.hint}


def combined(problems: list[SyncWizardError], what: str) -> SyncWizardError:
    """Several problems found by one check (e.g. a preflight) as one error listing each with
    its fix; a single problem as itself."""
    if len(problems) == 1:
        return problems[0]
    lines = [f"{what} found {len(problems)} problems:"]
    for problem in problems:
        lines.append(f"  - {problem.message}")
        if problem.hint:
            lines.append(f"    fix: {problem.hint}")
    return SyncWizardError("\n".join(lines), hint=problems[0].hint, system=problems[0].system)
