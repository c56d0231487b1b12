"""Training's grading, results and report without a lab (issue 12)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from syncwizard.cli import main
from syncwizard.errors import SyncWizardError
from syncwizard.lab.postgres import Drift
from syncwizard.runbook.journal import Journal, RunRecord, runs_dir
from syncwizard.runbook.model import EventKind, StepEvent, StepState
from syncwizard.train import grading, registry, results, session
from syncwizard.train.faults import FaultWatcher
from syncwizard.train.model import Fault, LabFacts
from syncwizard.train.report import render
from syncwizard.train.results import Attempt
from syncwizard.train.scenarios.routine_backup import ROUTINE_BACKUP
from syncwizard.train.scenarios.stalled_consumer import STALLED_CONSUMER
from syncwizard.train.scenarios.weekend_outage import WEEKEND_OUTAGE

IN_SYNC = LabFacts(Drift(missing=0, extra=0))


def record(runbook: str, outcome: str, **states: tuple[StepState, dict[str, object]]) -> RunRecord:
    run = RunRecord(
        run_id=f"{runbook}-20261206T100000Z",
        run_dir=Path("/nonexistent"),
        header={"runbook": runbook, "steps": list(states)},
        started_at=1000.0,
        last_at=1042.0,
        outcome=outcome,
    )
    for step, (state, result) in states.items():
        run.states[step] = state
        run.results[step] = dict(result)
    return run


DONE = StepState.DONE


def test_a_restore_that_gave_up_events_and_kept_recover_loses_those_points() -> None:
    good = record(
        "restore",
        "finished",
        clear_events=(DONE, {"archived": 500, "given_up": 0}),
        swap_repository=(DONE, {}),
        swap_sync=(DONE, {}),
        plain_restart=(DONE, {"restarted": True}),
    )
    bad = record(
        "restore",
        "finished",
        clear_events=(DONE, {"archived": 0, "given_up": 500}),
        swap_repository=(DONE, {}),
        swap_sync=(DONE, {}),
        plain_restart=(StepState.SKIPPED, {"restarted": False}),
    )
    drifted = LabFacts(Drift(missing=3, extra=1))
    assert [p.earned for p in WEEKEND_OUTAGE.grade(good, IN_SYNC)] == [4, 3, 2, 3, 0, 1]
    points = {p.id: p for p in WEEKEND_OUTAGE.grade(bad, drifted)}
    assert points["events_lost"].earned == 0 and "500 event(s) were given up" in (
        points["events_lost"].debrief
    )
    assert points["recover_removed"].earned == 0
    assert points["drift"].earned == 0 and "lacks 3 node(s)" in points["drift"].debrief
    assert all(p.procedure for p in points.values())


def test_a_countdown_backup_loses_the_drain_point_and_a_slow_one_the_time_point() -> None:
    counted = record(
        "backup", "finished", wait_drain=(DONE, {"mode": "countdown"}), seal=(DONE, {})
    )
    counted.last_at = counted.started_at + ROUTINE_BACKUP.target_seconds + 1
    points = {p.id: p.earned for p in ROUTINE_BACKUP.grade(counted, IN_SYNC)}
    assert points == {"finished": 4, "drain": 0, "time": 0}


def test_the_stalled_consumer_grades_the_sync_dump_taken_behind_it() -> None:
    stopped = record("backup", "failed", wait_drain=(StepState.FAILED, {}))
    went_on = record(
        "backup", "finished", wait_drain=(DONE, {"mode": "countdown"}), sync_db=(DONE, {})
    )
    assert [p.earned for p in STALLED_CONSUMER.grade(stopped, IN_SYNC)] == [5, 3, 1]
    assert [p.earned for p in STALLED_CONSUMER.grade(went_on, IN_SYNC)] == [0, 0, 1]


def test_a_fault_fires_once_at_its_step_and_state(tmp_path: Path) -> None:
    hits: list[object] = []
    fault = Fault("wait_drain", StepState.RUNNING, "paused", hits.append)
    watcher = FaultWatcher(object(), [fault])  # type: ignore[arg-type]
    watcher.feed({"kind": "state", "step": "sync_db", "state": "running"})
    watcher.feed({"kind": "state", "step": "wait_drain", "state": "running"})
    watcher.feed({"kind": "state", "step": "wait_drain", "state": "running"})
    assert len(hits) == 1 and watcher.fired == ["paused"]


def test_results_keep_the_best_and_the_report_says_every_point(tmp_path: Path) -> None:
    points = tuple(ROUTINE_BACKUP.grade(record("backup", "failed"), IN_SYNC))
    results.save(Attempt(ROUTINE_BACKUP.id, "backup-1", 2000.0, 12.0, points))
    results.save(Attempt(ROUTINE_BACKUP.id, "backup-1", 2001.0, 12.0, points))  # graded again
    assert len(results.attempts()) == 1
    assert results.best(ROUTINE_BACKUP.id) == results.attempts()[0]
    text = render(registry.SCENARIOS, results.attempts())
    assert "| Routine backup while events flow (`routine-backup`) | 1 | 1 | 1/8 |" in text
    assert "Not played yet." in text and "Backup, steps 2-3" in text
    # The drain point's debrief says "drain criterion": the glossary explains it below.
    assert "## Terms the debriefs use" in text and "- **drain**: Waiting until" in text


def test_an_unknown_scenario_is_named_with_the_known_ones() -> None:
    with pytest.raises(SyncWizardError) as caught:
        registry.scenario("nope")
    assert "routine-backup" in caught.value.message and "syncwizard train" in caught.value.hint


def test_train_lists_scenarios_and_grade_without_a_run_says_what_to_do(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["train"]) == 0
    out = capsys.readouterr().out
    assert "stalled-consumer" in out and "not played" in out and "INC-3307" in out
    assert main(["train", "grade", "weekend-outage"]) == 2
    err = capsys.readouterr().err
    assert "no restore run since" in err and "syncwizard train run weekend-outage" in err
    assert main(["train", "report"]) == 0
    written = Path(capsys.readouterr().out.split(" to ")[-1].strip())
    assert written.read_text(encoding="utf-8").startswith("# Sync Service training")


def test_a_scenario_is_not_set_up_under_a_run_in_progress() -> None:
    run_dir = runs_dir() / "restore-20261206T100000Z"
    journal = Journal.create(run_dir)  # held open: its lock says a process drives it
    try:
        journal.append(
            StepEvent(run_id=run_dir.name, kind=EventKind.RUN_STARTED, data={"runbook": "restore"})
        )
        with pytest.raises(SyncWizardError) as caught:
            asyncio.run(session.prepare(WEEKEND_OUTAGE, None, None))  # type: ignore[arg-type]
        assert "restore run restore-20261206T100000Z is in progress" in caught.value.message
    finally:
        journal.close()


def test_a_gate_confirmed_sooner_than_its_facts_can_be_read_loses_the_reading_point() -> None:
    read = {"title": "Remove the undelivered events?", "confirmed": True, "seconds": 4.2}
    run = record("restore", "finished")
    run.gates = [
        {**read, "facts": [["queue", "Consumer.abc.topic"], ["pending", "500"]]},
        {"title": "Go on without the archive?", "confirmed": False, "seconds": 0.1, "facts": []},
    ]
    assert grading.gates_read(run, 2).earned == 2
    run.gates.append(
        {
            "title": "Replace the repository database?",
            "confirmed": True,
            "seconds": 0.4,
            "facts": [["database", "alfresco"], ["size", "1.2 GB"], ["tables", "93"]],
        }
    )
    point = grading.gates_read(run, 2)
    assert point.earned == 0
    assert "'Replace the repository database?' (showing database: alfresco" in point.debrief
    assert "after 0.4 s; its 3 fact(s) take 1.9 s to read" in point.debrief
    assert grading.gates_read(record("restore", "failed"), 2).earned == 0  # none confirmed
