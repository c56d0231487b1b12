"""Training scenarios whose fault lives in the lab (issue 12): the hardened broker refusing
the purge, a full backup volume, a cluster node with another sync GUID, a corrupted set.
Each is played once well and once badly through the runbook engine on the real lab and
graded from its journal and the lab's state."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from standin_support import admin_password, db, pending
from test_backup_support import FAST

from syncwizard.config import Profile, broker_password, load_settings
from syncwizard.errors import SyncWizardError
from syncwizard.lab import odd_node, repository_control, standin, volume
from syncwizard.lab.layout import LabLayout
from syncwizard.lab.reset import reset
from syncwizard.runbook.backup import step_names as backup_steps
from syncwizard.runbook.backup.options import BackupOptions
from syncwizard.runbook.backup.runbook import resume_backup, start_backup
from syncwizard.runbook.engine import Engine
from syncwizard.runbook.journal import abandon, load_run
from syncwizard.runbook.model import Gate, Observer, StepState
from syncwizard.runbook.restore import step_names as restore_steps
from syncwizard.runbook.restore.runbook import RestoreChoices, start_restore
from syncwizard.runbook.restore.sets import list_sets
from syncwizard.train import grading, session
from syncwizard.train.faults import FaultWatcher
from syncwizard.train.model import Fault, Scenario
from syncwizard.train.results import Attempt
from syncwizard.train.scenarios import backup_volume_full as volume_full
from syncwizard.train.scenarios.backup_volume_full import BACKUP_VOLUME_FULL
from syncwizard.train.scenarios.cluster_guid_mismatch import CLUSTER_GUID_MISMATCH, ODD_GUID
from syncwizard.train.scenarios.corrupted_set import CORRUPTED_SET
from syncwizard.train.scenarios.purge_refused import PURGE_REFUSED

pytestmark = pytest.mark.integration

TIMINGS: dict[str, float] = {}


def profile_of(config: Path, backup_dir: Path, **environ: str) -> Profile:
    environ = {"SYNCWIZARD_BACKUP__DIR": str(backup_dir), **FAST, **environ}
    return load_settings(config, "lab", environ=environ).profile


async def confirm(gate: Gate) -> bool:
    return True


def scores(attempt: Attempt) -> dict[str, int]:
    return {point.id: point.earned for point in attempt.points}


def debrief(attempt: Attempt, point_id: str) -> str:
    return next(p.debrief for p in attempt.points if p.id == point_id)


async def prepared(scenario: Scenario, lab: LabLayout, profile: Profile) -> None:
    started = time.monotonic()
    done = await session.prepare(scenario, lab, profile)
    took = time.monotonic() - started
    TIMINGS[f"{scenario.id} setup, lab reset included"] = took
    TIMINGS[f"{scenario.id} lab reset"] = done.reset.seconds
    assert done.reset.seconds <= 30.0, done.reset.done


async def ran(engine: Engine) -> str:
    try:
        return (await engine.run()).status
    finally:
        await engine.aclose()


def graded(scenario: Scenario, engine: Engine, lab: LabLayout, watcher: FaultWatcher) -> Attempt:
    record = load_run(engine.journal.run_dir)
    return session.grade(scenario, record, lab, tuple(watcher.fired))


def live_nodes(lab: LabLayout) -> int:
    with db(lab, "repository") as repo:
        row = repo.execute("SELECT count(*) FROM alf_node WHERE NOT deleted").fetchone()
    assert row is not None
    return int(row[0])


# --- a broker that refuses the purge (the current flavour) ----------------------------------


async def confirm_after_reading(gate: Gate) -> bool:
    """A trainee who reads each gate's facts before confirming it."""
    await asyncio.sleep(grading.reading_seconds(len(gate.facts)) + 0.1)
    return True


def restore_engine(
    profile: Profile, set_dir: Path, choices: RestoreChoices, *, reads: bool = False
) -> Engine:
    return start_restore(
        profile,
        set_dir,
        choices,
        broker_password=broker_password(profile.broker),
        confirm=confirm_after_reading if reads else confirm,
    )


async def newest_set(profile: Profile) -> Path:
    sets = [s for s in await list_sets(Path(profile.backup.dir)) if s.choosable]
    return sets[0].path


async def test_purge_refused_good_and_bad_runs(
    current_lab: LabLayout, current_lab_config: Path, tmp_path: Path
) -> None:
    lab = current_lab
    profile = profile_of(current_lab_config, tmp_path / "backups")
    await prepared(PURGE_REFUSED, lab, profile)
    assert not standin.is_running(lab) and await pending(lab) > 0
    started = time.monotonic()
    choices = RestoreChoices("clear", "admin", admin_password(lab), plain_restart=False)
    engine = restore_engine(profile, await newest_set(profile), choices, reads=True)
    assert await ran(engine) == "finished"
    TIMINGS["purge-refused play (reading each gate)"] = time.monotonic() - started
    good = graded(PURGE_REFUSED, engine, lab, FaultWatcher(lab, ()))
    assert scores(good) == {
        "events_lost": 4,
        "window_closed": 3,
        "databases": 2,
        "drift": 3,
        "gates_read": 2,
        "time": 1,
    }, [p.debrief for p in good.points]
    assert "closed again" not in debrief(good, "window_closed")  # says it in its own words
    assert "broker.stomp_close took it out again" in debrief(good, "window_closed")

    # The bad run: the trainee clears through the window, then stops the run there (the
    # wizard's step after the clear, which closes the window, never runs).
    await prepared(PURGE_REFUSED, lab, profile)
    engine = restore_engine(profile, await newest_set(profile), choices)
    try:
        for step in engine.runbook.steps:
            assert await engine.run_step(step.id) in ("done", "skipped"), step.id
            if step.id == restore_steps.CLEAR:
                break
    finally:
        await engine.aclose()
    bad = graded(PURGE_REFUSED, engine, lab, FaultWatcher(lab, ()))
    assert scores(bad) == {
        "events_lost": 4,
        "window_closed": 0,
        "databases": 0,
        "drift": 0,
        "gates_read": 0,  # the clear's gate confirmed at once
        "time": 1,
    }, [p.debrief for p in bad.points]
    assert "left open" in debrief(bad, "window_closed")
    # The lab reset closes the window the run left open, as the broker shipped.
    report = await asyncio.to_thread(reset, lab)
    assert any("STOMP connector a restore left open" in s for s in report.done), report.done
    assert report.seconds <= 30.0


async def test_purge_refused_giving_the_events_up_is_refused_by_the_broker_and_graded(
    current_lab: LabLayout, current_lab_config: Path, tmp_path: Path
) -> None:
    """The other bad run: the trainee chooses to give the events up. The hardened broker
    refuses the purge: nothing is lost, nothing restored, and the grade says so."""
    lab = current_lab
    profile = profile_of(current_lab_config, tmp_path / "backups")
    await prepared(PURGE_REFUSED, lab, profile)
    waiting = await pending(lab)
    choices = RestoreChoices("give_up", "admin", admin_password(lab), plain_restart=False)
    engine = restore_engine(profile, await newest_set(profile), choices)
    try:
        outcome = await engine.run()
    finally:
        await engine.aclose()
    assert (outcome.status, outcome.step_id) == ("failed", restore_steps.CLEAR)
    assert outcome.error is not None and outcome.error.system == "broker"
    assert "purg" in outcome.error.message, outcome.error.render()
    assert await pending(lab) == waiting  # the broker kept every event
    attempt = graded(PURGE_REFUSED, engine, lab, FaultWatcher(lab, ()))
    assert scores(attempt) == {
        "events_lost": 0,
        "window_closed": 0,
        "databases": 0,
        "drift": 0,
        "gates_read": 0,
        "time": 1,
    }, [p.debrief for p in attempt.points]
    assert "not cleared" in debrief(attempt, "events_lost")
    await asyncio.to_thread(reset, lab)


async def test_a_scenario_of_another_flavour_is_refused_naming_the_command(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    profile = profile_of(lab_config, tmp_path / "backups")
    with pytest.raises(SyncWizardError) as caught:
        await session.prepare(PURGE_REFUSED, lab, profile)
    assert "plays on the 'current' lab flavour; this lab is 'classic'" in caught.value.message
    assert "syncwizard lab up --like current" in caught.value.hint


# --- the backup volume fills ----------------------------------------------------------------


def backup_engine(profile: Profile, watcher: FaultWatcher) -> Engine:
    observers: list[Observer] = [watcher]
    return start_backup(
        profile,
        BackupOptions.from_settings(profile.backup),
        broker_password=broker_password(profile.broker),
        observers=observers,
        confirm=confirm,
    )


async def test_backup_volume_full_good_and_bad_runs(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    backups = lab.root / "train-volume"
    profile = profile_of(lab_config, backups)
    await prepared(BACKUP_VOLUME_FULL, lab, profile)
    assert volume.is_mount_point(backups)
    try:
        started = time.monotonic()
        watcher = FaultWatcher(lab, BACKUP_VOLUME_FULL.faults)
        engine = backup_engine(profile, watcher)
        try:
            outcome = await engine.run()
            assert (outcome.status, outcome.step_id) == ("failed", backup_steps.SYNC)
            assert outcome.error is not None and "is full" in outcome.error.message
            # What the repository step wrote is still there for the resume.
            set_dir = backups / engine.run_id
            assert (set_dir / engine.results[backup_steps.REPOSITORY]["dump"]["path"]).is_dir()
            ballast = volume_full.ballast(lab)
            assert ballast is not None and ballast.exists()
            ballast.unlink()  # the trainee finds the core dump and removes it
            assert (await engine.run()).status == "finished"
        finally:
            await engine.aclose()
        TIMINGS["backup-volume-full play"] = time.monotonic() - started
        good = graded(BACKUP_VOLUME_FULL, engine, lab, watcher)
        assert good.faults == (BACKUP_VOLUME_FULL.faults[0].what,)
        assert scores(good) == {"finished": 4, "sealed": 3, "resumed": 2, "time": 1}, [
            p.debrief for p in good.points
        ]
        assert "is full" in debrief(good, "resumed")

        await prepared(BACKUP_VOLUME_FULL, lab, profile)  # unmounts and mounts a fresh one
        watcher = FaultWatcher(lab, BACKUP_VOLUME_FULL.faults)
        engine = backup_engine(profile, watcher)
        assert await ran(engine) == "failed"  # and the trainee leaves it there
        bad = graded(BACKUP_VOLUME_FULL, engine, lab, watcher)
        assert scores(bad) == {"finished": 0, "sealed": 0, "resumed": 0, "time": 1}, [
            p.debrief for p in bad.points
        ]
        assert "has no manifest" in debrief(bad, "sealed")
        assert "core dump" in debrief(bad, "resumed")
    finally:
        report = await asyncio.to_thread(reset, lab)
    assert any("unmounted the scenario's backup volume" in s for s in report.done), report.done
    assert not volume.is_mount_point(backups)


async def test_train_run_fills_the_volume_from_the_wizards_journal_and_grades_the_resume(
    lab: LabLayout, lab_config: Path
) -> None:
    """`train run`'s way: the wizard runs on its own; the watcher reads its journal, drops
    the ballast as the wait begins, and grades once the resumed run ended."""
    backups = lab.root / "train-volume"
    profile = profile_of(lab_config, backups)
    since = (await session.prepare(BACKUP_VOLUME_FULL, lab, profile)).set_up_at
    said: list[str] = []
    try:
        watching = asyncio.create_task(
            asyncio.to_thread(
                session.watch,
                BACKUP_VOLUME_FULL,
                lab,
                since,
                say=said.append,
                poll=0.1,
                stop_after=120,
            )
        )
        engine = backup_engine(profile, FaultWatcher(lab, ()))  # no observer of ours
        try:
            outcome = await engine.run()
            assert (outcome.status, outcome.step_id) == ("failed", backup_steps.SYNC)
            ballast = volume_full.ballast(lab)
            assert ballast is not None
            ballast.unlink()
            assert (await engine.run()).status == "finished"
        finally:
            await engine.aclose()
        attempt = await watching
        assert attempt is not None and attempt.run_id == engine.run_id
        assert scores(attempt) == {"finished": 4, "sealed": 3, "resumed": 2, "time": 1}
        assert f"fault: {BACKUP_VOLUME_FULL.faults[0].what}" in said
    finally:
        await asyncio.to_thread(reset, lab)


async def test_a_volume_full_at_the_seal_says_so_and_the_resumed_seal_completes(
    lab: LabLayout, lab_config: Path
) -> None:
    """The manifest cannot be written on a full disk: the seal says the folder is full (it
    said "unexpected OSError ... a bug in syncwizard"), leaves no manifest.json.partial, and
    once space is freed the same run seals the set with the dumps it had."""
    backups = lab.root / "seal-volume"
    profile = profile_of(lab_config, backups)
    await asyncio.to_thread(reset, lab)
    volume.mount_small(lab, backups, volume_full.VOLUME_MIB)
    ballast = backups / volume_full.BALLAST_NAME

    def fill_volume(_: LabLayout) -> None:
        volume.fill(ballast)

    fill = Fault(backup_steps.SEAL, StepState.RUNNING, "fills the volume", fill_volume)
    try:
        engine = backup_engine(profile, FaultWatcher(lab, (fill,)))
        try:
            outcome = await engine.run()
            assert (outcome.status, outcome.step_id) == ("failed", backup_steps.SEAL)
            assert outcome.error is not None
            assert "is full: the set's manifest could not be written" in outcome.error.message
            assert "resumes at the seal" in outcome.error.hint
            set_dir = backups / engine.run_id
            assert not (set_dir / "manifest.json.partial").exists()
            ballast.unlink()
            assert (await engine.run()).status == "finished"
        finally:
            await engine.aclose()
        assert (set_dir / "manifest.json").is_file()
        assert (await list_sets(backups))[0].choosable
    finally:
        await asyncio.to_thread(reset, lab)
    assert not volume.is_mount_point(backups)


# --- two cluster nodes with different sync GUIDs --------------------------------------------


async def test_cluster_guid_mismatch_good_and_bad_runs(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    # The trainee's profile, as `train run` writes it: the odd node in health.other_nodes.
    config = tmp_path / "config.toml"
    session.write_lab_profile(CLUSTER_GUID_MISMATCH, lab, config)
    two_nodes = profile_of(config, tmp_path / "backups")
    assert two_nodes.health.other_nodes == (odd_node.url(lab),)
    one_node = profile_of(lab_config, tmp_path / "backups")
    await prepared(CLUSTER_GUID_MISMATCH, lab, two_nodes)
    started = time.monotonic()
    watcher = FaultWatcher(lab, ())
    engine = backup_engine(two_nodes, watcher)
    outcome = await engine.run()
    await engine.aclose()
    assert (outcome.status, outcome.step_id) == ("failed", backup_steps.PREFLIGHT)
    assert outcome.error is not None and ODD_GUID in outcome.error.message
    # The fix: the odd node out of health.other_nodes; the run resumes at the preflight.
    resumed = await resume_backup(
        load_run(engine.journal.run_dir),
        one_node,
        broker_password=broker_password(one_node.broker),
        confirm=confirm,
    )
    assert await ran(resumed) == "finished"
    TIMINGS["cluster-guid-mismatch play"] = time.monotonic() - started
    good = graded(CLUSTER_GUID_MISMATCH, resumed, lab, watcher)
    assert scores(good) == {"guid_mismatch": 3, "finished": 4, "drain": 2, "time": 1}, [
        p.debrief for p in good.points
    ]
    text = debrief(good, "guid_mismatch")
    assert ODD_GUID in text and "health.other_nodes" in text

    # The bad run: refused at the preflight, the trainee leaves it (no backup tonight).
    await prepared(CLUSTER_GUID_MISMATCH, lab, two_nodes)
    engine = backup_engine(two_nodes, watcher)
    assert await ran(engine) == "failed"
    bad = graded(CLUSTER_GUID_MISMATCH, engine, lab, watcher)
    assert scores(bad) == {"guid_mismatch": 3, "finished": 0, "drain": 0, "time": 1}, [
        p.debrief for p in bad.points
    ]
    report = await asyncio.to_thread(reset, lab)
    assert any("second Sync Service node" in s for s in report.done), report.done
    assert not odd_node.stop(lab)


# --- a corrupted set ------------------------------------------------------------------------


async def test_corrupted_set_good_and_bad_runs(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    profile = profile_of(lab_config, tmp_path / "backups")
    await prepared(CORRUPTED_SET, lab, profile)
    last_night, night_before = [s.path for s in await list_sets(Path(profile.backup.dir))][:2]
    nodes = live_nodes(lab)
    choices = RestoreChoices("clear", "admin", admin_password(lab), plain_restart=True)

    started = time.monotonic()
    refused = restore_engine(profile, last_night, choices)
    outcome_status = await ran(refused)
    assert outcome_status == "failed"
    assert load_run(refused.journal.run_dir).stopped_at == restore_steps.VERIFY
    # The wizard offers to resume the refused run or give it up: given up, the night
    # before's set chosen.
    abandon(load_run(refused.journal.run_dir), "the set is damaged")
    engine = restore_engine(profile, night_before, choices)
    assert await ran(engine) == "finished"
    TIMINGS["corrupted-set play"] = time.monotonic() - started
    good = graded(CORRUPTED_SET, engine, lab, FaultWatcher(lab, ()))
    assert scores(good) == {
        "set_verified": 3,
        "nothing_destroyed": 3,
        "databases": 3,
        "drift": 2,
        "time": 1,
    }, [p.debrief for p in good.points]

    # The bad run: the corrupted set, refused at verify; nothing destroyed, ticket not solved.
    await prepared(CORRUPTED_SET, lab, profile)
    last_night = next(s.path for s in await list_sets(Path(profile.backup.dir)))
    engine = restore_engine(profile, last_night, choices)
    assert await ran(engine) == "failed"
    bad = graded(CORRUPTED_SET, engine, lab, FaultWatcher(lab, ()))
    assert scores(bad) == {
        "set_verified": 0,
        "nothing_destroyed": 3,
        "databases": 0,
        "drift": 2,
        "time": 1,
    }, [p.debrief for p in bad.points]
    assert "sha256" in debrief(bad, "set_verified") or "size" in debrief(bad, "set_verified")
    assert live_nodes(lab) == nodes and standin.is_running(lab)  # the live systems untouched
    assert repository_control.is_running(lab)
    await asyncio.to_thread(reset, lab)


def test_zz_timings() -> None:
    """Prints what each scenario took here (the closing note of issue 12 quotes it)."""
    for name, seconds in TIMINGS.items():
        print(f"TIMING {name}: {seconds:.1f} s")
