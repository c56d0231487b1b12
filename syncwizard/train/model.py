"""What a training scenario is, what grading it gives, and the lab facts grading reads."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from syncwizard.config import Profile
from syncwizard.lab.layout import CLASSIC, LabLayout
from syncwizard.lab.postgres import Drift
from syncwizard.runbook.journal import RunRecord
from syncwizard.runbook.model import StepState


@dataclass(frozen=True)
class Point:
    """One graded point, with the debrief that explains it."""

    id: str
    title: str
    earned: int
    possible: int
    debrief: str  # why it matters, what the run did
    procedure: str  # the step of Alfresco's procedure it comes from

    @property
    def full(self) -> bool:
        return self.earned == self.possible

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "earned": self.earned,
            "possible": self.possible,
            "debrief": self.debrief,
            "procedure": self.procedure,
        }


@dataclass(frozen=True)
class LabFacts:
    """The lab's real state when a run is graded."""

    drift: Drift  # repository DB against Sync DB (lab postgres.node_drift)


@dataclass(frozen=True)
class Fault:
    """Done to the lab when the run's step `step` reaches `state` (once)."""

    step: str
    state: StepState
    what: str  # said to the trainer: "the Sync Service stand-in is paused (SIGSTOP)"
    inject: Callable[[LabLayout], None]


Setup = Callable[[LabLayout, Profile], Awaitable[None]]
Grader = Callable[[RunRecord, LabFacts], list[Point]]
# Sections of the lab profile a scenario changes (e.g. a second node in health.other_nodes),
# from the lab it plays on; `train run` writes the lab profile with them.
ProfilePatch = Callable[[LabLayout], Mapping[str, Mapping[str, object]]]


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    ticket: str  # the on-call ticket the trainee reads, one paragraph
    difficulty: int  # 1 (routine) to 3 (3 a.m.)
    runbook: str  # "backup" or "restore": the wizard's runbook the trainee runs
    setup: Setup  # after `lab reset`: the situation of the ticket
    grade: Grader
    faults: tuple[Fault, ...] = ()
    target_seconds: float = 600.0  # a run within this earns the time point
    situation: str = ""  # what setup did, said to the trainer after it
    # The lab flavour it plays on (`lab up --like`): CLASSIC or CURRENT (lab/layout.py).
    flavour: str = CLASSIC
    profile_patch: ProfilePatch | None = None
