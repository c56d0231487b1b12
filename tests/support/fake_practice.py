"""A PracticeDesk without a lab: the real scenarios and graders, a scripted run.

It fakes the practice lab (its reset sentences and timings) and the trainee's run (a
RunRecord as the journal would tell it); the tickets, grades and debriefs are the
product's own, made by the scenarios' real graders.
"""

from __future__ import annotations

import threading
from pathlib import Path

from syncwizard.lab.postgres import Drift
from syncwizard.practice import Debrief, DebriefPoint, ScenarioCard, SetUp
from syncwizard.runbook.journal import RunRecord
from syncwizard.runbook.model import StepState
from syncwizard.train import registry
from syncwizard.train.model import LabFacts

RESET_LINES = (
    "stopped the stand-ins (repository, Sync Service)",
    "dropped alfresco, syncservice and seeded the sample data again (sync GUID kept)",
    "purged 2 queue(s) holding 0 message(s)",
    "started the stand-ins; the repository makes 0 event(s) a second",
)


def weekend_restore_run(*, gave_up: bool) -> RunRecord:
    """A restore as its journal tells it: events archived (or given up), both databases
    swapped, the plain restart done (or not), gates confirmed after reading (or not)."""
    run = RunRecord(
        run_id="restore-20261206T031500Z",
        run_dir=Path("/nonexistent"),
        header={"runbook": "restore"},
        started_at=1000.0,
        last_at=1000.0 + 412,
        outcome="finished",
    )
    done = StepState.DONE
    run.states.update(
        clear_events=done,
        swap_repository=done,
        swap_sync=done,
        plain_restart=StepState.SKIPPED if gave_up else done,
    )
    run.results.update(
        clear_events={"archived": 0 if gave_up else 100_000, "given_up": 100_000 if gave_up else 0},
        plain_restart={"restarted": not gave_up},
    )
    run.gates = [
        {
            "title": "Remove the undelivered events of Consumer.<guid>.<topic>?",
            "confirmed": True,
            "seconds": 0.6 if gave_up else 7.5,
            "facts": [["queue", "Consumer.5f0c.alfresco.repo.event2"], ["pending", "100,000"]],
        }
    ]
    return run


class FakeDesk:
    def __init__(self, *, gave_up: bool = False) -> None:
        self.set_up_ids: list[str] = []
        self.run_ended = threading.Event()  # set it: the trainee's run has finished
        self.stopped = False  # set it: the run stopped (failed or cancelled), resumable
        self.gave_up = gave_up

    def scenarios(self) -> list[ScenarioCard]:
        return [
            ScenarioCard(
                s.id,
                s.title,
                s.ticket,
                s.difficulty,
                s.runbook,
                "best 13/15" if s.id == "routine-backup" else "not played",
            )
            for s in registry.SCENARIOS
        ]

    async def set_up(self, scenario_id: str) -> SetUp:
        scenario = registry.scenario(scenario_id)
        self.set_up_ids.append(scenario_id)
        lines = (
            *RESET_LINES,
            "lab reset in 1.6 s, scenario set up in 11.8 s",
            f"situation: {scenario.situation}",
        )
        return SetUp(scenario_id, lines, 1000.0)

    def watch(self, setup: SetUp, stop: threading.Event) -> Debrief | None:
        while not self.run_ended.wait(0.02):
            if stop.is_set():
                return None
        return self._graded(setup)

    def grade_stopped(self, setup: SetUp) -> Debrief | None:
        return self._graded(setup) if self.stopped and not self.run_ended.is_set() else None

    def _graded(self, setup: SetUp) -> Debrief:
        scenario = registry.scenario(setup.scenario)
        run = weekend_restore_run(gave_up=self.gave_up)
        drift = Drift(missing=3, extra=0) if self.gave_up else Drift(missing=0, extra=0)
        points = scenario.grade(run, LabFacts(drift))
        return Debrief(
            scenario.title,
            run.run_id,
            sum(p.earned for p in points),
            sum(p.possible for p in points),
            run.last_at - run.started_at,
            (),
            tuple(
                DebriefPoint(p.title, p.earned, p.possible, p.debrief, p.procedure) for p in points
            ),
        )
