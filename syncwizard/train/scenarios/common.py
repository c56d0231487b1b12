"""What several scenarios set up: events flowing, last night's backup."""

from __future__ import annotations

from pathlib import Path

from syncwizard.config import Profile, broker_password
from syncwizard.errors import SyncWizardError
from syncwizard.lab import repository_control
from syncwizard.lab.layout import LabLayout
from syncwizard.runbook.backup import step_names as backup_steps
from syncwizard.runbook.backup.options import BackupOptions
from syncwizard.runbook.backup.runbook import start_backup

# Events a second the repository makes while a backup scenario runs: enough to move the
# counters on every sample, few enough for a busy 2-core machine.
FLOWING_RATE = 5.0


async def events_flow(layout: LabLayout, profile: Profile) -> None:
    repository_control.set_rate(layout, FLOWING_RATE)


async def take_backup(profile: Profile) -> Path:
    """Last night's backup, taken with the wizard's own backup runbook."""
    engine = start_backup(
        profile,
        BackupOptions.from_settings(profile.backup),
        broker_password=broker_password(profile.broker),
    )
    try:
        outcome = await engine.run()
    finally:
        await engine.aclose()
    if outcome.status != "finished":
        raise SyncWizardError(
            "the scenario's backup (last night's) did not finish: "
            + (outcome.error.message if outcome.error else outcome.status),
            hint="`syncwizard lab status`; then `syncwizard train run` again",
            system="lab",
        )
    return Path(engine.results[backup_steps.SEAL]["backup_set"])
