"""Dropping the database a restore renamed aside (`<name>__before_<run>`), after the run:
the summary offers it behind its own gate; the drop is journaled in the run."""

from __future__ import annotations

import time
from pathlib import Path

from syncwizard.errors import SyncWizardError
from syncwizard.runbook.journal import Journal, load_run, runs_dir
from syncwizard.runbook.model import EventKind, StepEvent
from syncwizard.runbook.restore.step_names import SWAP_STEP_OF
from syncwizard.runbook.restore.systems import RestoreSystems

DROPPED = "dropped_aside"


def aside_of(run_dir: Path, role: str) -> str | None:
    """The name the run renamed `role`'s old database to, unless dropped already."""
    record = load_run(run_dir)
    step = SWAP_STEP_OF[role]
    if DROPPED in record.records.get(step, {}):
        return None
    aside = record.results.get(step, {}).get("aside")
    return str(aside) if aside else None


async def drop_aside_of_run(run: str | Path, systems: RestoreSystems, role: str) -> str:
    run_dir = Path(run) if Path(run).is_dir() else runs_dir() / str(run)
    aside = aside_of(run_dir, role)
    if aside is None:
        raise SyncWizardError(
            f"run {run_dir.name} kept no old copy of the {role} to drop (none was renamed "
            "aside, or it was dropped already)",
            hint="`syncwizard report` shows what the run did",
            system=role,
        )
    await systems.drop_aside(role, aside)
    journal = Journal.open(run_dir)
    try:
        journal.append(
            StepEvent(
                run_id=run_dir.name,
                kind=EventKind.RECORD,
                step_id=SWAP_STEP_OF[role],
                message=DROPPED,
                data={"database": aside, "at": time.time()},
            )
        )
    finally:
        journal.close()
    return aside
