"""The run as a report reads it: its journal's facts, masked, step by step."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from syncwizard.masking import mask_data, mask_strings
from syncwizard.runbook.backup import step_names as backup_steps
from syncwizard.runbook.journal import JOURNAL_NAME, RunRecord, read_entries
from syncwizard.runbook.model import EventKind, StepState
from syncwizard.runbook.restore import step_names as restore_steps

# A step's title as its runbook names it, for journals that lack the "<title>: started" line.
KNOWN_TITLES = {
    backup_steps.RUNBOOK: backup_steps.TITLES,
    restore_steps.RUNBOOK: restore_steps.TITLES,
}


@dataclass
class Attempt:
    """A failed or cancelled attempt of a step."""

    step: str
    at: float
    state: str
    message: str
    hint: str = ""


@dataclass
class RunView:
    """What a report needs of a run: the record's facts, masked, and what only the journal
    lines hold (step titles, times of failed attempts, resumes)."""

    record: RunRecord
    found_secrets: set[str] = field(default_factory=set)
    header: dict[str, Any] = field(default_factory=dict)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)  # last transition message per step
    started: dict[str, float] = field(default_factory=dict)
    ended: dict[str, float] = field(default_factory=dict)
    attempts: list[Attempt] = field(default_factory=list)
    record_at: dict[tuple[str, str], float] = field(default_factory=dict)
    resumed: list[float] = field(default_factory=list)
    finished_at: float | None = None
    abandon_reason: str = ""

    @classmethod
    def of(cls, record: RunRecord, secrets: Iterable[str] = ()) -> RunView:
        entries: list[dict[str, Any]] = []
        with contextlib.suppress(OSError):
            entries = read_entries(record.run_dir / JOURNAL_NAME)
        found: set[str] = set()
        header, results, records, entries = mask_data(
            [record.header, record.results, record.records, entries], found
        )
        found |= {s for s in secrets if s}
        view = cls(record, found_secrets=found)
        view.header = mask_strings(header, found)
        view.results = mask_strings(results, found)
        view.records = mask_strings(records, found)
        view.started = dict(record.step_started)
        view.ended = dict(record.step_finished)
        for entry in mask_strings(entries, found):
            view._apply(entry)
        return view

    def _apply(self, entry: dict[str, Any]) -> None:
        kind, step, at = entry.get("kind"), entry.get("step"), float(entry.get("at", 0) or 0)
        message = str(entry.get("message", ""))
        if kind == EventKind.STATE and step:
            state = str(entry.get("state", ""))
            self.messages[step] = message
            if state == StepState.RUNNING:
                self.started[step] = at
                self.ended.pop(step, None)
                if message.endswith(": started"):
                    self.titles[step] = message.removesuffix(": started")
            else:
                self.ended[step] = at
            if state in (StepState.FAILED, StepState.CANCELLED):
                error = entry.get("error") or {}
                title = self.titles.get(step, "")
                if not error.get("message") and title:
                    message = message.removeprefix(f"{title}: ")
                self.attempts.append(
                    Attempt(
                        step, at, state, str(error.get("message") or message), error.get("hint", "")
                    )
                )
        elif kind == EventKind.RECORD and step:
            self.record_at[(step, message)] = at
        elif kind == EventKind.RUN_RESUMED:
            self.resumed.append(at)
        elif kind == EventKind.RUN_FINISHED:
            self.finished_at = at
        elif kind == EventKind.RUN_ABANDONED:
            self.finished_at = at
            self.abandon_reason = message

    @property
    def step_ids(self) -> list[str]:
        ids = [str(s) for s in self.header.get("steps", [])]
        return ids + [s for s in self.record.states if s not in ids]

    def title(self, step: str) -> str:
        known = KNOWN_TITLES.get(self.record.runbook, {})
        return self.titles.get(step) or known.get(step) or step

    def state(self, step: str) -> StepState:
        return self.record.states.get(step, StepState.PENDING)

    def out(self, step: str) -> dict[str, Any]:
        """The outputs of a step that is done or skipped; {} otherwise."""
        return self.results.get(step, {}) if self.state(step).satisfied else {}

    def recorded(self, step: str, name: str) -> dict[str, Any]:
        return self.records.get(step, {}).get(name, {})

    @property
    def day(self) -> str:
        return datetime.fromtimestamp(self.record.started_at, UTC).strftime("%Y-%m-%d")
