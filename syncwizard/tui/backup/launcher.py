"""How the TUI starts, resumes and abandons backup runs: one small protocol.

The backup screen only knows `RunLauncher`. `BackupLauncher` drives the backup runbook
(runbook/backup/runbook.py) for the settings' profile, over the profile's systems or over
the ones it is given (the tests and the screenshots give fake systems,
tests/support/fake_backup.py). Importing this module loads no client: the runbook (and
with it psycopg and httpx) is imported in a thread when a run starts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from syncwizard.config import Profile
    from syncwizard.runbook.backup.systems import BackupSystems
    from syncwizard.runbook.engine import Engine
    from syncwizard.runbook.journal import RunRecord
    from syncwizard.runbook.model import Confirm, Observer

RUNBOOK = "backup"

# The systems of one run, from the profile and the broker password.
SystemsFactory = Callable[["Profile", "str | None"], "BackupSystems"]


class RunLauncher(Protocol):
    """Starts and resumes runs of one runbook; every method may raise SyncWizardError."""

    def find_unfinished(self) -> RunRecord | None:
        """The newest run that neither finished nor was abandoned (blocking: reads files)."""
        ...

    async def step_titles(self, record: RunRecord) -> dict[str, str]:
        """The titles of a recorded run's steps, by id (for the resume prompt)."""
        ...

    def repository_outside(self) -> str | None:
        """The repository DB's product when syncwizard does not back it up (Oracle, SQL
        Server): its backup's snapshot time must be given to `start`. None otherwise."""
        ...

    async def start(
        self,
        observers: Sequence[Observer],
        confirm: Confirm,
        external_repository_at: float | None = None,
    ) -> Engine:
        """A new run, journaled and announced to `observers`; `engine.run()` does the rest.
        `external_repository_at`: the attested snapshot time of a repository DB backed up
        outside syncwizard."""
        ...

    async def resume(
        self, record: RunRecord, observers: Sequence[Observer], confirm: Confirm
    ) -> Engine:
        """The engine of `record` at the step where it stopped (RefusedError if it cannot)."""
        ...

    def abandon(self, record: RunRecord, reason: str) -> None:
        """Mark `record` abandoned: a fresh run replaces it (blocking: writes the journal)."""
        ...

    async def read_set(self, set_dir: Path) -> dict[str, Any]:
        """The manifest of a sealed backup set."""
        ...


def find_unfinished_backup() -> RunRecord | None:
    from syncwizard.runbook.journal import find_unfinished

    return find_unfinished(RUNBOOK)


def abandon_run(record: RunRecord, reason: str) -> None:
    from syncwizard.runbook.journal import abandon

    abandon(record, reason)


async def read_backup_set(set_dir: Path) -> dict[str, Any]:
    from syncwizard.runbook import backupset

    manifest: dict[str, Any] = await asyncio.to_thread(backupset.read_manifest, set_dir)
    return manifest


def _backup_runbook() -> ModuleType:
    from syncwizard.runbook.backup import runbook

    return runbook


async def _load_runbook() -> ModuleType:
    """Import off the event loop: the backup modules pull in psycopg and httpx."""
    return await asyncio.to_thread(_backup_runbook)


class BackupLauncher:
    """The real backup runbook for one profile (runbook/backup/runbook.py)."""

    def __init__(
        self,
        profile: Profile,
        *,
        systems: SystemsFactory | None = None,
        run_id: str | None = None,
    ) -> None:
        self.profile = profile
        self.systems = systems  # None: the profile's own
        self.run_id = run_id  # None: backup-<UTC time>

    def _systems(self, password: str | None) -> BackupSystems | None:
        return None if self.systems is None else self.systems(self.profile, password)

    def find_unfinished(self) -> RunRecord | None:
        return find_unfinished_backup()

    def abandon(self, record: RunRecord, reason: str) -> None:
        abandon_run(record, reason)

    async def read_set(self, set_dir: Path) -> dict[str, Any]:
        return await read_backup_set(set_dir)

    async def _password(self) -> str | None:
        from syncwizard.config import broker_password

        return await asyncio.to_thread(broker_password, self.profile.broker)

    async def step_titles(self, record: RunRecord) -> dict[str, str]:
        backup = await _load_runbook()
        try:
            options = backup.BackupOptions.from_json(record.header["options"])
            steps = backup.BackupSteps(
                self.profile, None, options, Path(record.header["backup_set"]), self._systems(None)
            )
        except (KeyError, TypeError, ValueError):
            return {}  # a journal from another version: the prompt shows the step ids
        try:
            return {step.id: step.title for step in steps.runbook().steps}
        finally:
            await steps.systems.aclose()

    def repository_outside(self) -> str | None:
        settings = self.profile.repository_db
        return settings.vendor if settings.engine == "external" else None

    async def start(
        self,
        observers: Sequence[Observer],
        confirm: Confirm,
        external_repository_at: float | None = None,
    ) -> Engine:
        backup = await _load_runbook()
        password = await self._password()
        options = backup.BackupOptions.from_settings(
            self.profile.backup, external_repository_at=external_repository_at
        )
        engine: Engine = backup.start_backup(
            self.profile,
            options,
            broker_password=password,
            observers=observers,
            confirm=confirm,
            systems=self._systems(password),
            run_id=self.run_id,
        )
        return engine

    async def resume(
        self, record: RunRecord, observers: Sequence[Observer], confirm: Confirm
    ) -> Engine:
        backup = await _load_runbook()
        password = await self._password()
        engine: Engine = await backup.resume_backup(
            record,
            self.profile,
            broker_password=password,
            observers=observers,
            confirm=confirm,
            systems=self._systems(password),
        )
        return engine
