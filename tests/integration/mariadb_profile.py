"""The `lab-mariadb` profile on the test session's lab and MariaDB, and a backup on it (the
runbook's tests of both engines start from here)."""

from __future__ import annotations

from pathlib import Path

from test_backup_support import FAST

from syncwizard.config import Profile, broker_password, load_settings
from syncwizard.config_file import write_profile
from syncwizard.lab import stack
from syncwizard.lab.layout import LabLayout
from syncwizard.runbook.backup.runbook import BackupOptions, start_backup
from syncwizard.runbook.engine import RunOutcome


def mariadb_config(lab: LabLayout, mariadb_lab: LabLayout, path: Path) -> Path:
    """The `lab-mariadb` profile as `lab up --db mariadb` writes it, its databases on the
    session's MariaDB (which runs under a layout of its own)."""
    topic = stack.settings_for(lab, event2=False).topic
    sections = {**stack.profile_sections(lab, topic), **stack.mariadb_db_sections(mariadb_lab)}
    write_profile(path, stack.MARIADB_PROFILE_NAME, sections)
    return path


def mariadb_profile(
    lab: LabLayout, mariadb_lab: LabLayout, tmp_path: Path, **extra: str
) -> Profile:
    """The profile, its backups in `tmp_path/backups`, the fast test timings."""
    config = mariadb_config(lab, mariadb_lab, tmp_path / "config.toml")
    environ = {"SYNCWIZARD_BACKUP__DIR": str(tmp_path / "backups"), **FAST, **extra}
    profile = load_settings(config, stack.MARIADB_PROFILE_NAME, environ=environ).profile
    assert profile.repository_db.engine == profile.sync_db.engine == "mysql"
    return profile


async def run_backup_on(
    lab: LabLayout, mariadb_lab: LabLayout, tmp_path: Path, **extra: str
) -> RunOutcome:
    profile = mariadb_profile(lab, mariadb_lab, tmp_path, **extra)
    engine = start_backup(
        profile,
        BackupOptions.from_settings(profile.backup),
        broker_password=broker_password(profile.broker),
    )
    try:
        return await engine.run()
    finally:
        await engine.aclose()
