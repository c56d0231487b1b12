"""Training on the real lab (issue 12): `lab reset`, and each scenario played once well and
once badly through the runbook engine, graded from its journal and the lab's state."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import psycopg
import pytest
from standin_support import admin_password, db, jolokia, pending, stored_guid
from training_support import confirm, confirm_after_reading, lab_profile, scores

from syncwizard.cli import main
from syncwizard.clients.names import sync_queue_name
from syncwizard.config import Profile, broker_password
from syncwizard.lab import postgres, repository_control, standin
from syncwizard.lab.generator import generate
from syncwizard.lab.layout import LabLayout, read_settings
from syncwizard.lab.reset import reset
from syncwizard.runbook.backup.options import BackupOptions
from syncwizard.runbook.backup.runbook import start_backup
from syncwizard.runbook.journal import load_run
from syncwizard.runbook.model import Observer
from syncwizard.runbook.restore.runbook import RestoreChoices, resolve_set, start_restore
from syncwizard.train import results, session
from syncwizard.train.faults import FaultWatcher
from syncwizard.train.model import Scenario
from syncwizard.train.report import render
from syncwizard.train.results import Attempt
from syncwizard.train.scenarios.routine_backup import ROUTINE_BACKUP
from syncwizard.train.scenarios.stalled_consumer import STALLED_CONSUMER
from syncwizard.train.scenarios.weekend_outage import WEEKEND_OUTAGE

pytestmark = pytest.mark.integration

TIMINGS: dict[str, float] = {}


async def play_backup(
    scenario: Scenario, lab: LabLayout, profile: Profile, **options: object
) -> Attempt:
    """The trainee's backup run: every gate confirmed, the scenario's faults injected at
    their step through the same watcher `train run` feeds from the journal."""
    watcher = FaultWatcher(lab, scenario.faults)
    observers: list[Observer] = [watcher]
    engine = start_backup(
        profile,
        BackupOptions.from_settings(profile.backup, **options),
        broker_password=broker_password(profile.broker),
        observers=observers,
        confirm=confirm,
    )
    try:
        await engine.run()
    finally:
        await engine.aclose()
    return session.grade(scenario, load_run(engine.journal.run_dir), lab, tuple(watcher.fired))


async def prepared(scenario: Scenario, lab: LabLayout, profile: Profile) -> float:
    started = time.monotonic()
    done = await session.prepare(scenario, lab, profile)
    assert done.reset.seconds <= 30.0, done.reset.done
    took = time.monotonic() - started
    TIMINGS[f"{scenario.id} setup"] = took
    return took


def alive_nodes(lab: LabLayout) -> int:
    with db(lab, "repository") as repo:
        row = repo.execute("SELECT count(*) FROM alf_node WHERE NOT deleted").fetchone()
    assert row is not None
    return int(row[0])


SEEDED_LIVE_NODES = 2000


async def test_lab_reset_brings_back_the_initial_data_queue_and_stand_ins(
    lab: LabLayout, lab_config: Path
) -> None:
    guid = stored_guid(lab)
    standin.stop(lab)
    await generate(lab, rate=100, duration=2, seed=3)  # pending events and changed nodes
    assert await pending(lab) > 0
    with db(lab, "sync") as sync:
        sync.execute(
            "DELETE FROM sync_node WHERE node_uuid IN (SELECT node_uuid FROM sync_node LIMIT 5)"
        )
    with psycopg.connect(postgres.superuser_conninfo(lab), autocommit=True) as admin:
        admin.execute("CREATE DATABASE alfresco__before_training")  # a restore's leftover
    report = await asyncio.to_thread(reset, lab)
    assert report.seconds <= 30.0
    assert any("purged" in sentence for sentence in report.done), report.done
    assert postgres.node_drift(lab).in_sync
    # The seeded sample's 2,000 live nodes, whatever the session's earlier tests changed.
    assert alive_nodes(lab) == SEEDED_LIVE_NODES
    assert stored_guid(lab) == guid  # the broker's Consumer.<guid> queue is still Sync's
    assert await pending(lab) == 0
    assert standin.is_running(lab) and repository_control.is_running(lab)
    with psycopg.connect(postgres.superuser_conninfo(lab), autocommit=True) as admin:
        leftover = admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = 'alfresco__before_training'"
        ).fetchone()
    assert leftover is None
    TIMINGS["lab reset"] = report.seconds


async def test_routine_backup_good_and_bad_runs(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    profile = lab_profile(lab_config, tmp_path / "backups")
    await prepared(ROUTINE_BACKUP, lab, profile)
    started = time.monotonic()
    good = await play_backup(ROUTINE_BACKUP, lab, profile)
    TIMINGS["routine-backup play"] = time.monotonic() - started
    assert scores(good) == {"finished": 4, "drain": 3, "time": 1}
    await prepared(ROUTINE_BACKUP, lab, profile)
    bad = await play_backup(ROUTINE_BACKUP, lab, profile, wait_mode="countdown", countdown=1.0)
    assert scores(bad) == {"finished": 4, "drain": 0, "time": 1}
    assert "countdown" in next(p for p in bad.points if p.id == "drain").debrief
    top = results.best(ROUTINE_BACKUP.id)
    assert top is not None and top.run_id == good.run_id
    repository_control.set_rate(lab, 0.0)


async def test_stalled_consumer_good_and_bad_runs(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    # The trainee's wizard gives up on the drain after 8 s here (30 min by default).
    profile = lab_profile(lab_config, tmp_path / "backups", SYNCWIZARD_BACKUP__DRAIN_TIMEOUT="8")
    await prepared(STALLED_CONSUMER, lab, profile)
    started = time.monotonic()
    good = await play_backup(STALLED_CONSUMER, lab, profile)
    TIMINGS["stalled-consumer play"] = time.monotonic() - started
    assert good.faults == (STALLED_CONSUMER.faults[0].what,)
    assert scores(good) == {"no_stale_sync_dump": 5, "stall_seen": 3, "time": 1}
    await prepared(STALLED_CONSUMER, lab, profile)  # the reset wakes the paused stand-in
    bad = await play_backup(STALLED_CONSUMER, lab, profile, wait_mode="countdown", countdown=2.0)
    assert bad.faults == good.faults
    assert scores(bad) == {"no_stale_sync_dump": 0, "stall_seen": 0, "time": 1}
    await asyncio.to_thread(reset, lab)
    assert standin.is_running(lab)


async def play_restore(
    lab: LabLayout, profile: Profile, choices: RestoreChoices, *, reads: bool = True
) -> Attempt:
    last_night = resolve_set(Path(profile.backup.dir), None)  # the newest usable set
    engine = start_restore(
        profile,
        last_night,
        choices,
        broker_password=broker_password(profile.broker),
        confirm=confirm_after_reading if reads else confirm,
    )
    try:
        await engine.run()
    finally:
        await engine.aclose()
    return session.grade(WEEKEND_OUTAGE, load_run(engine.journal.run_dir), lab)


async def test_weekend_outage_good_and_bad_runs(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    profile = lab_profile(lab_config, tmp_path / "backups")
    await prepared(WEEKEND_OUTAGE, lab, profile)
    assert not standin.is_running(lab) and await pending(lab) > 0
    started = time.monotonic()
    good = await play_restore(
        lab, profile, RestoreChoices("clear", "admin", admin_password(lab), plain_restart=True)
    )
    TIMINGS["weekend-outage play"] = time.monotonic() - started
    assert scores(good) == {
        "events_lost": 4,
        "databases": 3,
        "recover_removed": 2,
        "drift": 3,
        "gates_read": 2,
        "time": 1,
    }, [p.debrief for p in good.points]
    await prepared(WEEKEND_OUTAGE, lab, profile)
    bad = await play_restore(
        lab,
        profile,
        RestoreChoices("give_up", "admin", admin_password(lab), plain_restart=False),
        reads=False,
    )
    assert scores(bad) == {
        "events_lost": 0,
        "databases": 3,
        "recover_removed": 0,
        "drift": 3,
        "gates_read": 0,
        "time": 1,
    }, [p.debrief for p in bad.points]
    assert "given up" in next(p for p in bad.points if p.id == "events_lost").debrief
    report = render((WEEKEND_OUTAGE,), results.attempts())
    assert admin_password(lab) not in report
    assert "Restore, step 2.3" in report and "2 run(s)" not in report
    await asyncio.to_thread(reset, lab)


async def test_train_run_injects_the_fault_from_the_wizards_journal_and_grades(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    """`train run`'s way: the wizard runs on its own (no observer of ours in it); the
    watcher reads its journal, pauses the stand-in as the wait begins, and grades at the
    end."""
    profile = lab_profile(lab_config, tmp_path / "backups", SYNCWIZARD_BACKUP__DRAIN_TIMEOUT="8")
    since = (await session.prepare(STALLED_CONSUMER, lab, profile)).set_up_at
    said: list[str] = []
    watching = asyncio.create_task(
        asyncio.to_thread(
            session.watch, STALLED_CONSUMER, lab, since, say=said.append, poll=0.1, stop_after=120
        )
    )
    engine = start_backup(
        profile,
        BackupOptions.from_settings(profile.backup),
        broker_password=broker_password(profile.broker),
        confirm=confirm,
    )
    try:
        outcome = await engine.run()
    finally:
        await engine.aclose()
    attempt = await watching
    assert outcome.status == "failed"  # the drain never completed
    assert attempt is not None and attempt.run_id == engine.run_id
    assert scores(attempt) == {"no_stale_sync_dump": 5, "stall_seen": 3, "time": 1}
    assert f"fault: {STALLED_CONSUMER.faults[0].what}" in said
    assert results.set_up_at(STALLED_CONSUMER.id) == since
    await asyncio.to_thread(reset, lab)


async def test_lab_reset_command(
    lab: LabLayout, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SYNCWIZARD_STATE_DIR", str(lab.root.parent))  # its lab is this one
    assert await asyncio.to_thread(main, ["lab", "reset"]) == 0
    out = capsys.readouterr().out
    assert "purged" in out and "sync GUID kept" in out and "practice lab reset in" in out


async def test_lab_reset_on_a_broker_refusing_the_purge_wipes_its_store(
    current_lab: LabLayout,
) -> None:
    """The current flavour's hardened Jolokia refuses purge: reset empties the broker by
    wiping its message store and restarting it, still within 30 s."""
    lab = current_lab
    guid = postgres.sync_guid(lab)
    queue = sync_queue_name(str(guid), read_settings(lab).topic)
    standin.stop(lab)
    await generate(lab, rate=100, duration=1, seed=5)
    async with jolokia(lab) as client:
        stats, _ = await client.read_stats(queue, None)
    assert stats.pending > 0
    report = await asyncio.to_thread(reset, lab)
    assert report.seconds <= 30.0
    assert any("refuses the purge" in sentence for sentence in report.done), report.done
    assert postgres.sync_guid(lab) == guid
    assert postgres.node_drift(lab).in_sync
    async with jolokia(lab) as client:
        stats, _ = await client.read_stats(queue, None)
    assert stats.pending == 0 and stats.consumers == 1
    TIMINGS["lab reset (current flavour)"] = report.seconds


def test_zz_timings() -> None:
    """Prints what each scenario took here (the closing note of issue 12 quotes it)."""
    for name, seconds in TIMINGS.items():
        print(f"TIMING {name}: {seconds:.1f} s")
