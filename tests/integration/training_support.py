"""Helpers of the training fault scenarios' lab tests (this module holds no tests): a
scenario set up and timed, the trainee's run played through the runbook engine with the
scenario's faults injected by the watcher `train run` uses, and its grade."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from test_backup_support import FAST

from syncwizard.config import Profile, broker_password, load_settings
from syncwizard.lab.layout import LabLayout
from syncwizard.runbook.backup.options import BackupOptions
from syncwizard.runbook.backup.runbook import start_backup
from syncwizard.runbook.engine import Engine
from syncwizard.runbook.journal import JOURNAL_NAME, load_run
from syncwizard.runbook.model import Gate, Observer
from syncwizard.runbook.restore.runbook import RestoreChoices, resolve_set, start_restore
from syncwizard.train import grading, session
from syncwizard.train.faults import FaultWatcher
from syncwizard.train.model import Scenario
from syncwizard.train.results import Attempt

TIMINGS: dict[str, float] = {}


def lab_profile(lab_config: Path, backup_dir: Path, **environ: str) -> Profile:
    environ = {"SYNCWIZARD_BACKUP__DIR": str(backup_dir), **FAST, **environ}
    return load_settings(lab_config, "lab", environ=environ).profile


async def confirm(gate: Gate) -> bool:
    """A trainee who confirms each gate at once, without reading it."""
    return True


async def confirm_after_reading(gate: Gate) -> bool:
    """A trainee who reads each gate's facts before confirming it."""
    await asyncio.sleep(grading.reading_seconds(len(gate.facts)) + 0.1)
    return True


def scores(attempt: Attempt) -> dict[str, int]:
    return {point.id: point.earned for point in attempt.points}


def debriefs(attempt: Attempt) -> dict[str, str]:
    return {point.id: point.debrief for point in attempt.points}


async def prepared(scenario: Scenario, lab: LabLayout, profile: Profile) -> float:
    """`lab reset` and the scenario's setup, as `train run` does them; timed."""
    started = time.monotonic()
    done = await session.prepare(scenario, lab, profile)
    took = time.monotonic() - started
    assert took <= 30.0, (took, done.reset.done)
    TIMINGS[f"{scenario.id} setup"] = max(took, TIMINGS.get(f"{scenario.id} setup", 0.0))
    return took


class Played:
    """One trainee run: its engine (run it, change the choices, run it again as the trainee
    does after a refusal) and the watcher that injects the scenario's faults."""

    def __init__(
        self, scenario: Scenario, lab: LabLayout, engine: Engine, watcher: FaultWatcher
    ) -> None:
        self.scenario = scenario
        self.lab = lab
        self.engine = engine
        self.watcher = watcher
        self.started = time.monotonic()

    @classmethod
    def restore(
        cls,
        scenario: Scenario,
        lab: LabLayout,
        profile: Profile,
        choices: RestoreChoices,
        *,
        reads: bool = True,
    ) -> Played:
        last_night = resolve_set(Path(profile.backup.dir), None)  # the newest usable set
        watcher = FaultWatcher(lab, scenario.faults)
        engine = start_restore(
            profile,
            last_night,
            choices,
            broker_password=broker_password(profile.broker),
            observers=[watcher],
            confirm=confirm_after_reading if reads else confirm,
        )
        return cls(scenario, lab, engine, watcher)

    @classmethod
    def backup(
        cls, scenario: Scenario, lab: LabLayout, profile: Profile, **options: object
    ) -> Played:
        watcher = FaultWatcher(lab, scenario.faults)
        observers: list[Observer] = [watcher]
        engine = start_backup(
            profile,
            BackupOptions.from_settings(profile.backup, **options),
            broker_password=broker_password(profile.broker),
            observers=observers,
            confirm=confirm,
        )
        return cls(scenario, lab, engine, watcher)

    async def graded(self, timing: str | None = None) -> Attempt:
        """Close the run (the trainee ends the wizard) and grade it."""
        await self.engine.aclose()
        if timing:
            TIMINGS[timing] = time.monotonic() - self.started
        record = load_run(self.engine.journal.run_dir)
        return session.grade(self.scenario, record, self.lab, tuple(self.watcher.fired))

    def journal_text(self) -> str:
        return (Path(self.engine.journal.run_dir) / JOURNAL_NAME).read_text(encoding="utf-8")
