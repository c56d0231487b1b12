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
from syncwizard.lab import stack
from syncwizard.lab.layout import LabLayout, flavour_of, read_settings
from syncwizard.lab.reset import ResetReport, reset
from syncwizard.runbook.journal import JOURNAL_NAME, RunRecord, abandon, list_runs, load_run
from syncwizard.train import results
from syncwizard.train.faults import FaultWatcher
from syncwizard.train.grading import lab_facts, seconds_taken
from syncwizard.train.model import Scenario
from syncwizard.train.results import Attempt

ENDED = ("finished", "failed", "cancelled", "interrupted", "abandoned")
# A run stopped this way can still be resumed (and a scenario's good path often does).
STOPPED = ("failed", "cancelled", "interrupted")


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


def refuse_other_flavour(scenario: Scenario, layout: LabLayout) -> None:
    """A scenario plays on the lab flavour its ticket describes (the hardened broker's
    refusals exist only in `current`). Switching flavours rebuilds the broker and the
    stand-in's health check and rewrites the lab profile: the admin's `lab up`, not ours."""
    flavour = flavour_of(layout)
    if flavour != scenario.flavour:
        raise SyncWizardError(
            f"the scenario {scenario.id!r} plays on the {scenario.flavour!r} lab flavour; "
            f"this lab is {flavour!r}",
            hint=f"`syncwizard lab down` then `syncwizard lab up --like {scenario.flavour}` "
            f"(it rewrites the lab profile), then `syncwizard train run {scenario.id}` again",
            system="lab",
        )


def lab_profile_sections(scenario: Scenario, layout: LabLayout) -> dict[str, dict[str, object]]:
    """The lab profile as `lab up` writes it, with the scenario's changes."""
    settings = read_settings(layout)
    sections = stack.profile_sections(layout, settings.topic, settings.flavour)
    if scenario.profile_patch is not None:
        for name, changes in scenario.profile_patch(layout).items():
            sections[name] = {**sections.get(name, {}), **changes}
    return sections


def write_lab_profile(scenario: Scenario, layout: LabLayout, config_path: Path) -> None:
    """Every `train run` writes the lab profile: a scenario's changes (a cluster node...)
    must not outlive it into the next one."""
    from syncwizard.config_file import write_profile

    write_profile(
        config_path,
        stack.PROFILE_NAME,
        lab_profile_sections(scenario, layout),
        comment=f"written by `syncwizard train run {scenario.id}` (as `lab up` writes it"
        + (", with the scenario's changes)" if scenario.profile_patch else ")"),
    )


def abandon_earlier_runs(profile_name: str) -> list[str]:
    """The lab reset put the databases and the queue back: a run of the lab profile left
    unfinished by an earlier attempt no longer describes them, and an open restore would
    refuse the scenario's own backups (a backup under a half-done restore). Marked abandoned,
    as `--new` does; their files stay."""
    done = []
    for record in list_runs():
        if record.header.get("profile") == profile_name and not record.finished:
            abandon(record, "the practice lab was reset for a training scenario")
            done.append(f"marked the unfinished {record.runbook} run {record.run_id} abandoned")
    return done


async def prepare(scenario: Scenario, layout: LabLayout, profile: Profile) -> Prepared:
    """`lab reset`, then the scenario's situation; remembered as the one set up. Refused
    while a run is in progress, and on a lab of another flavour than the scenario's."""
    refuse_while_running()
    refuse_other_flavour(scenario, layout)
    report = await asyncio.to_thread(reset, layout)
    report.done += abandon_earlier_runs(profile.name)
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
    ended: tuple[str, ...] = ENDED,
) -> Attempt | None:
    """Wait for the trainee's run, inject the scenario's faults as its steps reach them,
    and grade it once it ended (its process let go of it in one of the `ended` states).
    None when `stop_after` seconds passed first, or `stop` was set."""
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
            if record.status() in ended:
                return grade(scenario, record, layout, tuple(watcher.fired))
        stop.wait(poll)
    return None


def no_run_error(scenario: Scenario) -> SyncWizardError:
    return SyncWizardError(
        f"no {scenario.runbook} run since the scenario {scenario.id!r} was set up",
        hint=f"`syncwizard train run {scenario.id}`, then run the wizard: syncwizard --profile lab",
        system="config",
    )
