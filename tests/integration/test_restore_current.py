"""The whole backup and restore on the lab shaped like today's deployments (`lab up --like
current`): a broker shipped without STOMP and with Jolokia's hardened policy, the Sync tables
in the repository database. The clear opens a loopback STOMP connector for its consuming
(broker.stomp_open), archives every pending event, and closes it again."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from standin_support import admin_password, eventually
from test_backup_support import FAST
from test_restore_modes import backup

from syncwizard.config import Profile, broker_password, load_settings
from syncwizard.lab import broker, postgres, repository_control, standin
from syncwizard.lab.generator import generate
from syncwizard.lab.layout import LabLayout
from syncwizard.runbook.journal import load_run
from syncwizard.runbook.model import Gate
from syncwizard.runbook.report import render_report
from syncwizard.runbook.restore.archive import count_archive
from syncwizard.runbook.restore.runbook import RestoreChoices, start_restore

pytestmark = pytest.mark.integration


def current_profile(config: Path, backup_dir: Path) -> Profile:
    environ = {"SYNCWIZARD_BACKUP__DIR": str(backup_dir), **FAST}
    return load_settings(config, "lab", environ=environ).profile


def stomp_listens(lab: LabLayout) -> bool:
    try:
        socket.create_connection(("127.0.0.1", lab.ports.stomp), timeout=2).close()
    except OSError:
        return False
    return True


@pytest.fixture
async def quiet_current_lab(current_lab: LabLayout) -> AsyncIterator[LabLayout]:
    repository_control.set_rate(current_lab, 0)
    yield current_lab
    if not standin.is_running(current_lab):
        standin.start(current_lab)


async def test_a_restore_on_a_broker_without_stomp_archives_every_event_and_closes_it_again(
    quiet_current_lab: LabLayout, current_lab_config: Path, tmp_path: Path
) -> None:
    lab = quiet_current_lab
    profile = current_profile(current_lab_config, tmp_path / "backups")
    assert profile.broker.stomp_open and profile.broker.stomp_close
    assert not stomp_listens(lab)
    set_dir = await backup(profile)

    # Events the stopped Sync Service never saw: the clear must archive every one.
    standin.stop(lab)
    produced = await generate(lab, rate=200, duration=2, seed=5)
    gates: list[Gate] = []

    async def confirm(gate: Gate) -> bool:
        gates.append(gate)
        return True

    choices = RestoreChoices("clear", "admin", admin_password(lab), plain_restart=False)
    run = start_restore(
        profile, set_dir, choices, broker_password=broker_password(profile.broker), confirm=confirm
    )
    try:
        restored = await run.run()
    finally:
        await run.aclose()
    assert restored.status == "finished", restored.error and restored.error.render()

    preflight = run.results["preflight"]
    assert preflight["stomp_closed"] is True
    assert any("STOMP is closed on the broker" in w for w in preflight["warnings"])
    clear_gate = next(g for g in gates if g.title.startswith("Clear the sync queue"))
    assert "broker restarts" in dict(clear_gate.facts)
    cleared = run.results["clear_events"]
    archive = run.journal.run_dir / "events.jsonl"
    assert count_archive(archive) == produced == cleared["archived"] == cleared["removed"]
    assert cleared["complete"] is True
    assert "NOT closed again yet" in cleared["stomp_window"]  # the orphans may need it
    assert run.results["clear_orphans"]["stomp_window"].endswith("and closed again")
    assert not stomp_listens(lab), "STOMP is closed again, as the broker shipped"
    assert broker.is_running(lab)
    report = render_report(load_run(run.journal.run_dir))
    assert "a loopback STOMP connector was opened for the clear, and closed again" in report
    await eventually(lambda: postgres.node_drift(lab).in_sync, "no drift after the recover")


async def test_without_the_window_commands_the_preflight_refuses_before_anything_stops(
    quiet_current_lab: LabLayout, current_lab_config: Path, tmp_path: Path
) -> None:
    lab = quiet_current_lab
    environ = {
        "SYNCWIZARD_BACKUP__DIR": str(tmp_path / "backups"),
        "SYNCWIZARD_BROKER__STOMP_OPEN": "",
        "SYNCWIZARD_BROKER__STOMP_CLOSE": "",
        **FAST,
    }
    profile = load_settings(current_lab_config, "lab", environ=environ).profile
    set_dir = await backup(profile)
    choices = RestoreChoices("clear", "admin", admin_password(lab), plain_restart=False)
    run = start_restore(profile, set_dir, choices, broker_password=broker_password(profile.broker))
    try:
        outcome = await run.run()
    finally:
        await run.aclose()
    assert (outcome.status, outcome.step_id) == ("failed", "preflight")
    assert outcome.error is not None
    text = outcome.error.render()
    assert "has no STOMP connector" in text and "broker.stomp_open" in text
    assert standin.is_running(lab), "nothing was stopped"


async def test_deleting_the_queue_refused_by_the_policy_leaves_it_empty_and_goes_on(
    quiet_current_lab: LabLayout, current_lab_config: Path, tmp_path: Path
) -> None:
    lab = quiet_current_lab
    profile = current_profile(current_lab_config, tmp_path / "backups")
    set_dir = await backup(profile)
    standin.stop(lab)
    produced = await generate(lab, rate=100, duration=0.5, seed=7)
    choices = RestoreChoices("delete", "admin", admin_password(lab), plain_restart=False)
    run = start_restore(
        profile, set_dir, choices, broker_password=broker_password(profile.broker),
        confirm=confirm_all,
    )  # fmt: skip
    try:
        restored = await run.run()
    finally:
        await run.aclose()
    assert restored.status == "finished", restored.error and restored.error.render()
    cleared = run.results["clear_events"]
    assert cleared["archived"] == produced and cleared["complete"]
    assert cleared["verified"].startswith("not deleted: the broker's policy refuses removeQueue")
    assert not stomp_listens(lab)


async def confirm_all(gate: Gate) -> bool:
    return True
