"""Graded attempts, kept under the state folder: `<state dir>/training/`.

results.json holds every attempt (scenario, run, points, time); active.json says which
scenario was set up last and when, so the run the trainee starts afterwards is found.
Nothing here holds a secret: points and debriefs are made from counts and step states.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syncwizard import paths
from syncwizard.train.model import Point


def training_dir() -> Path:
    return paths.state_dir() / "training"


@dataclass(frozen=True)
class Attempt:
    scenario: str
    run_id: str
    graded_at: float
    seconds: float  # the run's time, first journaled event to last
    points: tuple[Point, ...]
    faults: tuple[str, ...] = ()  # the faults injected during the run

    @property
    def earned(self) -> int:
        return sum(p.earned for p in self.points)

    @property
    def possible(self) -> int:
        return sum(p.possible for p in self.points)

    def as_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "run_id": self.run_id,
            "graded_at": self.graded_at,
            "seconds": round(self.seconds, 1),
            "points": [p.as_json() for p in self.points],
            "faults": list(self.faults),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Attempt:
        return cls(
            scenario=str(data["scenario"]),
            run_id=str(data["run_id"]),
            graded_at=float(data["graded_at"]),
            seconds=float(data["seconds"]),
            points=tuple(Point(**p) for p in data["points"]),
            faults=tuple(data.get("faults", ())),
        )


def _results_file() -> Path:
    return training_dir() / "results.json"


def attempts() -> list[Attempt]:
    try:
        data = json.loads(_results_file().read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    return [Attempt.from_json(entry) for entry in data.get("attempts", [])]


def save(attempt: Attempt) -> None:
    """Keep `attempt`; a run graded again replaces its earlier grade."""
    kept = [a for a in attempts() if a.run_id != attempt.run_id or a.scenario != attempt.scenario]
    kept.append(attempt)
    paths.private_dir(training_dir())
    paths.write_private(
        _results_file(), json.dumps({"attempts": [a.as_json() for a in kept]}, indent=2) + "\n"
    )


def best(scenario_id: str) -> Attempt | None:
    mine = [a for a in attempts() if a.scenario == scenario_id]
    return max(mine, key=lambda a: (a.earned, -a.seconds), default=None)


def mark_set_up(scenario_id: str, at: float | None = None) -> float:
    at = time.time() if at is None else at
    paths.private_dir(training_dir())
    paths.write_private(
        training_dir() / "active.json", json.dumps({"scenario": scenario_id, "set_up_at": at})
    )
    return at


def set_up_at(scenario_id: str) -> float | None:
    """When `scenario_id` was last set up (None if it is not the one set up last)."""
    try:
        data = json.loads((training_dir() / "active.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return float(data["set_up_at"]) if data.get("scenario") == scenario_id else None
