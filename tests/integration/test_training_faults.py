"""The training fault scenarios on the real lab (issue 12): each set up by `lab reset` and its
setup, played once well and once badly through the runbook engine with its fault injected
by the watcher `train run` uses, and graded from the journal and the lab's state."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict
from standin_support import admin_password, eventually
from training_support import (
    TIMINGS,
    Played,
    confirm,
    debriefs,
    lab_profile,
    prepared,
    scores,
)

from syncwizard.config import Profile, broker_password
from syncwizard.lab import postgres, repository_control, standin
from syncwizard.lab.layout import LabLayout
from syncwizard.lab.reset import reset
from syncwizard.lab.standin_store import connect
from syncwizard.runbook.backup import step_names as backup_steps
from syncwizard.runbook.journal import JOURNAL_NAME, load_run, read_entries
from syncwizard.runbook.model import EventKind, StepEvent
from syncwizard.runbook.restore import step_names as restore_steps
from syncwizard.runbook.restore.recover_watch import UNHEALTHY_SEEN
from syncwizard.runbook.restore.runbook import RestoreChoices, resolve_set, start_restore
from syncwizard.train import session
from syncwizard.train.scenarios.broker_restart_mid_drain import BROKER_RESTART_MID_DRAIN
from syncwizard.train.scenarios.never_healthy_after_recover import (
    FAILING_CHECK,
    NEVER_HEALTHY_AFTER_RECOVER,
    RECOVER_SESSION,
    restore_sync_password,
    rotate_sync_password,
)
from syncwizard.train.scenarios.producing_during_restore import PRODUCING_DURING_RESTORE
from syncwizard.train.scenarios.wrong_recover_password import WRONG_RECOVER_PASSWORD

pytestmark = pytest.mark.integration


def right_choices(lab: LabLayout, **changed: object) -> RestoreChoices:
    choices = RestoreChoices("clear", "admin", admin_password(lab), plain_restart=True)
    for name, value in changed.items():
        setattr(choices, name, value)
    return choices


async def test_producing_during_restore_good_and_bad_runs(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    scenario = PRODUCING_DURING_RESTORE
    profile = lab_profile(lab_config, tmp_path / "backups")
    await prepared(scenario, lab, profile)
    # Good: the wizard says the repository still produces; the trainee chooses to stop it.
    choices = right_choices(lab)
    good_run = Played.restore(scenario, lab, profile, choices)
    outcome = await good_run.engine.run()
    assert outcome.step_id == restore_steps.QUIET, outcome
    assert outcome.error is not None and "still producing" in outcome.error.message
    assert good_run.watcher.fired == [scenario.faults[0].what]
    choices.while_producing = "stop"
    assert (await good_run.engine.run()).status == "finished"
    good = await good_run.graded(f"{scenario.id} play")
    assert scores(good) == {
        "repository_stopped": 4,
        "events_lost": 2,
        "databases": 3,
        "drift": 3,
        "gates_read": 2,
        "time": 1,
    }, debriefs(good)
    assert "ran its stop command" in debriefs(good)["repository_stopped"]

    # Bad: the run ends refused at the check and the trainee leaves it there.
    await prepared(scenario, lab, profile)
    bad_run = Played.restore(scenario, lab, profile, right_choices(lab), reads=False)
    outcome = await bad_run.engine.run()
    assert outcome.step_id == restore_steps.QUIET and outcome.refused
    # The repository goes on changing nodes nobody tracks while the trainee walks away.
    await eventually(lambda: not postgres.node_drift(lab).in_sync, "drift", timeout=30)
    bad = await bad_run.graded()
    assert scores(bad) == {
        "repository_stopped": 0,
        "events_lost": 0,
        "databases": 0,
        "drift": 0,
        "gates_read": 0,
        "time": 1,
    }, debriefs(bad)
    assert "never stopped" in debriefs(bad)["repository_stopped"]
    assert "Restore, step 1 (before 2.1)" in next(
        p.procedure for p in bad.points if p.id == "repository_stopped"
    )
    await asyncio.to_thread(reset, lab)


async def test_broker_restart_mid_drain_good_and_bad_runs(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    scenario = BROKER_RESTART_MID_DRAIN
    profile = lab_profile(lab_config, tmp_path / "backups")
    await prepared(scenario, lab, profile)
    good_run = Played.backup(scenario, lab, profile)
    assert (await good_run.engine.run()).status == "finished"
    good = await good_run.graded(f"{scenario.id} play")
    assert good.faults == (scenario.faults[0].what,)
    record = load_run(good_run.engine.journal.run_dir)
    wait = record.results[backup_steps.WAIT]
    reset_seen = record.records[backup_steps.WAIT]["counter_reset"]
    # The wizard saw DequeueCount fall below D0 and judged the drain on later samples only.
    assert wait["mode"] == "drain" and wait["counters_reset"] is True
    assert "DequeueCount fell below its value at t0" in reset_seen["note"]
    assert wait["queue_at_drain"]["p0"] is None and wait["queue_at_drain"]["consumed"] is None
    assert wait["drained_at"] >= reset_seen["at"]
    assert record.step_started[backup_steps.SYNC] >= wait["drained_at"]
    assert scores(good) == {"finished": 3, "drain_after_restart": 4, "time": 1}, debriefs(good)
    assert "The broker restarted during the wait" in debriefs(good)["drain_after_restart"]

    await prepared(scenario, lab, profile)
    bad_run = Played.backup(scenario, lab, profile, wait_mode="countdown", countdown=1.0)
    assert (await bad_run.engine.run()).status == "finished"
    bad = await bad_run.graded()
    assert bad.faults == good.faults
    assert scores(bad) == {"finished": 3, "drain_after_restart": 0, "time": 1}, debriefs(bad)
    assert "countdown" in debriefs(bad)["drain_after_restart"]
    repository_control.set_rate(lab, 0.0)
    await asyncio.to_thread(reset, lab)


async def test_wrong_recover_password_good_and_bad_runs(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    scenario = WRONG_RECOVER_PASSWORD
    profile = lab_profile(lab_config, tmp_path / "backups")
    wrong = "wiki-" + admin_password(lab)
    await prepared(scenario, lab, profile)
    # Good: the wiki's password is refused at the recover start; the vault's one works.
    choices = right_choices(lab, recover_password=wrong)
    good_run = Played.restore(scenario, lab, profile, choices)
    outcome = await good_run.engine.run()
    assert outcome.step_id == restore_steps.RECOVER, outcome
    assert outcome.error is not None
    assert "wrong repository admin credentials for user admin" in outcome.error.message
    assert not standin.is_running(lab)
    choices.recover_password = admin_password(lab)
    assert (await good_run.engine.run()).status == "finished"
    good = await good_run.graded(f"{scenario.id} play")
    assert wrong not in good_run.journal_text()
    assert scores(good) == {
        "password_checked": 2,
        "recovered": 4,
        "recover_removed": 2,
        "drift": 3,
        "gates_read": 2,
        "time": 1,
    }, debriefs(good)

    # Bad: the same wrong password three times, then the trainee gives up.
    await prepared(scenario, lab, profile)
    choices = right_choices(lab, recover_password=wrong)
    bad_run = Played.restore(scenario, lab, profile, choices, reads=False)
    for _ in range(3):
        choices.recover_password = wrong  # typed again, as the screen asks each time
        outcome = await bad_run.engine.run()
        assert outcome.step_id == restore_steps.RECOVER, outcome
    bad = await bad_run.graded()
    assert wrong not in bad_run.journal_text()
    assert scores(bad) == {
        "password_checked": 0,
        "recovered": 0,
        "recover_removed": 0,
        "drift": 3,
        "gates_read": 0,
        "time": 1,
    }, debriefs(bad)
    assert "3 -Drecover starts were refused" in debriefs(bad)["password_checked"]
    await asyncio.to_thread(reset, lab)


def watching_for(seconds: int, lab_config: Path, tmp_path: Path) -> Profile:
    """The lab profile whose wizard watches `seconds` for the Sync Service to come back
    after a start (600 s by default), looking each second."""
    return lab_profile(
        lab_config,
        tmp_path / "backups",
        SYNCWIZARD_SYNC_SERVICE__HEALTHY_TIMEOUT=str(seconds),
        SYNCWIZARD_SYNC_SERVICE__WATCH_INTERVAL="1",
    )


@pytest.fixture
def sync_password_given_back(lab: LabLayout) -> Iterator[None]:
    """The never-healthy fault's tests leave the Sync DB role its configured password,
    whatever they end with: the next test's stand-in logs in with it."""
    yield
    restore_sync_password(lab)


@pytest.mark.usefixtures("sync_password_given_back")
async def test_never_healthy_after_recover_good_and_bad_runs(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    scenario = NEVER_HEALTHY_AFTER_RECOVER
    profile = watching_for(10, lab_config, tmp_path)
    await prepared(scenario, lab, profile)
    good_run = Played.restore(scenario, lab, profile, right_choices(lab))
    outcome = await good_run.engine.run()
    assert outcome.step_id == restore_steps.RECOVER, outcome
    error = outcome.error
    assert error is not None and error.system == "health"
    assert "did not become healthy" in error.message
    assert "databaseConnection: cannot reach the Sync DB" in error.message
    assert "password authentication failed" in error.message
    assert good_run.watcher.fired == [scenario.faults[0].what]
    seen = good_run.engine.records[restore_steps.RECOVER][UNHEALTHY_SEEN]["checks"]
    assert "password authentication failed" in seen[FAILING_CHECK]["message"]
    # The fix the debrief names; the step, run again, watches the same start (no second one).
    restore_sync_password(lab)
    assert (await good_run.engine.run()).status == "finished"
    good = await good_run.graded(f"{scenario.id} play")
    starts = [
        entry
        for entry in read_entries(Path(good_run.engine.journal.run_dir) / JOURNAL_NAME)
        if entry.get("kind") == "record" and entry.get("message") == "starting"
    ]
    assert len(starts) == 1  # one -Drecover start, watched twice: no second start
    assert scores(good) == {
        "unhealthy_named": 2,
        "fixed": 4,
        "recover_removed": 2,
        "drift": 3,
        "gates_read": 2,
        "time": 1,
    }, debriefs(good)

    # Bad: the trainee abandons with the service unhealthy.
    await prepared(scenario, lab, profile)
    bad_run = Played.restore(scenario, lab, profile, right_choices(lab), reads=False)
    outcome = await bad_run.engine.run()
    assert outcome.step_id == restore_steps.RECOVER, outcome
    bad = await bad_run.graded()
    assert scores(bad) == {
        "unhealthy_named": 2,
        "fixed": 0,
        "recover_removed": 0,
        "drift": 3,
        "gates_read": 0,
        "time": 1,
    }, debriefs(bad)
    assert "ALTER ROLE" in debriefs(bad)["fixed"]
    await asyncio.to_thread(reset, lab)  # gives the role its password back


@pytest.mark.usefixtures("sync_password_given_back")
async def test_never_healthy_fixed_while_the_watch_still_runs_earns_every_point(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    """A trainee who reads the failing check on the watch and gives the role its password
    back before the watch times out: the step ends healthy without a failure, and the
    journal still shows what was seen."""
    scenario = NEVER_HEALTHY_AFTER_RECOVER
    profile = watching_for(120, lab_config, tmp_path)
    await prepared(scenario, lab, profile)
    run = Played.restore(scenario, lab, profile, right_choices(lab))
    read_on_the_watch: list[str] = []

    def fix_once_seen(event: StepEvent) -> None:
        if event.kind != EventKind.RECORD or event.message != UNHEALTHY_SEEN:
            return
        checks = event.data.get("checks") or {}
        if FAILING_CHECK in checks and not read_on_the_watch:
            read_on_the_watch.append(checks[FAILING_CHECK]["message"])
            restore_sync_password(lab)

    run.engine.observers.append(fix_once_seen)
    assert (await run.engine.run()).status == "finished"
    assert "password authentication failed" in read_on_the_watch[0]
    graded = await run.graded(f"{scenario.id} fixed in the watch")
    assert graded.faults == (scenario.faults[0].what,)
    assert [p.id for p in graded.points if not p.full] == [], debriefs(graded)
    assert "still running" in debriefs(graded)["fixed"]
    await asyncio.to_thread(reset, lab)


@pytest.mark.usefixtures("sync_password_given_back")
async def test_the_rotation_lands_while_the_recover_reconciles(lab: LabLayout) -> None:
    """The never-healthy fault holds the moment rather than racing for it: the reconcile's
    first insert waits on the fault's lock with its session open, goes on after the rotation
    over that session; the service's health check session, open since before the rotation,
    is ended, and its next connection is refused."""
    sync_info = postgres.sync_conninfo(lab)
    rotation = asyncio.create_task(asyncio.to_thread(rotate_sync_password, lab, 60.0, 1.0))
    with (
        connect(sync_info, lab.pgpass, "syncwizard-standin-health") as health,
        connect(sync_info, lab.pgpass, RECOVER_SESSION) as recover,
    ):
        await eventually(lambda: sync_recovery_locked(lab), "the fault's lock", timeout=60)
        with recover.transaction():  # waits until the rotation committed
            recover.execute("INSERT INTO sync_recovery (started_at) VALUES (now())")
        assert await asyncio.wait_for(rotation, timeout=60) is True
        with pytest.raises(psycopg.OperationalError):
            health.execute("SELECT 1")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        connect(sync_info, lab.pgpass, "syncwizard-standin-consumer")
    restore_sync_password(lab)
    with connect(sync_info, lab.pgpass, "syncwizard-standin-consumer"):
        pass  # the fix the debrief names lets the service in again


def sync_recovery_locked(lab: LabLayout) -> bool:
    dbname = conninfo_to_dict(postgres.sync_conninfo(lab))["dbname"]
    with psycopg.connect(postgres.superuser_conninfo(lab, str(dbname)), autocommit=True) as db:
        row = db.execute(
            "SELECT 1 FROM pg_locks WHERE relation = 'sync_recovery'::regclass "
            "AND mode = 'ShareRowExclusiveLock' AND granted"
        ).fetchone()
    return row is not None


def test_the_rotation_changes_nothing_when_no_recover_comes(lab: LabLayout) -> None:
    assert rotate_sync_password(lab, wait=0.3) is False
    with connect(postgres.sync_conninfo(lab), lab.pgpass, "syncwizard-standin-consumer"):
        pass


@pytest.mark.usefixtures("sync_password_given_back")
async def test_train_run_rotates_the_sync_password_from_the_wizards_journal(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    """`train run`'s way for the fault that waits in the background: the wizard runs on its
    own (no observer of ours in it); the watcher reads its journal, arms the rotation once
    the repository has started (before the -Drecover step), and grades at the end."""
    scenario = NEVER_HEALTHY_AFTER_RECOVER
    profile = watching_for(10, lab_config, tmp_path)
    since = (await session.prepare(scenario, lab, profile)).set_up_at
    said: list[str] = []
    watching = asyncio.create_task(
        asyncio.to_thread(
            session.watch, scenario, lab, since, say=said.append, poll=0.1, stop_after=240
        )
    )
    engine = start_restore(
        profile,
        resolve_set(Path(profile.backup.dir), None),
        right_choices(lab),
        broker_password=broker_password(profile.broker),
        confirm=confirm,
    )
    try:
        outcome = await engine.run()
    finally:
        await engine.aclose()
    attempt = await watching
    assert outcome.step_id == restore_steps.RECOVER and outcome.error is not None
    assert "databaseConnection: cannot reach the Sync DB" in outcome.error.message
    assert f"fault: {scenario.faults[0].what}" in said
    assert attempt is not None and attempt.run_id == engine.run_id
    assert scores(attempt)["unhealthy_named"] == 2 and scores(attempt)["fixed"] == 0
    await asyncio.to_thread(reset, lab)


def test_zz_timings() -> None:
    """Prints what each scenario took here (the closing note of issue 12 quotes it)."""
    for name, seconds in TIMINGS.items():
        print(f"TIMING {name}: {seconds:.1f} s")
