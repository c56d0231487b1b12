"""`syncwizard backup --yes` killed (kill -9) at step boundaries and mid-dump, then run again:
it resumes where it stopped, never redoes a finished dump, and seals a correct set. And the
wait when the Sync Service is down: no consumer, a timeout with guidance, then a resume."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from standin_support import restore
from test_backup_support import (
    BackupProcess,
    Event,
    backup_env,
    is_state,
    no_backup_left_running,  # noqa: F401 (an autouse fixture)
    partial_files,
    run_backup,
    state_events,
    the_set,
)

from syncwizard.lab import standin
from syncwizard.lab.generator import generate
from syncwizard.lab.layout import LabLayout
from syncwizard.runbook import backupset

pytestmark = pytest.mark.integration


def mid_dump(step: str) -> Callable[[Event], bool]:
    """pg_dump of `step` has started (its pid is journaled): kill while it runs."""
    return lambda e: e["kind"] == "record" and e.get("step") == step and e["message"] == "child"


# (when to kill, the step the next run resumes at)
CUES = {
    "after preflight": (is_state("preflight", "done"), "repository_db"),
    "mid repository dump": (mid_dump("repository_db"), "repository_db"),
    "after the repository dump": (is_state("repository_db", "done"), "wait_drain"),
    "after the wait": (is_state("wait_drain", "done"), "sync_db"),
    "mid Sync DB dump": (mid_dump("sync_db"), "sync_db"),
    "after the Sync DB dump": (is_state("sync_db", "done"), "seal"),
}


@pytest.mark.parametrize("cue", list(CUES))
async def test_kill_9_then_run_again_resumes_and_seals_a_correct_set(
    lab: LabLayout, lab_config: Path, tmp_path: Path, cue: str
) -> None:
    await restore(lab)
    wanted, resumes_at = CUES[cue]
    backups = tmp_path / "backups"
    env = backup_env(lab_config, backups)
    generator = asyncio.create_task(generate(lab, rate=20, duration=4))
    try:
        child = BackupProcess(env)
        await asyncio.to_thread(child.until, wanted)
        child.kill9()
        before = child.events
        code, after, stderr = await asyncio.to_thread(run_backup, env)
    finally:
        await generator
    assert code == 0, stderr
    assert after[0]["kind"] == "run_resumed" and after[0]["data"]["from_step"] == resumes_at
    assert f"at step {resumes_at!r}" in after[0]["message"]
    for step in ("preflight", "repository_db", "wait_drain", "sync_db"):
        if state_events(before, step, "done"):  # finished before the kill: never redone
            assert not state_events(after, step, "running"), step
    set_dir = the_set(backups)
    report = await backupset.verify_set(set_dir)
    assert report.ok and not report.warnings, report.problems + report.warnings
    assert partial_files(backups) == []
    names = sorted(p.name for p in set_dir.iterdir())
    assert names == ["manifest.json", "repository_db.dump", "sync_db.dump"]
    await restore(lab)


async def test_with_the_sync_service_stopped_the_wait_names_the_missing_consumer_and_times_out(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    await restore(lab)
    backups = tmp_path / "backups"
    env = backup_env(lab_config, backups, SYNCWIZARD_BACKUP__DRAIN_TIMEOUT="4")
    try:
        child = BackupProcess(env)
        await asyncio.to_thread(child.until, is_state("repository_db", "done"))
        standin.stop(lab)
        await generate(lab, rate=50, duration=0.4)  # events the stopped service has not seen
        code, stderr = await asyncio.to_thread(child.finish)
        assert code == 1, stderr
        waits = [e for e in child.events if e["kind"] == "progress" and e["step"] == "wait_drain"]
        problems = [p for e in waits for p in e["detail"]["problems"]]
        assert any("no consumer is attached" in p for p in problems)
        (failed,) = state_events(child.events, "wait_drain", "failed")
        assert failed["error"]["refused"] is True
        assert "did not drain within 4 s" in failed["error"]["message"]
        assert "no consumer is attached" in failed["error"]["message"]
        assert "resumes at this wait" in failed["error"]["hint"]
        assert "did not drain" in stderr and "hint:" in stderr
        assert not (the_set(backups) / "manifest.json").exists()
    finally:
        await restore(lab)  # the Sync Service starts again and consumes what it missed
    code, events, stderr = await asyncio.to_thread(run_backup, env)
    assert code == 0, stderr
    assert events[0]["kind"] == "run_resumed" and events[0]["data"]["from_step"] == "wait_drain"
    assert events[0]["data"]["previous"] == "failed"
    assert not state_events(events, "repository_db", "running")
    (drained,) = state_events(events, "wait_drain", "done")
    assert drained["data"]["queue_at_drain"]["consumers"] >= 1
    assert (await backupset.verify_set(the_set(backups))).ok
