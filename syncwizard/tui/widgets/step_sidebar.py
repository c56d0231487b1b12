"""The step sidebar of a runbook screen: every step with its state, in words and colour.

Each step is a marker and its title (wrapped under itself), then its state on
the next line: `pending`, `running`, `done in 41 s`, `FAILED`, ... The step the
body shows is drawn in reverse. Colours come from component classes, so the
stylesheet (and high contrast) decides them.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rich.text import Text
from textual.widget import Widget

from syncwizard.runbook.model import StepState

MARKERS = {
    StepState.PENDING: "·",
    StepState.RUNNING: "►",
    StepState.DONE: "✓",
    StepState.SKIPPED: "»",
    StepState.FAILED: "✗",
    StepState.CANCELLED: "■",
}
WORDS = {
    StepState.PENDING: "pending",
    StepState.RUNNING: "running",
    StepState.DONE: "done",
    StepState.SKIPPED: "skipped",
    StepState.FAILED: "FAILED",
    StepState.CANCELLED: "cancelled",
}


def duration(seconds: float | None) -> str:
    """`<1 s`, `41 s`, `3 min 05 s`, `1 h 02 min`."""
    if seconds is None:
        return ""
    if seconds < 1:
        return "<1 s"
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        minutes, rest = divmod(whole, 60)
        return f"{minutes} min" if rest == 0 else f"{minutes} min {rest:02d} s"
    hours, rest = divmod(whole, 3600)
    return f"{hours} h" if rest < 60 else f"{hours} h {rest // 60:02d} min"


@dataclass
class StepLine:
    step_id: str
    title: str
    state: StepState = StepState.PENDING
    took: float | None = None  # seconds, once the step has ended


class StepSidebar(Widget):
    COMPONENT_CLASSES = {f"step-sidebar--{state}" for state in StepState} | {
        "step-sidebar--shown",
        "step-sidebar--word",
    }
    DEFAULT_CSS = "StepSidebar { height: auto; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.steps: dict[str, StepLine] = {}
        self.shown: str | None = None  # the step whose body is on screen

    def set_steps(
        self,
        steps: Iterable[tuple[str, str]],
        states: Mapping[str, StepState] | None = None,
        took: Mapping[str, float | None] | None = None,
    ) -> None:
        """The runbook's steps (id, title), with the states a resumed run starts from."""
        states, took = states or {}, took or {}
        self.steps = {
            step_id: StepLine(
                step_id, title, states.get(step_id, StepState.PENDING), took.get(step_id)
            )
            for step_id, title in steps
        }
        self.refresh(layout=True)

    def set_state(self, step_id: str, state: StepState, took: float | None = None) -> None:
        line = self.steps.get(step_id)
        if line is None or (line.state, line.took) == (state, took):
            return
        line.state, line.took = state, took
        self.refresh()

    def show_step(self, step_id: str | None) -> None:
        if step_id != self.shown:
            self.shown = step_id
            self.refresh()

    def state_of(self, step_id: str) -> StepState:
        return self.steps[step_id].state

    def render(self) -> Text:
        width = max(self.content_region.width, 12)
        text = Text(end="")
        for number, line in enumerate(self.steps.values(), start=1):
            if number > 1:
                text.append("\n")
            self._step(text, line, width)
        return text

    def _step(self, text: Text, line: StepLine, width: int) -> None:
        colour = self.get_component_rich_style(f"step-sidebar--{line.state}", partial=True)
        title_style = colour
        if line.step_id == self.shown:
            title_style = colour + self.get_component_rich_style(
                "step-sidebar--shown", partial=True
            )
        title_lines = textwrap.wrap(line.title, max(width - 2, 8)) or [""]
        text.append(f"{MARKERS[line.state]} ", style=colour)
        text.append(title_lines[0], style=title_style)
        for more in title_lines[1:]:
            text.append("\n  ")
            text.append(more, style=title_style)
        word = WORDS[line.state]
        if line.took is not None and line.state in (StepState.DONE, StepState.SKIPPED):
            word += f" in {duration(line.took)}"
        text.append("\n  ")
        word_style = self.get_component_rich_style("step-sidebar--word", partial=True)
        text.append(word, style=colour + word_style)
