"""The restore's proof that the Sync Service is down, over the fake systems (the real
runbook; the lab's tests are tests/integration/test_restore_services_down.py), and the
look at a local process's arguments, on a real child process."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import pytest
from support.fake_restore import FakeRestore, FakeRestoreLauncher
from support.fake_status import demo_settings

from syncwizard.clients.service import ServiceProcess, find_service_process
from syncwizard.runbook.engine import Engine
from syncwizard.runbook.model import Gate, RefusedError, StepState
from syncwizard.runbook.restore import step_names as steps

OTHER = "https://sync-2.example.org:9090/alfresco/healthcheck"
PASSWORD = "s3cret-Recover!pw"


async def engine_at(fake: FakeRestore, stop_before: str, gates: list[Gate]) -> Engine:
    """The real restore over `fake`, every step before `stop_before` done."""

    async def confirm(gate: Gate) -> bool:
        gates.append(gate)
        return True

    launcher = FakeRestoreLauncher(fake)
    choices = await launcher.make_choices()
    choices.events_action, choices.plain_restart = "clear", True
    choices.recover_user, choices.recover_password = "admin", PASSWORD
    engine = await launcher.start(fake.set_dir, choices, [], confirm)
    while (upcoming := engine.next_step()) is not None and upcoming.id != stop_before:
        assert (await engine.run_step(upcoming.id)).satisfied, engine.errors.get(upcoming.id)
    return engine


async def test_a_stop_that_does_not_take_fails_the_step_naming_what_runs() -> None:
    fake = FakeRestore(demo_settings(), ignores_stop=True, session_left=True)
    engine = await engine_at(fake, steps.STOP, [])
    try:
        assert await engine.run_step(steps.STOP) == StepState.FAILED
    finally:
        await engine.aclose()
    message = engine.errors[steps.STOP].message
    assert "1 consumer(s) on the sync queue" in message
    assert "health check at https://127.0.0.1:9090/alfresco/healthcheck answers" in message
    assert "pgAdmin 4 from 10.0.0.7 as alfresco (pid 4321)" in message
    assert "process 4242 (found by its pid file" in message


async def test_a_cluster_node_still_answering_refuses_the_recover_and_says_why() -> None:
    fake = FakeRestore(demo_settings(other_nodes=(OTHER,)), other_nodes_up=True)
    engine = await engine_at(fake, steps.STOP, [])
    try:
        assert await engine.run_step(steps.STOP) == StepState.FAILED
        assert f"health check at {OTHER} answers" in engine.errors[steps.STOP].message
        fake.other_nodes_up = False  # the admin stops the other node by hand
        while (upcoming := engine.next_step()) is not None and upcoming.id != steps.RECOVER:
            assert (await engine.run_step(upcoming.id)).satisfied, engine.errors.get(upcoming.id)
        fake.other_nodes_up = True  # ... and someone starts it again before the recover
        assert await engine.run_step(steps.RECOVER) != StepState.DONE
        error = engine.errors[steps.RECOVER]
        assert isinstance(error, RefusedError)
        assert f"the health check at {OTHER} answers" in error.message
        assert "Every node must be down" in error.hint and "start normally" in error.hint
        assert not fake.sync_up  # nothing was started
        fake.other_nodes_up = False
        assert await engine.run_step(steps.RECOVER) == StepState.DONE
    finally:
        await engine.aclose()
    summary = engine.results[steps.RECOVER]["summary"]
    assert f"Start the other nodes now, normally (without -Drecover): {OTHER}" in summary


async def test_the_restart_refuses_an_option_kept_and_asks_when_it_cannot_look() -> None:
    fake = FakeRestore(demo_settings(), option_kept=True)
    gates: list[Gate] = []
    engine = await engine_at(fake, steps.PLAIN_RESTART, gates)
    try:
        assert await engine.run_step(steps.PLAIN_RESTART) == StepState.FAILED
        error = engine.errors[steps.PLAIN_RESTART]
        assert "-Drecover is still in its command line of the Sync Service's process 4242" in (
            error.message
        )
        # The admin removes it where it was kept; the wizard can no longer see the process.
        fake.option_kept, fake.process_visible = False, False
        assert await engine.run_step(steps.PLAIN_RESTART) == StepState.FAILED
        unchecked = engine.errors[steps.PLAIN_RESTART]
        assert "cannot check the option is gone" in unchecked.message
        assert "neither sync_service.pid_file nor sync_service.process_pattern" in (
            unchecked.message
        )
        looks = fake.looks_since_start  # reset by a start, counted by the watch
        # Run again: the admin confirms at the gate; nothing is restarted this time.
        assert await engine.run_step(steps.PLAIN_RESTART) == StepState.DONE
        assert fake.looks_since_start == looks
    finally:
        await engine.aclose()
    assert gates[-1].title == "Is -Drecover gone from the running Sync Service's arguments?"
    assert engine.results[steps.PLAIN_RESTART]["option_check"].startswith("confirmed by the admin")


def test_a_process_found_by_its_pattern_shows_where_it_holds_the_option() -> None:
    marker = f"syncwizard-test-{uuid.uuid4()}"
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(30)", "-Drecover=admin:x", marker],
        env={"JAVA_OPTS": "-Xmx1g -Drecover=admin:x", "PATH": "/usr/bin:/bin"},
    )
    try:
        deadline = time.monotonic() + 10
        # until the child has exec'd, /proc shows the parent's command line
        while not isinstance(found := find_service_process(None, marker), ServiceProcess):
            assert time.monotonic() < deadline, "the child's command line never showed"
            time.sleep(0.02)
        assert found.pid == child.pid
        assert found.recover_in == ("its command line", "its environment (JAVA_OPTS)")
        assert found.describe == f"process {child.pid} (found by its pattern {marker!r})"
    finally:
        child.kill()
        child.wait()
    assert find_service_process(None, marker) is None
    assert find_service_process(None, None) is False
    with pytest.raises(Exception, match="not a regular expression"):
        find_service_process(None, "(")
