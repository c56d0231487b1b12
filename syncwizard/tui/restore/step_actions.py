"""Under a restore step's body: the Run button and, beside it, what Enter does now.

`StepActions` is the row #step-actions: the button (#run-step) and its hint (#run-hint).
The phase says whether the step can run (ready, or failed and run again) and what the
hint says (`set_phase`); the button names the step (`name_step`): `Run: <title>` where
there is room beside the hint, else `Run step <n>` (the step head above names it). A press
bubbles up as Button.Pressed, which the screen answers as it answers Enter.
"""

from __future__ import annotations

from collections.abc import Mapping

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Static

READY_HINT = "Enter runs it."
HINTS = {
    "ready": READY_HINT,
    "failed": "r runs it again",
    "running": "running...",
    "finished": "every step done: s shows the summary",
}


def run_label(step_id: str, titles: Mapping[str, str], *, narrow: bool) -> str:
    if narrow or step_id not in titles:
        return f"Run step {list(titles).index(step_id) + 1}" if step_id in titles else "Run"
    return f"Run: {titles[step_id]}"


class StepActions(Horizontal):
    def __init__(self) -> None:
        super().__init__(id="step-actions")
        self.button = Button("Run this step", variant="primary", id="run-step")
        self.hint = Static(READY_HINT, id="run-hint")

    def compose(self) -> ComposeResult:
        yield self.button
        yield self.hint

    def set_phase(self, phase: str) -> None:
        self.button.disabled = phase not in ("ready", "failed")
        self.hint.update(HINTS.get(phase, ""))

    def name_step(self, step_id: str, titles: Mapping[str, str], *, narrow: bool) -> None:
        self.button.label = run_label(step_id, titles, narrow=narrow)
