"""kill -9 of the restore at any point: the live database is whole old or whole new, and
the step run again finishes the job (the resume rule of clients.mysql_restore and
clients.mysql_swap)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from mariadb_support import (
    FileJournal,
    admin,
    counts,
    dump_of,
    fresh_database,
    sql,
)

from syncwizard.clients import mysql_restore, mysql_swap
from syncwizard.clients.mysql_restore import MySQLRestorePlan
from syncwizard.lab import mariadb
from syncwizard.lab.layout import LabLayout

pytestmark = pytest.mark.integration
RUN = "restore-20261206T130000Z"
HERE = Path(__file__).parent
DEADLINE = 60.0


async def until(what: str, check: Callable[[], Awaitable[bool]], within: float = DEADLINE) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within:.0f} s: {what}")
        await asyncio.sleep(0.05)


async def prepared(
    layout: LabLayout, tmp_path: Path, name: str, bulk_rows: int
) -> tuple[MySQLRestorePlan, Path, dict[str, int]]:
    """A database, its dump, then a change to it: (plan, plan file, the changed counts)."""
    await fresh_database(layout, name, bulk_rows=bulk_rows)
    result = await dump_of(admin(layout, name), tmp_path / f"{name}.sql")
    await sql(
        layout,
        f"DELETE FROM `{name}`.child WHERE id = 3; "
        f"INSERT INTO `{name}`.parent VALUES (7, 'after the dump');",
    )
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(
        json.dumps(
            {
                "database": name,
                "user": mariadb.admin_user(),
                "socket": str(mariadb.server(layout).socket),
                "dump": str(result.path),
                "row_counts": result.row_counts,
                "run_id": RUN,
                "mode": "side_by_side",
            }
        )
    )
    plan = MySQLRestorePlan.for_run(admin(layout, name), result.path, result.row_counts, RUN)
    return plan, plan_file, await counts(layout, name)


def child(
    action: str, plan_file: Path, journal: Path, *, setpriv: bool = True
) -> subprocess.Popen[bytes]:
    env = dict(os.environ, PYTHONPATH=str(HERE))
    argv = [sys.executable, str(HERE / "mariadb_driver.py"), action, str(plan_file), str(journal)]
    return subprocess.Popen(argv + ([] if setpriv else ["--no-setpriv"]), env=env)


def kill9(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL  # it was still running: killed mid-way


async def one_look(layout: LabLayout, database: str, tables: list[str]) -> dict[str, int]:
    """The rows of `tables` in ONE statement: it opens (and locks) them all before reading,
    as any reader of the database does, so it sees them all before or all after a RENAME
    TABLE. (information_schema's table list is read without those locks and may show a
    rename half done: it is no witness.)"""
    selects = ", ".join(f"(SELECT COUNT(*) FROM `{database}`.`{t}`)" for t in tables)
    rows = await sql(layout, f"SELECT {selects};")
    return {t: int(v or 0) for t, v in zip(tables, rows[0], strict=True)}


async def tables_of(layout: LabLayout, database: str) -> list[str]:
    rows = await sql(
        layout,
        "SELECT TABLE_NAME FROM information_schema.TABLES "
        f"WHERE TABLE_SCHEMA = '{database}' ORDER BY 1;",
    )
    return [str(r[0]) for r in rows]


def pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("setpriv", [True, False], ids=["setpriv", "no-setpriv"])
async def test_kill_9_mid_restore_leaves_the_live_database_whole_and_the_resume_redoes_it(
    mariadb_lab: LabLayout, tmp_path: Path, setpriv: bool
) -> None:
    """The client loading the dump dies with the killed wizard (setpriv's pdeathsig); on a
    host without setpriv it loads on, and the resumed step stops it by its recorded pid."""
    name = "killload" if setpriv else "killload_bare"
    plan, plan_file, old = await prepared(mariadb_lab, tmp_path, name, 150_000)
    journal_file = tmp_path / "journal.json"
    journal = FileJournal(journal_file)
    proc = child("restore", plan_file, journal_file, setpriv=setpriv)

    async def loading() -> bool:
        if "child" not in journal.records():
            return False
        return (await counts(mariadb_lab, plan.scratch)).get("bulk", 0) > 0

    await until("the restore is loading rows", loading)
    kill9(proc)
    orphan = int(journal.records()["child"]["pid"])

    async def orphan_ended() -> bool:
        return not pid_alive(orphan)

    if setpriv:
        await until("the client ended with the killed wizard", orphan_ended, within=20)
    assert await counts(mariadb_lab, name) == old  # whole old
    assert "restored" not in journal.records()
    outputs = await mysql_restore.restore_beside(plan, journal)  # the step run again
    assert not pid_alive(orphan)  # the client the killed step left loading was stopped
    assert outputs["dropped_leftovers"] == [plan.scratch]
    assert await counts(mariadb_lab, plan.scratch) == plan.row_counts
    assert await counts(mariadb_lab, name) == old
    await mysql_swap.swap(plan, journal)
    assert await counts(mariadb_lab, name) == plan.row_counts  # whole new
    assert await counts(mariadb_lab, plan.aside) == old
    await sql(mariadb_lab, f"DROP DATABASE `{plan.aside}`; DROP DATABASE {name};")


async def test_kill_9_mid_swap_leaves_whole_old_or_whole_new_and_the_resume_finishes(
    mariadb_lab: LabLayout, tmp_path: Path
) -> None:
    """The swap's RENAME TABLE waits for a table another session has open in a
    transaction; the wizard is killed while it waits. Then the other session ends, which
    lets the orphaned statement on the server go on (or not): at every look the live
    database holds either every old table or every new one."""
    plan, plan_file, old = await prepared(mariadb_lab, tmp_path, "killswap", 0)
    new = dict(plan.row_counts)
    assert old != new
    journal_file = tmp_path / "journal.json"
    journal = FileJournal(journal_file)
    await mysql_restore.restore_beside(plan, journal)
    socket_path = str(mariadb.server(mariadb_lab).socket)
    holder = subprocess.Popen(  # an open transaction that has read a live table
        ["mariadb", f"--socket={socket_path}", "--batch", "--unbuffered"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert holder.stdin is not None and holder.stdout is not None
    holder.stdin.write(b"START TRANSACTION; SELECT COUNT(*) FROM killswap.parent;\n")
    holder.stdin.flush()
    holder.stdout.readline()  # its answer: the transaction holds the table now

    async def whole() -> str:
        live = await one_look(mariadb_lab, "killswap", sorted(new))
        assert live in (old, new), f"the live database is neither old nor new: {live}"
        return "old" if live == old else "new"

    async def renaming() -> bool:
        rows = await sql(
            mariadb_lab,
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
            "WHERE INFO LIKE '%syncwizard swap%' AND STATE LIKE '%metadata lock%';",
        )
        return rows == [("1",)]

    try:
        proc = child("swap", plan_file, journal_file)
        await until("the swap waits for the table", renaming)
        kill9(proc)
        assert "swapping" in journal.records() and "swapped" not in journal.records()
        # Rows cannot be counted now: the waiting RENAME's exclusive lock request queues
        # every new reader of those tables behind it. Where the tables are can be read.
        assert await tables_of(mariadb_lab, "killswap") == sorted(new)
        assert await tables_of(mariadb_lab, plan.scratch) == sorted(new)  # not moved
        assert await tables_of(mariadb_lab, plan.aside) == []
    finally:
        holder.stdin.write(b"COMMIT;\n")
        holder.stdin.close()
        holder.wait(timeout=30)

    async def settled() -> bool:
        await whole()
        rows = await sql(
            mariadb_lab,
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
            "WHERE INFO LIKE '%syncwizard swap%' AND ID <> CONNECTION_ID();",
        )
        return rows == [("0",)]

    await until("the orphaned statement is gone", settled)
    # (On MariaDB 10.11 the orphaned statement goes on once the lock is free: whole new.)
    await whole()
    outputs = await mysql_swap.swap(plan, journal)  # the step run again
    assert outputs["aside"] == plan.aside
    assert await whole() == "new"
    assert await counts(mariadb_lab, plan.aside) == old
    assert await counts(mariadb_lab, plan.scratch) == {}
    await sql(mariadb_lab, f"DROP DATABASE `{plan.aside}`; DROP DATABASE killswap;")


async def test_the_resume_ends_a_swap_statement_the_killed_attempt_left_waiting(
    mariadb_lab: LabLayout, tmp_path: Path
) -> None:
    """Killed while its RENAME waits, and run again while that statement still waits on the
    server: the step ends it first (else it would run after the lock is freed, and the
    step's own RENAME would then find no table to move)."""
    plan, plan_file, old = await prepared(mariadb_lab, tmp_path, "killwait", 0)
    journal_file = tmp_path / "journal.json"
    journal = FileJournal(journal_file)
    await mysql_restore.restore_beside(plan, journal)
    socket_path = str(mariadb.server(mariadb_lab).socket)
    holder = subprocess.Popen(
        ["mariadb", f"--socket={socket_path}", "--batch", "--unbuffered"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert holder.stdin is not None and holder.stdout is not None
    holder.stdin.write(b"START TRANSACTION; SELECT COUNT(*) FROM killwait.child;\n")
    holder.stdin.flush()
    holder.stdout.readline()

    async def swap_sessions() -> list[str]:
        rows = await sql(
            mariadb_lab,
            "SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE "
            "'%syncwizard swap killwait%' AND STATE LIKE '%metadata lock%' "
            "AND ID <> CONNECTION_ID();",
        )
        return [str(r[0]) for r in rows]

    try:
        proc = child("swap", plan_file, journal_file)

        async def one_waiting() -> bool:
            return len(await swap_sessions()) == 1

        await until("the swap waits for the table", one_waiting)
        orphan = (await swap_sessions())[0]
        kill9(proc)
        assert await swap_sessions() == [orphan]  # still waiting on the server
        resumed = asyncio.create_task(mysql_swap.swap(plan, journal))

        async def replaced() -> bool:
            sessions = await swap_sessions()
            return len(sessions) == 1 and sessions != [orphan]

        # Well before the orphan's own lock wait would end it (lock_wait_timeout).
        await until(
            "the resumed step's own RENAME waits in place of the orphan",
            replaced,
            within=mysql_swap.LOCK_WAIT_TIMEOUT / 2,
        )
    finally:
        holder.stdin.write(b"COMMIT;\n")
        holder.stdin.close()
        holder.wait(timeout=30)
    outputs = await asyncio.wait_for(resumed, DEADLINE)
    assert outputs["aside"] == plan.aside
    assert await one_look(mariadb_lab, "killwait", sorted(plan.row_counts)) == plan.row_counts
    assert await counts(mariadb_lab, plan.aside) == old
    assert await counts(mariadb_lab, plan.scratch) == {}
    await sql(mariadb_lab, f"DROP DATABASE `{plan.aside}`; DROP DATABASE killwait;")
