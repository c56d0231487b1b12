"""The `PracticeDesk` the TUI's Practice screens play through: `train run`, as data.

Cheap to import (the entry point hands it over before the first paint): the training,
the lab and the runbooks load when a scenario is first listed or set up.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from syncwizard.practice import Debrief, DebriefPoint, ScenarioCard, SetUp

if TYPE_CHECKING:
    from syncwizard.train.results import Attempt


class LabDesk:
    def __init__(self, config_path: Path | None) -> None:
        self.config_path = config_path
        self.fired: list[str] = []  # the faults injected into the run watched

    def _heard(self, said: str) -> None:
        if said.startswith("watching run "):
            self.fired.clear()
        elif said.startswith("fault: "):
            self.fired.append(said.removeprefix("fault: "))

    def scenarios(self) -> list[ScenarioCard]:
        from syncwizard.train import registry, results

        cards = []
        for scenario in registry.SCENARIOS:
            top = results.best(scenario.id)
            cards.append(
                ScenarioCard(
                    scenario.id,
                    scenario.title,
                    scenario.ticket,
                    scenario.difficulty,
                    scenario.runbook,
                    "not played" if top is None else f"best {top.earned}/{top.possible}",
                )
            )
        return cards

    async def set_up(self, scenario_id: str) -> SetUp:
        from syncwizard.train import cli, registry, session

        scenario = registry.scenario(scenario_id)
        layout = cli.lab_layout()
        profile = cli.scenario_profile(scenario, layout, self.config_path)
        prepared = await session.prepare(scenario, layout, profile)
        lines = [
            *prepared.reset.done,
            f"lab reset in {prepared.reset.seconds:.1f} s, scenario set up in "
            f"{prepared.setup_seconds:.1f} s",
        ]
        if scenario.situation:
            lines.append(f"situation: {scenario.situation}")
        changes = tuple(cli.profile_changes(scenario, layout))
        return SetUp(scenario.id, (*lines, *changes), prepared.set_up_at, changes)

    def watch(self, setup: SetUp, stop: threading.Event) -> Debrief | None:
        from syncwizard.train import cli, registry, session

        scenario = registry.scenario(setup.scenario)
        attempt = session.watch(
            scenario,
            cli.lab_layout(),
            setup.since,
            say=self._heard,
            stop=stop,
            ended=("finished", "abandoned"),  # a stopped run may be resumed yet
        )
        return None if attempt is None else _debrief(scenario.title, attempt)

    def grade_stopped(self, setup: SetUp) -> Debrief | None:
        from syncwizard.train import cli, registry, session

        scenario = registry.scenario(setup.scenario)
        record = session.latest_run(scenario, setup.since)
        if record is None or record.status() not in session.STOPPED:
            return None
        layout = cli.lab_layout()
        return _debrief(scenario.title, session.grade(scenario, record, layout, tuple(self.fired)))


def _debrief(title: str, attempt: Attempt) -> Debrief:
    return Debrief(
        title,
        attempt.run_id,
        attempt.earned,
        attempt.possible,
        attempt.seconds,
        attempt.faults,
        tuple(
            DebriefPoint(p.title, p.earned, p.possible, p.debrief, p.procedure)
            for p in attempt.points
        ),
    )
