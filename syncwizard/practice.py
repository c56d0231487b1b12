"""What the TUI's Practice screens get from the training, as plain data.

The training plays on the practice lab, which the TUI never imports (an entry point hands
it a `PracticeDesk`, as it hands the lab's state): these types are all the two share.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ScenarioCard:
    id: str
    title: str
    ticket: str
    difficulty: int  # 1 (routine) to 3 (3 a.m.)
    runbook: str  # "backup" or "restore"
    best: str  # "not played" or "best 11/15"


@dataclass(frozen=True)
class SetUp:
    """A scenario set up: what was done to the lab and how long it took."""

    scenario: str
    lines: tuple[str, ...]
    since: float  # when it was set up: the run to grade starts after this
    # Settings of the lab profile the scenario changed (a cluster node...), said as lines:
    # when there are any, the app reads its profile again before the run starts.
    profile_changes: tuple[str, ...] = ()


@dataclass(frozen=True)
class DebriefPoint:
    title: str
    earned: int
    possible: int
    debrief: str
    procedure: str


@dataclass(frozen=True)
class Debrief:
    scenario_title: str
    run_id: str
    earned: int
    possible: int
    seconds: float
    faults: tuple[str, ...]
    points: tuple[DebriefPoint, ...]


class PracticeDesk(Protocol):
    def scenarios(self) -> list[ScenarioCard]:
        """Every scenario, with the trainee's best result (reads small files)."""
        ...

    async def set_up(self, scenario_id: str) -> SetUp:
        """Reset the lab and set up the scenario's situation (seconds)."""
        ...

    def watch(self, setup: SetUp, stop: threading.Event) -> Debrief | None:
        """Blocking, in a thread: inject the scenario's faults as the trainee's run reaches
        them and grade it once it finished (or was abandoned); None once `stop` is set."""
        ...

    def grade_stopped(self, setup: SetUp) -> Debrief | None:
        """Grade the scenario's run if it stopped (failed, cancelled, killed): the trainee
        has left it. None when there is none, or it runs or finished (`watch` grades that).
        Blocking: reads the journal and the lab."""
        ...
