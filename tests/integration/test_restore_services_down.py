"""The restore proves the services are down before it touches anything, starts -Drecover
only on a service that is really down and only once, and sees the option gone after the
plain restart: against the real lab (issue 10, points 5 and 6)."""

from __future__ import annotations

import shlex
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from broker_fixture import BrokerLab, stomp_connection, subscribe_confirmed
from standin_support import (
    admin_password,
    health,
    log_text,
    restore,
    sync_queue,
)
from test_restore_producing import restore_run

from syncwizard.config import Profile, load_settings
from syncwizard.lab import postgres, process, repository_control, standin
from syncwizard.lab.layout import LabLayout, read_settings
from syncwizard.runbook.model import RefusedError, StepState
from syncwizard.runbook.restore.runbook import RestoreChoices

pytestmark = pytest.mark.integration

STARTING = "Sync Service stand-in starting"
RECOVERING_S = 60  # a recover kept "recovering" this long: longer than any test waits


@pytest.fixture(autouse=True)
async def lab_restored(lab: LabLayout) -> AsyncIterator[None]:
    await restore(lab)
    yield
    repository_control.start(lab)
    await restore(lab)


def profile(lab_config: Path, backup_dir: Path, **sync_service: str) -> Profile:
    environ = {
        "SYNCWIZARD_BACKUP__DIR": str(backup_dir),
        "SYNCWIZARD_SYNC_SERVICE__DOWN_TIMEOUT": "3",
    }
    environ |= {f"SYNCWIZARD_SYNC_SERVICE__{k.upper()}": v for k, v in sync_service.items()}
    return load_settings(lab_config, "lab", environ=environ).profile


def ctl(lab: LabLayout) -> str:
    return f"{shlex.quote(sys.executable)} -m syncwizard.lab.standin ctl"


def standin_pid(lab: LabLayout) -> int:
    pid = process.running_pid(lab, standin.PART)
    assert pid is not None, "the stand-in is not running"
    return pid


def health_url(lab: LabLayout) -> str:
    return f"https://127.0.0.1:{lab.ports.standin}/alfresco/healthcheck"


@pytest.fixture
def consumer_left(lab: LabLayout) -> Iterator[None]:
    """A STOMP consumer on the sync queue that no stop command ends (another node, a tool)."""
    connection = stomp_connection(BrokerLab(lab, read_settings(lab).topic))
    try:
        subscribe_confirmed(connection, f"/queue/{sync_queue(lab)}", id="left", ack="client")
        yield
    finally:
        connection.disconnect()


async def test_a_stop_command_that_exits_0_while_the_service_runs_on_fails_naming_it(
    lab: LabLayout, lab_config: Path, backup_set: Path, tmp_path: Path
) -> None:
    pid = standin_pid(lab)
    run = restore_run(profile(lab_config, tmp_path, stop="true"), backup_set, RestoreChoices())
    try:
        for step in ("verify_set", "preflight"):
            assert await run.run_step(step) == StepState.DONE, run.errors.get(step)
        assert await run.run_step("stop_services") == StepState.FAILED
    finally:
        await run.aclose()
    error = run.errors["stop_services"]
    assert isinstance(error, RefusedError)
    assert "the services are not down 3 s after the stop" in error.message
    assert f"the Sync Service health check at {health_url(lab)} answers (HTTP " in error.message
    assert f"consumer(s) on the sync queue {sync_queue(lab)}" in error.message
    assert f"the Sync Service's process {pid} (found by its pid file" in error.message
    assert "another unit or container" in error.hint
    assert standin_pid(lab) == pid  # nothing was started or stopped in its place
    assert run.states["clear_events"] == StepState.PENDING


async def test_a_consumer_and_a_repository_session_left_are_named(
    lab: LabLayout, lab_config: Path, backup_set: Path, tmp_path: Path, consumer_left: None
) -> None:
    left_open = psycopg.connect(
        postgres.conninfo(lab, "repository"),
        passfile=str(lab.pgpass),
        application_name="report-tool",
        autocommit=True,
    )
    run = restore_run(profile(lab_config, tmp_path), backup_set, RestoreChoices())
    try:
        for step in ("verify_set", "preflight"):
            assert await run.run_step(step) == StepState.DONE, run.errors.get(step)
        assert await run.run_step("stop_services") == StepState.FAILED
        assert not standin.is_running(lab)  # its stop command worked ...
    finally:
        await run.aclose()
        pid = left_open.info.backend_pid
        left_open.close()
    message = run.errors["stop_services"].message
    # ... but a consumer it does not own, and a client of the repository DB, remain.
    assert f"1 consumer(s) on the sync queue {sync_queue(lab)}" in message
    assert "1 session(s) on the repository database 'alfresco'" in message
    assert f"report-tool from 127.0.0.1 as alfresco (pid {pid})" in message
    assert "health check at" not in message  # the stand-in's was silent
    assert run.records["stop_services"]["still_running"]["running"]


async def test_with_everything_down_the_stop_step_says_what_it_proved(
    lab: LabLayout, lab_config: Path, backup_set: Path, tmp_path: Path
) -> None:
    run = restore_run(profile(lab_config, tmp_path), backup_set, RestoreChoices())
    try:
        for step in ("verify_set", "preflight", "stop_services"):
            assert await run.run_step(step) == StepState.DONE, run.errors.get(step)
    finally:
        await run.aclose()
    down = run.results["stop_services"]["down"]
    assert down == [
        f"no consumer on {sync_queue(lab)}",
        f"no producer on {read_settings(lab).topic}",
        "the health URL silent",
        "no session on 'alfresco'",
    ]


async def test_the_recover_start_is_refused_while_the_service_still_runs(
    lab: LabLayout, lab_config: Path, backup_set: Path, tmp_path: Path
) -> None:
    pid = standin_pid(lab)
    starts = log_text(lab).count(STARTING)
    choices = RestoreChoices("clear", "admin", admin_password(lab))
    run = restore_run(profile(lab_config, tmp_path), backup_set, choices)
    try:
        for step in ("verify_set", "preflight"):
            assert await run.run_step(step) == StepState.DONE, run.errors.get(step)
        # Out of order on purpose (an override the admin confirms): nothing was stopped.
        assert await run.run_step("start_recover", override=True) != StepState.DONE
    finally:
        await run.aclose()
    error = run.errors["start_recover"]
    assert isinstance(error, RefusedError)
    assert error.message.startswith("the Sync Service is not down: ")
    assert f"the health check at {health_url(lab)} answers" in error.message
    assert f"process {pid} (found by its pid file" in error.message
    assert "A start of a running service does nothing" in error.message
    assert "starting" not in run.records.get("start_recover", {})
    assert standin_pid(lab) == pid
    assert log_text(lab).count(STARTING) == starts


async def test_a_retry_after_a_watch_timeout_never_starts_a_recover_still_running(
    lab: LabLayout, lab_config: Path, backup_set: Path, tmp_path: Path
) -> None:
    root = shlex.quote(str(lab.root))
    # A start that returns at once and leaves the stand-in recovering for a minute.
    slow = (
        f"(SYNCWIZARD_STANDIN_RECOVER_MIN_SECONDS={RECOVERING_S} {ctl(lab)} start {root} "
        ">/dev/null 2>&1 &)"
    )
    choices = RestoreChoices("clear", "admin", admin_password(lab))
    run = restore_run(
        profile(lab_config, tmp_path, start_with_recover=slow, healthy_timeout="4"),
        backup_set,
        choices,
    )
    try:
        for step in ("verify_set", "preflight", "stop_services"):
            assert await run.run_step(step) == StepState.DONE, run.errors.get(step)
        assert await run.run_step("start_repository", override=True) == StepState.DONE
        assert await run.run_step("start_recover", override=True) == StepState.FAILED
        assert "did not become healthy" in run.errors["start_recover"].message
        pid = standin_pid(lab)
        starts = log_text(lab).count(STARTING)
        assert "recovering" in str((await health(lab)).checks)

        # The admin says "start it again": the wizard finds it still running and refuses.
        choices.recover_password, choices.recover_again = admin_password(lab), True
        assert await run.run_step("start_recover", override=True) != StepState.DONE
        assert standin_pid(lab) == pid
    finally:
        await run.aclose()
        standin.stop(lab)  # still recovering: the next test starts from a healthy one
    error = run.errors["start_recover"]
    assert isinstance(error, RefusedError)
    assert "may still be running" in error.message and "It is not started again" in error.message
    assert f"the health check at {health_url(lab)} answers" in error.message
    assert f"process {pid} (found by its pid file" in error.message
    assert log_text(lab).count(STARTING) == starts  # no second start


async def test_the_option_kept_by_the_start_configuration_is_found_after_the_plain_restart(
    lab: LabLayout, lab_config: Path, backup_set: Path, tmp_path: Path
) -> None:
    root = shlex.quote(str(lab.root))
    kept = tmp_path / "sync-service.env"  # what a unit's environment file would be
    persisting = (
        f'printf %s "$SYNCWIZARD_RECOVER_OPTION" | tee {kept} >/dev/null && {ctl(lab)} start {root}'
    )
    start = f'env SYNCWIZARD_RECOVER_OPTION="$(cat {kept})" {ctl(lab)} start {root}'
    choices = RestoreChoices("clear", "admin", admin_password(lab), plain_restart=False)
    run = restore_run(
        profile(lab_config, tmp_path, start_with_recover=persisting, start=start),
        backup_set,
        choices,
    )
    try:
        for step in ("verify_set", "preflight", "stop_services"):
            assert await run.run_step(step) == StepState.DONE, run.errors.get(step)
        assert await run.run_step("start_repository", override=True) == StepState.DONE
        assert await run.run_step("start_recover", override=True) == StepState.DONE
        assert run.results["start_recover"]["option_persists"]

        # Skipping the restart is refused where the option persists ...
        assert await run.run_step("plain_restart") == StepState.FAILED
        assert "the restart without -Drecover is required" in run.errors["plain_restart"].message
        # ... and the restart finds it still in the running process.
        choices.plain_restart = True
        assert await run.run_step("plain_restart") == StepState.FAILED
        pid = standin_pid(lab)
    finally:
        await run.aclose()
        standin.stop(lab)  # it holds the option: the next test starts a clean one
    error = run.errors["plain_restart"]
    assert isinstance(error, RefusedError)
    assert (
        "-Drecover is still in its environment (SYNCWIZARD_RECOVER_OPTION) of the Sync "
        f"Service's process {pid} (found by its pid file" in error.message
    )
    assert admin_password(lab) not in error.message + error.hint
    assert "Environment=" in error.hint and "ConfigMap" in error.hint


async def test_the_plain_restart_checks_the_option_is_gone_from_the_process(
    lab: LabLayout, lab_config: Path, backup_set: Path, tmp_path: Path
) -> None:
    choices = RestoreChoices("clear", "admin", admin_password(lab), plain_restart=True)
    run = restore_run(profile(lab_config, tmp_path), backup_set, choices)
    try:
        for step in ("verify_set", "preflight", "stop_services"):
            assert await run.run_step(step) == StepState.DONE, run.errors.get(step)
        assert await run.run_step("start_repository", override=True) == StepState.DONE
        assert await run.run_step("start_recover", override=True) == StepState.DONE
        recovered = standin_pid(lab)
        environ = Path(f"/proc/{recovered}/environ").read_bytes()
        assert b"-Drecover=" in environ  # held by the running process until the restart
        assert await run.run_step("plain_restart") == StepState.DONE, run.errors.get(
            "plain_restart"
        )
    finally:
        await run.aclose()
    pid = standin_pid(lab)
    assert pid != recovered
    check = run.results["plain_restart"]["option_check"]
    assert check == f"-Drecover is gone from its process {pid} (found by its pid file " + (
        f"{lab.standin_pid_file})"
    )
