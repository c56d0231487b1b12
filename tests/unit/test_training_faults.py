"""The training fault scenarios' graders without a lab (issue 12): each graded from a run's
journal as the wizard writes it, failed attempts before a successful retry included."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from syncwizard.clients.names import LEGACY_TOPIC
from syncwizard.config import load_settings
from syncwizard.errors import SyncWizardError
from syncwizard.lab import stack
from syncwizard.lab.layout import CLASSIC, LabLayout
from syncwizard.lab.postgres import Drift
from syncwizard.runbook.journal import Journal, RunRecord, load_run
from syncwizard.runbook.model import EventKind, RefusedError, StepEvent, StepState
from syncwizard.train import grading, registry
from syncwizard.train.model import LabFacts, Scenario
from syncwizard.train.scenarios.broker_restart_mid_drain import BROKER_RESTART_MID_DRAIN
from syncwizard.train.scenarios.never_healthy_after_recover import (
    FAILING_CHECK,
    NEVER_HEALTHY_AFTER_RECOVER,
)
from syncwizard.train.scenarios.producing_during_restore import PRODUCING_DURING_RESTORE
from syncwizard.train.scenarios.wrong_recover_password import WRONG_RECOVER_PASSWORD

IN_SYNC = LabFacts(Drift(missing=0, extra=0))
DRIFTED = LabFacts(Drift(missing=4, extra=0))
DONE, FAILED, RUNNING = StepState.DONE, StepState.FAILED, StepState.RUNNING
MINE = (
    PRODUCING_DURING_RESTORE,
    BROKER_RESTART_MID_DRAIN,
    WRONG_RECOVER_PASSWORD,
    NEVER_HEALTHY_AFTER_RECOVER,
)

# One journal line to write: (step, state, result) | (step, record name, data) | (step, error)
Line = tuple[Any, ...]


def journaled(
    tmp_path: Path, runbook: str, *lines: Line, finished: bool = False, read: bool = True
) -> RunRecord:
    """A run as the engine journals it: one gate confirmed first (after reading its facts,
    or at once), RUNNING before each DONE/FAILED, records inside."""
    run_id = f"{runbook}-20261206T100000Z"
    journal = Journal.create(tmp_path / run_id)

    def emit(kind: EventKind, **fields: Any) -> None:
        journal.append(StepEvent(run_id=run_id, kind=kind, **fields))

    running: set[str] = set()  # steps whose RUNNING was written for this attempt

    def attempt(step: str) -> None:
        if step not in running:
            emit(EventKind.STATE, step_id=step, state=RUNNING)
        running.discard(step)

    emit(EventKind.RUN_STARTED, data={"runbook": runbook, "steps": []})
    facts = [["queue", "Consumer.5f0c.alfresco.repo.event2"], ["pending", "14"]]
    emit(
        EventKind.GATE,
        step_id="stop_services",
        message="Stop the Sync Service and the repository?",
        data={"facts": facts, "confirmed": True, "seconds": 5.0 if read else 0.2},
    )
    for line in lines:
        step = line[0]
        if isinstance(line[1], str) and not isinstance(line[1], StepState):
            emit(EventKind.RECORD, step_id=step, message=line[1], data=line[2])
        elif isinstance(line[1], SyncWizardError):
            attempt(step)
            emit(EventKind.STATE, step_id=step, state=FAILED, error=line[1])
        elif line[1] == RUNNING:
            emit(EventKind.STATE, step_id=step, state=RUNNING)
            running.add(step)
        else:
            attempt(step)
            result = line[2] if len(line) > 2 else {}
            emit(EventKind.STATE, step_id=step, state=line[1], data=result)
    if finished:
        emit(EventKind.RUN_FINISHED)
    journal.close()
    return load_run(tmp_path / run_id)


def earned(scenario: Scenario, record: RunRecord, facts: LabFacts = IN_SYNC) -> dict[str, int]:
    return {p.id: p.earned for p in scenario.grade(record, facts)}


def missed(scenario: Scenario, record: RunRecord) -> list[str]:
    """The points a run did not earn in full."""
    return [p.id for p in scenario.grade(record, IN_SYNC) if not p.full]


def debrief(scenario: Scenario, record: RunRecord, point: str) -> str:
    return next(p.debrief for p in scenario.grade(record, IN_SYNC) if p.id == point)


RESTORED: tuple[Line, ...] = (
    ("clear_events", DONE, {"archived": 40, "given_up": 0}),
    ("swap_repository", DONE),
    ("swap_sync", DONE),
)


def test_producing_during_restore_rewards_stopping_the_repository_before_the_clear(
    tmp_path: Path,
) -> None:
    scenario = PRODUCING_DURING_RESTORE
    producing = RefusedError("the repository is still producing: 14 events arrived")
    stopped = journaled(
        tmp_path / "good",
        "restore",
        ("check_quiet", producing),
        ("check_quiet", RUNNING),
        ("check_quiet", "choice", {"while_producing": "stop"}),
        ("check_quiet", "repository_stopped", {"command": "ctl stop"}),
        ("check_quiet", DONE, {"quiet": True, "window": 3.0}),
        *RESTORED,
        finished=True,
    )
    assert earned(scenario, stopped) == {
        "repository_stopped": 4,
        "events_lost": 2,
        "databases": 3,
        "drift": 3,
        "gates_read": 2,
        "time": 1,
    }
    assert "ran its stop command" in debrief(scenario, stopped, "repository_stopped")
    went_on = journaled(
        tmp_path / "on",
        "restore",
        ("check_quiet", RUNNING),
        ("check_quiet", "choice", {"while_producing": "go_on"}),
        ("check_quiet", DONE, {"quiet": False, "producing": True, "rate": 5.0}),
        *RESTORED,
    )
    assert earned(scenario, went_on, DRIFTED)["repository_stopped"] == 0
    assert earned(scenario, went_on, DRIFTED)["drift"] == 0
    assert "went on knowingly" in debrief(scenario, went_on, "repository_stopped")
    refused = journaled(tmp_path / "bad", "restore", ("check_quiet", producing), read=False)
    assert earned(scenario, refused, DRIFTED) == {
        "repository_stopped": 0,
        "events_lost": 0,
        "databases": 0,
        "drift": 0,
        "gates_read": 0,
        "time": 1,
    }
    assert "never stopped" in debrief(scenario, refused, "repository_stopped")


def test_broker_restart_grades_a_drain_judged_after_the_counter_reset(tmp_path: Path) -> None:
    scenario = BROKER_RESTART_MID_DRAIN
    note = "DequeueCount fell below its value at t0 (12 < 300): the broker restarted"

    def backup(name: str, reset_at: float, drained_at: float, **wait: Any) -> RunRecord:
        result = {"mode": "drain", "clause": "the queue is empty", "drained_at": drained_at}
        return journaled(
            tmp_path / name,
            "backup",
            ("wait_drain", RUNNING),
            ("wait_drain", "counter_reset", {"at": reset_at, "note": note}),
            ("wait_drain", DONE, {**result, **wait}),
            ("sync_db", DONE),
            finished=True,
        )

    # drained_at is a wall-clock time; the journal stamps sync_db's start with now.
    after = backup("after", reset_at=1000.0, drained_at=1010.0)
    assert earned(scenario, after) == {"finished": 3, "drain_after_restart": 4, "time": 1}
    assert note in debrief(scenario, after, "drain_after_restart")
    before = backup("before", reset_at=1010.0, drained_at=1000.0)
    assert earned(scenario, before)["drain_after_restart"] == 0
    counted = backup("counted", reset_at=1000.0, drained_at=0.0, mode="countdown")
    assert earned(scenario, counted) == {"finished": 3, "drain_after_restart": 0, "time": 1}
    assert "countdown" in debrief(scenario, counted, "drain_after_restart")
    dumped_early = backup("early", reset_at=1000.0, drained_at=4.0e12)  # after sync_db began
    assert earned(scenario, dumped_early)["drain_after_restart"] == 0


REFUSED = SyncWizardError(
    "the start command `ctl start` exited with 1: The Sync Service stand-in stopped during "
    "start-up: recover refused: wrong repository admin credentials for user admin.",
    system="sync_service",
)
RECOVERED: tuple[Line, ...] = (
    ("start_recover", DONE),
    ("plain_restart", DONE, {"restarted": True}),
)


def test_a_wrong_recover_password_tried_once_then_right_earns_everything(
    tmp_path: Path,
) -> None:
    scenario = WRONG_RECOVER_PASSWORD
    once = journaled(tmp_path / "once", "restore", ("start_recover", REFUSED), *RECOVERED)
    assert earned(scenario, once) == {
        "password_checked": 2,
        "recovered": 4,
        "recover_removed": 2,
        "drift": 3,
        "gates_read": 2,
        "time": 1,
    }
    other = SyncWizardError("the start command exited with 1: port in use", system="sync_service")
    thrice = journaled(
        tmp_path / "thrice",
        "restore",
        ("start_recover", REFUSED),
        ("start_recover", other),  # not a credentials refusal: not counted
        ("start_recover", REFUSED),
        ("start_recover", REFUSED),
        read=False,
    )
    assert earned(scenario, thrice) == {
        "password_checked": 0,
        "recovered": 0,
        "recover_removed": 0,
        "drift": 3,
        "gates_read": 0,
        "time": 1,
    }
    assert "3 -Drecover starts were refused" in debrief(scenario, thrice, "password_checked")


UNHEALTHY = RefusedError(
    "the Sync Service did not become healthy with a consumer on its queue within 10 s; the "
    "last look said: databaseConnection: cannot reach the Sync DB: connection failed: "
    'password authentication failed for user "sync"',
    system="health",
)


def test_never_healthy_grades_the_named_check_and_the_fix(tmp_path: Path) -> None:
    scenario = NEVER_HEALTHY_AFTER_RECOVER
    fixed = journaled(tmp_path / "fixed", "restore", ("start_recover", UNHEALTHY), *RECOVERED)
    assert missed(scenario, fixed) == []
    abandoned = journaled(tmp_path / "left", "restore", ("start_recover", UNHEALTHY), read=False)
    assert earned(scenario, abandoned) == {
        "unhealthy_named": 2,
        "fixed": 0,
        "recover_removed": 0,
        "drift": 3,
        "gates_read": 0,
        "time": 1,
    }
    assert "ALTER ROLE" in debrief(scenario, abandoned, "fixed")
    # A run that never met the fault earns neither: nothing was seen, nothing fixed.
    plain = journaled(tmp_path / "plain", "restore", *RECOVERED)
    assert earned(scenario, plain)["unhealthy_named"] == earned(scenario, plain)["fixed"] == 0


def seen_failing(*checks: str) -> dict[str, Any]:
    """The recover watch's record of the checks it saw failing."""
    return {
        "checks": {
            name: {"at": 1796603540.9, "message": f"{name}: password authentication failed"}
            for name in checks
        }
    }


def test_never_healthy_fixed_before_the_watch_ended_earns_the_named_check_and_the_fix(
    tmp_path: Path,
) -> None:
    """The trainee read databaseConnection failing on the watch and put the password back
    while it still ran: the step never failed, and nothing is lost for it."""
    scenario = NEVER_HEALTHY_AFTER_RECOVER
    quick = journaled(
        tmp_path / "quick",
        "restore",
        ("start_recover", RUNNING),
        ("start_recover", "unhealthy_seen", seen_failing("activeMQConnection")),
        ("start_recover", "unhealthy_seen", seen_failing("activeMQConnection", FAILING_CHECK)),
        *RECOVERED,
    )
    assert missed(scenario, quick) == []
    assert "still running" in debrief(scenario, quick, "fixed")
    assert f"saw {FAILING_CHECK} fail" in debrief(scenario, quick, "unhealthy_named")
    # Other checks failing on the way (a consumer not yet attached) are not the fault.
    other = journaled(
        tmp_path / "other",
        "restore",
        ("start_recover", RUNNING),
        ("start_recover", "unhealthy_seen", seen_failing("activeMQConnection")),
        *RECOVERED,
    )
    assert earned(scenario, other)["unhealthy_named"] == earned(scenario, other)["fixed"] == 0


def test_step_records_reads_every_record_of_a_name_in_order(tmp_path: Path) -> None:
    record = journaled(
        tmp_path,
        "restore",
        ("start_recover", RUNNING),
        ("start_recover", "unhealthy_seen", seen_failing("a")),
        ("plain_restart", "unhealthy_seen", seen_failing("c")),
        ("start_recover", "unhealthy_seen", seen_failing("a", "b")),
    )
    seen = grading.step_records(record, "start_recover", "unhealthy_seen")
    assert [sorted(s["checks"]) for s in seen] == [["a"], ["a", "b"]]
    assert record.records["start_recover"]["unhealthy_seen"] == seen[-1]  # the last only


def test_step_errors_reads_every_failed_attempt_and_a_missing_journal_has_none(
    tmp_path: Path,
) -> None:
    record = journaled(tmp_path, "restore", ("start_recover", REFUSED), *RECOVERED)
    assert record.last_error is None  # the RunRecord forgot it once the retry succeeded
    errors = grading.step_errors(record, "start_recover")
    assert [e["system"] for e in errors] == ["sync_service"]
    assert "wrong repository admin credentials" in errors[0]["message"]
    gone = RunRecord("restore-x", tmp_path / "nowhere", {"runbook": "restore"})
    assert grading.step_errors(gone, "start_recover") == []


@pytest.mark.parametrize("scenario", MINE, ids=lambda s: s.id)
def test_each_fault_scenario_is_listed_with_a_ticket_and_a_procedure_on_every_point(
    scenario: Scenario, tmp_path: Path
) -> None:
    assert scenario in registry.SCENARIOS and registry.scenario(scenario.id) is scenario
    assert scenario.ticket.split(":")[0][:3] in ("INC", "CHG")
    assert 1 <= scenario.difficulty <= 3
    points = scenario.grade(journaled(tmp_path, scenario.runbook), IN_SYNC)
    assert all(
        p.procedure.startswith(("Backup", "Restore", "Every destructive step"))
        for p in points
        if p.id != "time"
    )
    assert all(p.debrief for p in points)


def test_the_lab_profile_names_a_never_healthy_check_within_two_minutes(tmp_path: Path) -> None:
    """A trainee of never-healthy-after-recover hears which check fails before the time
    target, not after the 600 s a large repository's recover may need."""
    config = tmp_path / "config.toml"
    stack.write_lab_profile(LabLayout(tmp_path / "lab"), config, LEGACY_TOPIC, CLASSIC)
    profile = load_settings(config, "lab", environ={}).profile
    assert profile.sync_service.healthy_timeout == stack.LAB_HEALTHY_TIMEOUT == 120.0
    assert profile.sync_service.healthy_timeout < NEVER_HEALTHY_AFTER_RECOVER.target_seconds
