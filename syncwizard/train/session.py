"""A scenario played: reset and set up the lab, watch the trainee's run, grade it."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from syncwizard.config import Profile
from syncwizard.errors import SyncWizardError
from syncwizard.lab.layout import LabLayout
from syncwizard.lab.reset import ResetReport, reset
from syncwizard.runbook.journal import JOURNAL_NAME, RunRecord, list_runs, load_run
from syncwizard.train import results
from syncwizard.train.faults import FaultWatcher
from syncwizard.train.grading import lab_facts, seconds_taken
from syncwizard.train.model import Scenario
from syncwizard.train.results import Attempt

ENDED = ("finished", "failed", "cancelled", "interrupted", "abandoned")


@dataclass(frozen=True)
class Prepared:
    reset: ResetReport
    setup_seconds: float  # the scenario's own setup, after the reset
    set_up_at: float


def refuse_while_running() -> None:
    """A reset under a live run would pull its databases and queue from under it."""
    busy = next((r for r in list_runs() if r.status() == "running"), None)
    if busy is not None:
        raise SyncWizardError(
            f"the {busy.runbook} run {busy.run_id} is in progress: resetting the lab now would "
            "pull its databases and queue from under it",
            hint="finish or cancel it in the wizard and close it, then `syncwizard train run` "
            "again",
            system="lab",
        )


async def prepare(scenario: Scenario, layout: LabLayout, profile: Profile) -> Prepared:
    """`lab reset`, then the scenario's situation; remembered as the one set up. Refused
    while a run is in progress."""
    refuse_while_running()
    report = await asyncio.to_thread(reset, layout)
    started = time.monotonic()
    await scenario.setup(layout, profile)
    setup_seconds = time.monotonic() - started
    return Prepared(report, setup_seconds, results.mark_set_up(scenario.id))


def latest_run(scenario: Scenario, since: float | None) -> RunRecord | None:
    """The newest run of the scenario's runbook started after its setup."""
    return next(
        (
            r
            for r in list_runs()
            if r.runbook == scenario.runbook and (since is None or r.started_at >= since)
        ),
        None,
    )


def grade(
    scenario: Scenario, record: RunRecord, layout: LabLayout, faults: tuple[str, ...] = ()
) -> Attempt:
    points = scenario.grade(record, lab_facts(layout))
    attempt = Attempt(
        scenario.id,
        record.run_id,
        time.time(),
        round(seconds_taken(record), 1),
        tuple(points),
        faults,
    )
    results.save(attempt)
    return attempt


class JournalTail:
    """The whole lines added to a run's journal since the last read."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / JOURNAL_NAME
        self.offset = 0

    def entries(self) -> list[dict[str, object]]:
        with self.path.open("rb") as handle:
            handle.seek(self.offset)
            chunk = handle.read()
        whole = chunk[: chunk.rfind(b"\n") + 1]
        self.offset += len(whole)
        found = []
        for line in whole.splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                found.append(entry)
        return found


def watch(
    scenario: Scenario,
    layout: LabLayout,
    since: float,
    *,
    say: Callable[[str], None],
    poll: float = 0.3,
    stop_after: float | None = None,
    stop: threading.Event | None = None,
) -> Attempt | None:
    """Wait for the trainee's run, inject the scenario's faults as its steps reach them,
    and grade it once it ended (its process let go of it). None when `stop_after` seconds
    passed first, or `stop` was set."""
    deadline = None if stop_after is None else time.monotonic() + stop_after
    stop = stop or threading.Event()
    watcher = FaultWatcher(layout, scenario.faults)
    tail: JournalTail | None = None
    while (deadline is None or time.monotonic() < deadline) and not stop.is_set():
        record = latest_run(scenario, since)
        if record is not None:
            if tail is None or tail.path.parent != record.run_dir:
                tail, watcher = JournalTail(record.run_dir), FaultWatcher(layout, scenario.faults)
                say(f"watching run {record.run_id}")
            for entry in tail.entries():
                before = len(watcher.fired)
                watcher.feed(entry)
                for what in watcher.fired[before:]:
                    say(f"fault: {what}")
            record = load_run(record.run_dir)
            if record.status() in ENDED:
                return grade(scenario, record, layout, tuple(watcher.fired))
        stop.wait(poll)
    return None


def no_run_error(scenario: Scenario) -> SyncWizardError:
    return SyncWizardError(
        f"no {scenario.runbook} run since the scenario {scenario.id!r} was set up",
        hint=f"`syncwizard train run {scenario.id}`, then run the wizard: syncwizard --profile lab",
        system="config",
    )
