"""How the TUI lists backup sets, starts, resumes and finishes restore runs: one protocol.

The restore screens only know `RestoreLauncher`. `RealRestoreLauncher` drives
runbook/restore/runbook.py for the settings' profile, over the profile's systems or over
the ones it is given (the tests and the screenshots give fake systems,
tests/support/fake_restore.py). Importing this module loads no client: the runbook (and
with it psycopg, httpx and stomp.py) is imported in a thread when first needed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Protocol

from syncwizard.tui.backup.launcher import abandon_run

if TYPE_CHECKING:
    from syncwizard.config import Profile
    from syncwizard.runbook.engine import Engine
    from syncwizard.runbook.journal import RunRecord
    from syncwizard.runbook.model import Confirm, Observer
    from syncwizard.runbook.restore.choices import RestoreChoices
    from syncwizard.runbook.restore.sets import SetListing
    from syncwizard.runbook.restore.systems import RestoreSystems

RUNBOOK = "restore"

# The systems of one run, from the profile and the broker password.
SystemsFactory = Callable[["Profile", "str | None"], "RestoreSystems"]


class RestoreLauncher(Protocol):
    """Every method may raise SyncWizardError."""

    def find_unfinished(self) -> RunRecord | None:
        """The newest restore run that neither finished nor was abandoned (blocking)."""
        ...

    def abandon(self, record: RunRecord, reason: str) -> None:
        """Mark `record` abandoned (blocking: writes its journal)."""
        ...

    async def step_titles(self, record: RunRecord) -> dict[str, str]:
        """The titles of a recorded run's steps, by id (for the resume prompt)."""
        ...

    async def list_sets(self) -> list[SetListing]:
        """The profile's backup sets, newest first."""
        ...

    async def make_choices(self) -> RestoreChoices:
        """An empty RestoreChoices, filled in by the screen before the steps that need it."""
        ...

    async def start(
        self,
        set_dir: Path,
        choices: RestoreChoices,
        observers: Sequence[Observer],
        confirm: Confirm,
    ) -> Engine:
        """A new run restoring `set_dir`, journaled; the screen runs its steps one by one."""
        ...

    async def resume(
        self,
        record: RunRecord,
        choices: RestoreChoices,
        observers: Sequence[Observer],
        confirm: Confirm,
    ) -> Engine:
        """The engine of `record` at the step where it stopped (RefusedError if it cannot)."""
        ...

    async def drop_aside(self, run_id: str, role: str) -> None:
        """Drop the old copy of `role`'s database that the run's swap step set aside."""
        ...


def find_unfinished_restore() -> RunRecord | None:
    from syncwizard.runbook.journal import find_unfinished

    return find_unfinished(RUNBOOK)


def _restore_runbook() -> ModuleType:
    from syncwizard.runbook.restore import runbook

    return runbook


async def _load_runbook() -> ModuleType:
    """Import off the event loop: the restore modules pull in psycopg, httpx and stomp.py."""
    return await asyncio.to_thread(_restore_runbook)


class RealRestoreLauncher:
    """The real restore runbook (runbook/restore/runbook.py) for one profile."""

    def __init__(
        self,
        profile: Profile,
        *,
        systems: SystemsFactory | None = None,
        run_id: str | None = None,
    ) -> None:
        self.profile = profile
        self.systems = systems  # None: the profile's own
        self.run_id = run_id  # None: restore-<UTC time>

    def _systems(self, password: str | None) -> RestoreSystems:
        if self.systems is not None:
            return self.systems(self.profile, password)
        from syncwizard.runbook.restore.systems import RestoreSystems

        return RestoreSystems(self.profile, password)

    def find_unfinished(self) -> RunRecord | None:
        return find_unfinished_restore()

    def abandon(self, record: RunRecord, reason: str) -> None:
        abandon_run(record, reason)

    async def _password(self) -> str | None:
        from syncwizard.config import broker_password

        return await asyncio.to_thread(broker_password, self.profile.broker)

    async def step_titles(self, record: RunRecord) -> dict[str, str]:
        """From the runbook built as `describe_plan` builds it (reads the set's manifest)."""
        restore = await _load_runbook()
        from syncwizard.errors import SyncWizardError
        from syncwizard.runbook import backupset

        try:
            set_dir = Path(record.header["backup_set"])
            manifest = await asyncio.to_thread(backupset.read_manifest, set_dir)
        except (KeyError, TypeError, ValueError, SyncWizardError):
            return {}  # the prompt shows the step ids
        systems = self._systems(None)
        try:
            actions = restore.RestoreActions(
                self.profile, systems, set_dir, manifest, record.run_dir, restore.RestoreChoices()
            )
            return {step.id: step.title for step in restore.restore_runbook(actions).steps}
        finally:
            await systems.aclose()

    async def list_sets(self) -> list[SetListing]:
        restore = await _load_runbook()
        sets: list[SetListing] = await restore.list_sets(
            Path(self.profile.backup.dir), self.profile
        )
        return sets

    async def make_choices(self) -> RestoreChoices:
        restore = await _load_runbook()
        choices: RestoreChoices = restore.RestoreChoices()
        return choices

    async def start(
        self,
        set_dir: Path,
        choices: RestoreChoices,
        observers: Sequence[Observer],
        confirm: Confirm,
    ) -> Engine:
        restore = await _load_runbook()
        password = await self._password()
        systems = self._systems(password)
        try:
            engine: Engine = restore.start_restore(
                self.profile,
                set_dir,
                choices,
                broker_password=password,
                observers=observers,
                confirm=confirm,
                systems=systems,
                run_id=self.run_id,
            )
        except BaseException:
            await systems.aclose()
            raise
        return engine

    async def resume(
        self,
        record: RunRecord,
        choices: RestoreChoices,
        observers: Sequence[Observer],
        confirm: Confirm,
    ) -> Engine:
        restore = await _load_runbook()
        password = await self._password()
        systems = self._systems(password)
        try:
            engine: Engine = await restore.resume_restore(
                record,
                self.profile,
                choices,
                broker_password=password,
                observers=observers,
                confirm=confirm,
                systems=systems,
            )
        except BaseException:
            await systems.aclose()
            raise
        return engine

    async def drop_aside(self, run_id: str, role: str) -> None:
        restore = await _load_runbook()
        await restore.drop_aside(run_id, self.profile, role, systems=self._systems(None))
