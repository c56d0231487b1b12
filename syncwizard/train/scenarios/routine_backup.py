"""Routine backup while events flow: the drain criterion, not a clock."""

from __future__ import annotations

from syncwizard.runbook.backup import step_names as backup_steps
from syncwizard.runbook.journal import RunRecord
from syncwizard.train import grading
from syncwizard.train.model import LabFacts, Point, Scenario
from syncwizard.train.scenarios.common import FLOWING_RATE, events_flow

TARGET_SECONDS = 300.0


def _grade(record: RunRecord, facts: LabFacts) -> list[Point]:
    return [
        grading.finished(record, 4, grading.BACKUP_SYNC),
        grading.drain_criterion(record, 3),
        grading.within_time(record, TARGET_SECONDS),
    ]


ROUTINE_BACKUP = Scenario(
    id="routine-backup",
    title="Routine backup while events flow",
    ticket=(
        "Change CHG-1021: take tonight's backup of the Sync Service before the upgrade window. "
        "Users are working: the repository keeps producing a few events a second. The set "
        "must restore to a Sync DB that tracked the repository backup."
    ),
    difficulty=1,
    runbook=backup_steps.RUNBOOK,
    setup=events_flow,
    grade=_grade,
    target_seconds=TARGET_SECONDS,
    situation=f"the repository makes {FLOWING_RATE:g} events a second",
)
