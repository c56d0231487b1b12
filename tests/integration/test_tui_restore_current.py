"""The whole restore through the TUI at 80x24 on the lab shaped like today's deployments
(`lab up --like current`): no STOMP on the broker, Jolokia under the hardened policy, the
Sync tables in the repository database. The admin types each gate's token; the clear opens
a loopback STOMP connector, archives every pending event, and it is closed again."""

from __future__ import annotations

from pathlib import Path

import pytest
from standin_support import admin_password, eventually
from test_restore_current import stomp_listens
from test_restore_modes import backup
from test_tui_restore import restore_screen_by_screen

from syncwizard.config import load_settings
from syncwizard.lab import postgres, repository_control, standin
from syncwizard.lab.generator import generate
from syncwizard.lab.layout import LabLayout
from syncwizard.runbook import backupset
from syncwizard.tui.app import SyncWizardApp

pytestmark = pytest.mark.integration


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
    set_dir = await backup(profile)
    manifest = backupset.read_manifest(set_dir)
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
        run = await restore_screen_by_screen(pilot, app, tokens, admin_password(lab))
        results = dict(run.results)

    cleared = results["clear_events"]
    assert cleared["archived"] == cleared["removed"] == produced and cleared["complete"]
    assert results["clear_orphans"]["stomp_window"].endswith("and closed again")
    assert not stomp_listens(lab), "STOMP closed again, as the broker shipped"
    assert results["restore_sync"]["reason"].startswith("the Sync Service keeps its tables")
    await eventually(lambda: postgres.node_drift(lab).in_sync, "no drift after the recover")
