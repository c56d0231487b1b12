"""Both database engines satisfy the one interface (mypy checks the assignments below;
the runtime check catches a method that went missing), and an engine made without the
plan a step needs says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncwizard.clients.mysql_conn import MySQLTarget
from syncwizard.errors import SyncWizardError
from syncwizard.runbook.dbengine import DatabaseEngine, MySQLEngine, PostgresEngine
from syncwizard.runbook.restore.database import RestorePlan

TARGET = MySQLTarget(database="alfresco", user="alfresco")


def test_both_engines_satisfy_the_interface() -> None:
    plan = RestorePlan.for_dump(
        role="repository_db",
        conninfo="host=127.0.0.1 dbname=alfresco user=alfresco",
        passfile=None,
        set_dir=Path("/nowhere"),
        dump={"path": "repository.dump", "format": "custom", "row_counts": {}, "tool_major": 15},
        run_id="restore-20261206T120000Z",
    )
    engines: list[DatabaseEngine] = [PostgresEngine(restore_plan=plan), MySQLEngine(TARGET)]
    assert all(isinstance(engine, DatabaseEngine) for engine in engines)


async def test_an_engine_without_the_plan_a_step_needs_says_so() -> None:
    with pytest.raises(SyncWizardError, match="without a restore plan"):
        await MySQLEngine(TARGET).swap(None)  # type: ignore[arg-type]
    with pytest.raises(SyncWizardError, match="without a dump plan"):
        await PostgresEngine().dump(None)  # type: ignore[arg-type]
