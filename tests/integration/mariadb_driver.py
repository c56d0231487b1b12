"""A restore step in a process of its own, for the kill -9 tests:
`python mariadb_driver.py restore|swap <plan.json> <journal.json> [--no-setpriv]`
(--no-setpriv: as on a host without util-linux's setpriv, the tools it starts outlive it).

The plan names the target (the lab admin over its socket), the dump and its row counts;
the journal is a FileJournal, as the runbook's journal keeps a step's records."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from mariadb_support import FileJournal

from syncwizard.clients import lifeline, mysql_restore, mysql_swap
from syncwizard.clients.mysql_conn import MySQLTarget
from syncwizard.clients.mysql_restore import MySQLRestorePlan


def plan_from(path: Path) -> MySQLRestorePlan:
    data = json.loads(path.read_text(encoding="utf-8"))
    target = MySQLTarget(database=data["database"], user=data["user"], socket=Path(data["socket"]))
    return MySQLRestorePlan.for_run(
        target, Path(data["dump"]), data["row_counts"], data["run_id"], mode=data["mode"]
    )


async def main(action: str, plan_file: Path, journal_file: Path) -> None:
    plan = plan_from(plan_file)
    journal = FileJournal(journal_file)
    if action == "restore":
        await mysql_restore.restore_beside(plan, journal)
    else:
        await mysql_swap.swap(plan, journal)


if __name__ == "__main__":
    if "--no-setpriv" in sys.argv:
        lifeline.setpriv = lambda: None  # type: ignore[assignment]
    asyncio.run(main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])))
