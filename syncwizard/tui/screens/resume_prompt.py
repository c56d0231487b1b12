"""Offered when Backup is chosen and an unfinished backup run exists (subiquity's resume).

A ModalScreen[str] answering "resume", "afresh" (abandon that run, start a new
one) or "cancel". It says where the run stopped, what is done, the last error,
and where its files are, so the choice is an informed one.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Static

from syncwizard.runbook.journal import RunRecord
from syncwizard.tui import keys
from syncwizard.tui.runbook_text import short_path
from syncwizard.tui.screens.fitting import FittingModal

RESUME, AFRESH, CANCEL = "resume", "afresh", "cancel"
HOW = (
    "Resume continues at that step: finished dumps are checked again, never redone. "
    "Start afresh begins a new run; the old run's files stay where they are."
)
STATUS_WORDS = {
    "interrupted": "was interrupted (syncwizard stopped before it ended)",
    "failed": "failed",
    "cancelled": "was cancelled",
}


def describe_run(record: RunRecord, titles: Mapping[str, str]) -> Text:
    steps: list[str] = list(record.header.get("steps", []))
    stopped = record.stopped_at
    text = Text()
    text.append("Run ", style="bold")
    text.append(record.run_id)
    profile = record.header.get("profile")
    if profile:
        text.append(f" (profile {profile})")
    started = time.strftime("%Y-%m-%d %H:%M", time.localtime(record.started_at))
    text.append(f", started {started}, ")
    text.append(STATUS_WORDS.get(record.status(), record.status()))
    if stopped is not None and stopped in steps:
        text.append("\nStopped at ", style="bold")
        text.append(f"step {steps.index(stopped) + 1} of {len(steps)}: ")
        text.append(titles.get(stopped, stopped))
    done = [
        titles.get(step, step)
        for step in steps
        if record.states.get(step) is not None and record.states[step].satisfied
    ]
    text.append("\nDone ", style="bold")
    text.append(", ".join(done) if done else "nothing yet")
    error = record.last_error
    if error:
        text.append("\nLast error ", style="bold")
        text.append(str(error.get("message", "")))
        if error.get("hint"):
            text.append(f"\nhint: {error['hint']}")
    where = record.header.get("backup_set")
    if where:
        text.append("\nFiles in ", style="bold")
        text.append(short_path(str(where)))
    return text


class ResumePromptScreen(FittingModal[str]):
    BINDINGS = [keys.RESUME_RUN, keys.RESUME_AFRESH, keys.RESUME_CANCEL]

    def __init__(self, record: RunRecord, titles: Mapping[str, str]) -> None:
        super().__init__()
        self.record = record
        self.titles = titles

    def compose(self) -> ComposeResult:
        with Vertical(id="resume-prompt") as box:
            box.border_title = "Unfinished backup run"
            with VerticalScroll(id="resume-body", classes="modal-body"):
                yield Static(describe_run(self.record, self.titles), id="resume-run")
                yield Static(HOW, id="resume-how")
            with Horizontal(id="resume-buttons"):
                yield Button("Resume", variant="primary", id="resume")
                yield Button("Start afresh", variant="warning", id="afresh")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#resume", Button).focus()

    @on(Button.Pressed)
    def chosen(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id or CANCEL)

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)
