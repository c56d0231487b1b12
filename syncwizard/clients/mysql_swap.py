"""Putting a verified scratch database in the live one's place, on MySQL/MariaDB.

MySQL has no database rename; ONE `RENAME TABLE` statement moves every table: the live
ones to `<live>__before_<run>` and the restored ones from `<live>__restore_<run>` into
the live database. The statement is atomic (crash-safe DDL in MariaDB 10.6+ and MySQL
8), so the live database always holds either all the old tables or all the new ones.

The resume rule, after a kill -9 anywhere:
1. a swap statement still running on the server from the killed attempt (found by the
   marker comment it carries) is ended (KILL) and waited out: it either committed or
   did nothing;
2. then the databases say where we are: the scratch database still holding every
   restored table means not swapped (do it); an empty or missing scratch database with
   the live database holding every restored table, after this run started the swap,
   means swapped (finish: drop the empty scratch database); anything else is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping
from typing import Any

from syncwizard.clients.mysql_conn import MySQLTarget, ident, literal, run_sql
from syncwizard.clients.mysql_facts import DatabaseFacts, database_facts
from syncwizard.clients.mysql_restore import Journal, MySQLRestorePlan, create_like, drop_database
from syncwizard.errors import SyncWizardError

LOCK_WAIT_TIMEOUT = 60  # seconds the swap waits for a table another session uses
GONE_TIMEOUT = 30.0


def marker(plan: MySQLRestorePlan) -> str:
    return f"syncwizard swap {plan.scratch}"


def rename_statement(
    live: str,
    live_tables: tuple[str, ...],
    scratch: str,
    new_tables: tuple[str, ...],
    aside: str | None,
    mark: str,
) -> str:
    """The one statement: every live table aside (or none, on the drop-first path), every
    restored table into the live database."""
    moves = []
    if aside is not None:
        moves += [f"{ident(live)}.{ident(t)} TO {ident(aside)}.{ident(t)}" for t in live_tables]
    moves += [f"{ident(scratch)}.{ident(t)} TO {ident(live)}.{ident(t)}" for t in new_tables]
    return f"RENAME TABLE /* {mark} */ " + ", ".join(moves) + ";"


async def _marked_sessions(target: MySQLTarget, mark: str) -> list[int]:
    rows = await run_sql(
        target,
        "SELECT ID FROM information_schema.PROCESSLIST "
        f"WHERE INFO LIKE CONCAT('%', {literal(mark)}, '%') AND ID <> CONNECTION_ID();",
        database="",
        what="looking for an earlier swap",
    )
    return [int(r[0] or 0) for r in rows]


async def end_orphan_swap(target: MySQLTarget, mark: str) -> int:
    """KILL a swap statement left running by a killed attempt and wait until it is gone."""
    ids = await _marked_sessions(target, mark)
    for session in ids:
        with contextlib.suppress(SyncWizardError):  # gone meanwhile
            await run_sql(target, f"KILL {session};", database="", what="ending an earlier swap")
    deadline = time.monotonic() + GONE_TIMEOUT
    while ids and await _marked_sessions(target, mark):
        if time.monotonic() > deadline:
            raise SyncWizardError(
                f"the swap statement of an earlier attempt (session {ids[0]}) is still "
                f"running on {target.where}",
                hint="see SHOW PROCESSLIST; run this step again once it is gone",
                system=target.system,
            )
        await asyncio.sleep(0.1)
    return len(ids)


async def end_sessions(target: MySQLTarget, database: str) -> int:
    """End the other sessions using `database` (those this user may see and kill): an open
    transaction of theirs would hold the tables the swap renames."""
    rows = await run_sql(
        target,
        "SELECT ID FROM information_schema.PROCESSLIST "
        f"WHERE DB = {literal(database)} AND ID <> CONNECTION_ID();",
        database="",
        what="listing the sessions",
    )
    ended = 0
    for row in rows:
        try:
            await run_sql(target, f"KILL {int(row[0] or 0)};", database="", what="ending a session")
            ended += 1
        except SyncWizardError:
            pass  # gone meanwhile, or not ours to end: the swap's lock wait will tell
    return ended


def _refuse_unmovable(plan: MySQLRestorePlan, *facts: DatabaseFacts) -> None:
    for fact in facts:
        things = [*fact.views, *fact.triggers]
        if things:
            raise SyncWizardError(
                f"{plan.label}: {fact.name!r} has views or triggers ({', '.join(things[:3])}), "
                "which RENAME TABLE cannot move to another database; nothing was changed",
                hint="this restore handles tables only; restore this database with the "
                "vendor's tools",
                system=plan.target.system,
            )


def _outputs(plan: MySQLRestorePlan, aside: str | None, ended: int) -> dict[str, Any]:
    kept = (
        f"the old tables are kept in {aside!r} until you drop it"
        if aside
        else "no copy of the old tables was kept"
    )
    return {
        "database": plan.live,
        "aside": aside,
        "terminated": ended,
        "summary": f"{plan.live!r} now holds the restored tables ({ended} session"
        f"{'s' if ended != 1 else ''} ended); {kept}",
    }


async def swap(
    plan: MySQLRestorePlan, journal: Journal, *, restored: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Move the restored tables into the live database in one statement. Resumable.

    `restored`: what the verified restore recorded, when its step keeps other records
    than this one's (else this journal's `restored`)."""
    records = journal.records()
    if swapped := records.get("swapped"):
        return dict(swapped)
    if restored is None:
        restored = records.get("restored")
    if not restored:
        raise SyncWizardError(
            f"{plan.label}: there is no verified restore to put in place",
            hint="run the restore step first",
            system=plan.target.system,
        )
    target = plan.target
    await end_orphan_swap(target, marker(plan))
    tables = set(plan.row_counts)
    live = await database_facts(target)
    scratch = await database_facts(target, plan.scratch)
    aside_name = plan.aside if plan.mode == "side_by_side" else None
    if not tables <= set(scratch.table_names):
        if "swapping" in records and not scratch.tables and tables <= set(live.table_names):
            # The statement committed, and the attempt was killed before it said so.
            await drop_database(target, plan.scratch)
            outputs = _outputs(plan, aside_name, 0)
            journal.record("swapped", outputs)
            return outputs
        raise SyncWizardError(
            f"{plan.label}: the restored tables are no longer all in {plan.scratch!r}, and "
            f"{plan.live!r} is not the restored database; nothing was changed",
            hint="start the restore again from a fresh run",
            system=target.system,
        )
    _refuse_unmovable(plan, live, scratch)
    if aside_name is not None:
        aside = await database_facts(target, aside_name)
        if aside.tables:
            raise SyncWizardError(
                f"{plan.label}: the database {aside_name!r} already holds tables; the "
                f"tables of {plan.live!r} cannot be moved into it. Nothing was changed",
                hint=f"drop or rename it (DROP DATABASE `{aside_name}`) and run this step again",
                system=target.system,
            )
        if not aside.exists:
            await create_like(target, aside_name, live)
    ended = await end_sessions(target, plan.live)
    journal.record("swapping", {"live_tables": live.table_names, "new_tables": scratch.table_names})
    statement = rename_statement(
        plan.live, live.table_names, plan.scratch, scratch.table_names, aside_name, marker(plan)
    )
    await run_sql(
        target,
        f"SET SESSION lock_wait_timeout = {LOCK_WAIT_TIMEOUT};\n{statement}",
        database="",
        timeout=0,
        what="the swap (RENAME TABLE)",
    )
    await drop_database(target, plan.scratch)  # empty now
    outputs = _outputs(plan, aside_name, ended)
    journal.record("swapped", outputs)
    return outputs
