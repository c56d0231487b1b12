"""The whole restore through the TUI at 80x24 on the lab shaped like today's deployments
(`lab up --like current`): no STOMP on the broker, Jolokia under the hardened policy, the
Sync tables in the repository database. The admin types each gate's token; the clear opens
a loopback STOMP connector, archives every pending event, and it is closed again."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from standin_support import admin_password, eventually
from test_backup_support import the_set
from test_tui_restore import type_gate, until

from syncwizard.config import broker_password, load_settings
from syncwizard.lab import postgres, repository_control, standin
from syncwizard.lab.generator import generate
from syncwizard.lab.layout import LabLayout
from syncwizard.runbook import backupset
from syncwizard.runbook.backup.runbook import BackupOptions, start_backup
from syncwizard.runbook.model import StepState
from syncwizard.tui.app import SyncWizardApp
from syncwizard.tui.restore.credentials import CredentialsScreen
from syncwizard.tui.restore.screen import RestoreScreen

pytestmark = pytest.mark.integration


def stomp_listens(lab: LabLayout) -> bool:
    try:
        socket.create_connection(("127.0.0.1", lab.ports.stomp), timeout=2).close()
    except OSError:
        return False
    return True


async def test_an_admin_restores_the_current_lab_screen_by_screen_at_80x24(
    current_lab: LabLayout, current_lab_config: Path, tmp_path: Path
) -> None:
    lab = current_lab
    repository_control.set_rate(lab, 0)
    if not standin.is_running(lab):
        standin.start(lab)
    backup_dir = tmp_path / "backups"
    environ = {"SYNCWIZARD_BACKUP__DIR": str(backup_dir), "SYNCWIZARD_BACKUP__PUBLISH_LAG": "1"}
    settings = load_settings(current_lab_config, "lab", environ=environ)
    profile = settings.profile
    engine = start_backup(
        profile,
        BackupOptions.from_settings(profile.backup),
        broker_password=broker_password(profile.broker),
    )
    try:
        assert (await engine.run()).status == "finished"
    finally:
        await engine.aclose()
    manifest = backupset.read_manifest(the_set(backup_dir))
    standin.stop(lab)
    produced = await generate(lab, rate=100, duration=2, seed=61)

    tokens = {
        "stop_services": ["stop"],
        "clear_events": [manifest["sync_id"][:8]],
        "swap_repository": [postgres.REPOSITORY_DB],
        "start_repository": ["restored"],
        "start_recover": ["recover"],
    }
    app = SyncWizardApp(settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("r")
        await until(pilot, lambda: app.screen.__class__.__name__ == "SetChooserScreen", 30)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RestoreScreen), 30)
        screen = app.screen
        assert isinstance(screen, RestoreScreen)
        await until(pilot, lambda: screen.phase == "ready", 30)
        assert screen.engine is not None
        run = screen.engine
        while (step := run.next_step()) is not None:
            await pilot.press("enter")
            if step.id == "start_recover":
                await until(pilot, lambda: isinstance(app.screen, CredentialsScreen), 30)
                await pilot.press(*admin_password(lab))
                await pilot.press("enter")
            for token in tokens.get(step.id, []):
                await type_gate(pilot, token)

            def step_ended(s: str = step.id) -> bool:
                return run.states[s] in (StepState.DONE, StepState.SKIPPED, StepState.FAILED)

            await until(pilot, step_ended, 180)
            assert run.states[step.id] != StepState.FAILED, run.errors[step.id].render()
            await until(pilot, lambda: screen.phase in ("ready", "finished"), 30)
        results = dict(run.results)

    cleared = results["clear_events"]
    assert cleared["archived"] == cleared["removed"] == produced and cleared["complete"]
    assert results["clear_orphans"]["stomp_window"].endswith("and closed again")
    assert not stomp_listens(lab), "STOMP closed again, as the broker shipped"
    assert results["restore_sync"]["reason"].startswith("the Sync Service keeps its tables")
    await eventually(lambda: postgres.node_drift(lab).in_sync, "no drift after the recover")
