"""The choice a restore step offers, asked in the step's body (text.CHOICES): what to do
while events still arrive, how to clear the pending events (clear, delete or give up), a
second recover start, the plain restart.

`ChoicePanel` holds one box per step with a choice (its question, a RadioSet of the
options, the chosen option's consequence) and shows only the shown step's, and only when
the step asks it now (`offers`: always, or once the step was refused and said why). The
chosen option goes to the run's RestoreChoices at once, so the step's plan says what it will
do: `show` answers True when it preselected one, and a pick of the admin's posts
`ChoicePanel.Changed`; the screen then redraws the plan. `hand_over` gives the choice to
the run once more just before the step runs.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import RadioButton, RadioSet, Static

from syncwizard.runbook.model import StepState
from syncwizard.tui.restore import text as rt

if TYPE_CHECKING:
    from syncwizard.runbook.engine import Engine
    from syncwizard.runbook.restore.choices import RestoreChoices

CHOSEN = "  (chosen)"  # after the chosen option: readable without colour


class ChoicePanel(Vertical):
    class Changed(Message):
        """The admin chose another option for `step_id`: the run's choices hold it already."""

        def __init__(self, step_id: str) -> None:
            super().__init__()
            self.step_id = step_id

    def __init__(self) -> None:
        super().__init__(id="step-choices")
        self.engine: Engine | None = None
        self.choices: RestoreChoices | None = None
        self._shown: str | None = None  # the step whose choice is on screen

    def set_run(self, engine: Engine, choices: RestoreChoices) -> None:
        """The run whose steps ask the choices, and the RestoreChoices its steps read."""
        self.engine = engine
        self.choices = choices

    def compose(self) -> ComposeResult:
        """One box per step with a choice (shown only for that step)."""
        for step_id, choice in rt.CHOICES.items():
            with Vertical(id=f"choice-{step_id}", classes="step-choice") as box:
                box.display = False
                yield Static(Text(choice.question, style="bold"), classes="choice-question")
                yield RadioSet(
                    *(RadioButton(option.label) for option in choice.options),
                    id=f"choice-set-{step_id}",
                    classes="choice-set",
                )
                yield Static("", id=f"consequence-{step_id}", classes="choice-consequence")

    def offers(self, step_id: str) -> bool:
        """Whether the step's choice is asked now: always, or once the step said why."""
        choice = rt.CHOICES.get(step_id)
        if choice is None:
            return False
        if not choice.after_refusal:
            return True
        engine = self.engine
        if engine is None or engine.states.get(step_id) != StepState.FAILED:
            return False
        # A second recover start is a question only after a start that ran.
        return step_id != rt.START_RECOVER or "started" in engine.records.get(step_id, {})

    def show(self, step_id: str) -> bool:
        """Show `step_id`'s choice if it asks one now, and no other. The first time it shows,
        the recommended option is chosen and handed to the run: True then (the plan changed)."""
        for other in rt.CHOICES:
            self.query_one(f"#choice-{other}").display = other == step_id and self.offers(other)
        choice = rt.CHOICES.get(step_id)
        if choice is None or not self.offers(step_id):
            return False
        # On a short terminal the choice is below the fold: bring it into view (the step's
        # explanation is one scroll up).
        box = self.query_one(f"#choice-{step_id}")
        self.call_after_refresh(box.scroll_visible, animate=False)
        if choice.after_refusal:  # asked now, after the step said why: the arrows choose
            self.query_one(f"#choice-set-{step_id}", RadioSet).focus()
        if self._shown == step_id:
            return False
        self._shown = step_id
        default = rt.default_choice(step_id, self.engine.results if self.engine else {})
        radio = self.query_one(f"#choice-set-{step_id}", RadioSet)
        buttons = list(radio.query(RadioButton))
        for option, button in zip(choice.options, buttons, strict=False):
            if option.value == default:
                button.value = True
        self._show_consequence(step_id, default)
        self._mark_chosen(step_id, default)
        return self._apply(step_id, default)

    def hand_over(self, step_id: str) -> str | None:
        """Just before `step_id` runs: its choice, if it asks one now, to the run's choices.
        The chosen option's label, or None when the step asks nothing."""
        choice = rt.CHOICES.get(step_id)
        if choice is None or self.choices is None or not self.offers(step_id):
            return None
        setattr(self.choices, choice.attribute, self._chosen(step_id))
        option = choice.option(self._chosen(step_id))
        return option.label if option else "?"

    @on(RadioSet.Changed, ".choice-set")
    def _changed(self, event: RadioSet.Changed) -> None:
        step_id = (event.radio_set.id or "").removeprefix("choice-set-")
        choice = rt.CHOICES.get(step_id)
        if choice is not None and 0 <= event.index < len(choice.options):
            value = choice.options[event.index].value
            self._show_consequence(step_id, value)
            self._mark_chosen(step_id, value)
            if self._apply(step_id, value):
                self.post_message(self.Changed(step_id))

    def _chosen(self, step_id: str) -> object:
        choice = rt.CHOICES[step_id]
        if self._shown == step_id:
            with contextlib.suppress(Exception):
                radio = self.query_one(f"#choice-set-{step_id}", RadioSet)
                index = radio.pressed_index
                if 0 <= index < len(choice.options):
                    return choice.options[index].value
        return rt.default_choice(step_id, self.engine.results if self.engine else {})

    def _apply(self, step_id: str, value: object) -> bool:
        """Hand the choice to the run at once, so the step's plan says what it will do."""
        if self.choices is None or not self.offers(step_id):
            return False
        setattr(self.choices, rt.CHOICES[step_id].attribute, value)
        return True

    def _mark_chosen(self, step_id: str, value: object) -> None:
        """Say which option is chosen in words after its label, not only by the button's
        colour (a monochrome terminal, a colour-blind admin)."""
        choice = rt.CHOICES[step_id]
        radio = self.query_one(f"#choice-set-{step_id}", RadioSet)
        for option, button in zip(choice.options, radio.query(RadioButton), strict=False):
            button.label = option.label + (CHOSEN if option.value == value else "")

    def _show_consequence(self, step_id: str, value: object) -> None:
        option = rt.CHOICES[step_id].option(value)
        self.query_one(f"#consequence-{step_id}", Static).update(
            option.consequence if option else ""
        )
