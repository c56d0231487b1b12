"""Helpers for the backup screen tests: an app on the scripted backup, waiting on it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support.fake_backup import FakeBackup, FakeBackupLauncher, backup_reports
from support.fake_status import T0, FakeClock, FakeStatusSource, demo_settings
from textual.pilot import Pilot
from tui_support import until

from syncwizard.status import StatusReport
from syncwizard.tui.app import SyncWizardApp
from syncwizard.tui.backup.screen import BackupScreen


def backup_app(
    backup_dir: Path,
    *,
    reports: list[StatusReport] | None = None,
    launcher: FakeBackupLauncher | None = None,
    **fake_options: Any,
) -> tuple[SyncWizardApp, FakeBackup, FakeStatusSource]:
    """An app whose Backup runs a FakeBackup (real engine and journal) and whose live
    panels read a fake status source; the clock stands still at T0."""
    settings = demo_settings()
    fake = launcher.fake if launcher else FakeBackup(settings, backup_dir, **fake_options)
    source = FakeStatusSource(backup_reports() if reports is None else reports)
    app = SyncWizardApp(
        settings,
        source_factory=lambda: source,
        clock=FakeClock(T0),
        poll_interval=0.01,
        backup_launcher=launcher or FakeBackupLauncher(fake),
    )
    app.animation_level = "none"
    return app, fake, source


def backup_screen(app: SyncWizardApp) -> BackupScreen:
    return next(s for s in app.screen_stack if isinstance(s, BackupScreen))


def has_backup_screen(app: SyncWizardApp) -> bool:
    return any(isinstance(s, BackupScreen) for s in app.screen_stack)


async def open_backup(pilot: Pilot[int]) -> BackupScreen:
    """Choose Backup on the welcome screen and wait for the wizard."""
    app = pilot.app
    assert isinstance(app, SyncWizardApp)
    await pilot.press("b")
    await until(pilot, lambda: has_backup_screen(app))
    return backup_screen(app)


async def held_at(pilot: Pilot[int], fake: FakeBackup, step_id: str) -> None:
    """Wait until the scripted step `step_id` holds (and the screen has caught up)."""
    await until(pilot, lambda: fake.holding == step_id)
    await pilot.pause(0.05)


async def settled(
    pilot: Pilot[int], fake: FakeBackup, source: FakeStatusSource, step_id: str
) -> None:
    """Held at `step_id` with every status report shown: a still screen for a snapshot."""
    await held_at(pilot, fake, step_id)
    await until(pilot, lambda: source.exhausted)
    await pilot.pause(0.1)
    await pilot.wait_for_scheduled_animations()
