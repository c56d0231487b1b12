"""The MySQL/MariaDB engine behind the runbook's database interface (runbook/dbengine.py):
a step context's progress, records and logs carry what the PostgreSQL steps' do."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from mariadb_support import admin, counts, fresh_database, sql

from syncwizard.clients.mysql_restore import MySQLRestorePlan
from syncwizard.clients.results import Progress
from syncwizard.lab.layout import LabLayout
from syncwizard.runbook.dbengine import DatabaseEngine, MySQLEngine

pytestmark = pytest.mark.integration
RUN = "restore-20261206T140000Z"


class Context:
    """The engine's side of a step (as in test_db_restore.py): records kept per step."""

    run_id = RUN
    rechecking = False

    def __init__(self, step_id: str, records: dict[str, dict[str, Any]]) -> None:
        self.step_id = step_id
        self.results: dict[str, Any] = {}
        self.records = records
        self.reports: list[tuple[str, object]] = []
        self.logs: list[str] = []

    def records_of(self, step_id: str) -> Mapping[str, Mapping[str, Any]]:
        return self.records.get(step_id, {})

    def step_times(self) -> Mapping[str, tuple[float, float | None]]:
        return {}

    def progress(self, message: str, detail: object = None) -> None:
        self.reports.append((message, detail))

    def log(self, line: str) -> None:
        self.logs.append(line)

    def record(self, name: str, data: Mapping[str, Any]) -> None:
        self.records.setdefault(self.step_id, {})[name] = dict(data)


async def test_dump_restore_beside_swap_and_verify_through_the_interface(
    mariadb_lab: LabLayout, tmp_path: Path
) -> None:
    await fresh_database(mariadb_lab, "engine", bulk_rows=2_000)
    target = admin(mariadb_lab, "engine")
    records: dict[str, dict[str, Any]] = {}
    dumping = Context("dump_repository", records)
    engine: DatabaseEngine = MySQLEngine(target, out_path=tmp_path / "engine.sql")
    facts = await engine.facts()
    assert (facts.engine, facts.database) == ("mariadb", "engine") and facts.size_bytes > 0
    dumped = await engine.dump(dumping)
    assert dumped["row_counts"] == await counts(mariadb_lab, "engine")
    assert "child" in records["dump_repository"]
    tool = [detail for _, detail in dumping.reports if isinstance(detail, Progress)]
    assert tool[-1].phase == "done" and tool[-1].estimated
    said, detail = dumping.reports[-1]  # the exact rows, once the file was read back
    assert said.endswith(" dump: 2,006 rows in 4 tables, read back with its sha256")
    assert detail is None
    await sql(mariadb_lab, "DELETE FROM engine.bulk WHERE id > 1000;")
    plan = MySQLRestorePlan.for_run(target, tmp_path / "engine.sql", dumped["row_counts"], RUN)
    engine = MySQLEngine(
        target, restore_plan=plan, restore_step="restore_repository", swap_step="swap_repository"
    )
    restored = await engine.restore_beside(Context("restore_repository", records))
    assert restored["rows"] == 2_006 and "restored" in records["restore_repository"]
    swapping = Context("swap_repository", records)
    swapped = await engine.swap(swapping)
    assert "swapping" in records["swap_repository"] and swapped["aside"] == plan.aside
    await engine.verify(swapping)
    assert await counts(mariadb_lab, "engine") == dumped["row_counts"]
    assert (await counts(mariadb_lab, plan.aside))["bulk"] == 1_000
    await sql(mariadb_lab, f"DROP DATABASE `{plan.aside}`; DROP DATABASE engine;")
