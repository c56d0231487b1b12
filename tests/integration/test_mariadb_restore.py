"""Restore beside, verify table by table, swap by one RENAME TABLE (clients.mysql_restore
and clients.mysql_swap) on the lab's MariaDB."""

from __future__ import annotations

import os
from itertools import pairwise
from pathlib import Path

import pytest
from mariadb_support import (
    Dumped,
    FileJournal,
    admin,
    counts,
    dump_of,
    fresh_database,
    sql,
)

from syncwizard.clients import mysql_restore, mysql_swap
from syncwizard.clients.mysql_restore import MySQLRestorePlan
from syncwizard.clients.results import Progress
from syncwizard.errors import SyncWizardError
from syncwizard.lab import mariadb
from syncwizard.lab.layout import LabLayout

pytestmark = pytest.mark.integration
RUN = "restore-20261206T120000Z"


async def dumped(layout: LabLayout, tmp_path: Path, name: str) -> Dumped:
    await fresh_database(layout, name)
    return await dump_of(admin(layout, name), tmp_path / f"{name}.sql")


async def test_restore_beside_then_swap_puts_the_dump_in_place_and_keeps_the_old(
    mariadb_lab: LabLayout, tmp_path: Path
) -> None:
    """On the lab's repository DB, as its own user over TCP: after the dump the live
    database changes; the restore leaves it alone, the swap brings the dump's rows back
    and keeps the changed tables aside."""
    target = mariadb.target(mariadb_lab, "repository")
    result = await dump_of(target, tmp_path / "repo.sql")
    await sql(mariadb_lab, "DELETE FROM alfresco.alf_node_properties WHERE qname LIKE '%title';")
    changed = await counts(mariadb_lab, "alfresco")
    assert changed["alf_node_properties"] == 6000
    plan = MySQLRestorePlan.for_run(target, result.path, result.row_counts, RUN)
    journal = FileJournal(tmp_path / "journal.json")
    restored = await mysql_restore.restore_beside(plan, journal)
    assert (
        restored["rows"] == 10_002 and restored["scratch"] == "alfresco__restore_20261206t120000z"
    )
    assert await counts(mariadb_lab, "alfresco") == changed  # untouched
    assert await counts(mariadb_lab, plan.scratch) == result.row_counts
    swapped = await mysql_swap.swap(plan, journal)
    assert swapped["aside"] == "alfresco__before_20261206t120000z"
    assert await counts(mariadb_lab, "alfresco") == result.row_counts
    assert await counts(mariadb_lab, plan.aside) == changed
    assert await counts(mariadb_lab, plan.scratch) == {}
    # the foreign key follows its table: the live child references the live parent
    refs = await sql(
        mariadb_lab,
        "SELECT TABLE_SCHEMA, REFERENCED_TABLE_SCHEMA FROM information_schema.KEY_COLUMN_USAGE "
        "WHERE REFERENCED_TABLE_NAME = 'alf_node' ORDER BY 1;",
    )
    assert refs == [("alfresco", "alfresco"), (plan.aside, plan.aside)]
    # the lab user still works on its database, and a second swap is not done again
    assert (await mysql_swap.swap(plan, journal)) == swapped
    await sql(mariadb_lab, f"DROP DATABASE `{plan.aside}`;")


async def test_a_dump_that_lost_rows_is_refused_and_the_scratch_dropped(
    mariadb_lab: LabLayout, tmp_path: Path
) -> None:
    result = await dumped(mariadb_lab, tmp_path, "damaged")
    # mariadb-dump 10.11 writes one row a line: the last row of `parent` goes missing
    text = result.path.read_text()
    damaged = text.replace("\n(3,'three\\\\');", "").replace("and ;'),\n", "and ;');\n")
    assert damaged.count("\n") == text.count("\n") - 1
    result.path.write_text(damaged)
    plan = MySQLRestorePlan.for_run(
        admin(mariadb_lab, "damaged"), result.path, result.row_counts, RUN
    )
    before = await counts(mariadb_lab, "damaged")
    with pytest.raises(SyncWizardError) as caught:
        await mysql_restore.restore_beside(plan, FileJournal(tmp_path / "j.json"))
    assert "parent has 2 rows, the dump 3" in caught.value.message
    assert "was dropped" in caught.value.message
    assert await counts(mariadb_lab, plan.scratch) == {}
    assert await counts(mariadb_lab, "damaged") == before


async def test_the_drop_first_path_empties_the_live_database_and_keeps_no_copy(
    mariadb_lab: LabLayout, tmp_path: Path
) -> None:
    result = await dumped(mariadb_lab, tmp_path, "dropfirst")
    await sql(mariadb_lab, "INSERT INTO dropfirst.parent VALUES (9, 'after the dump');")
    plan = MySQLRestorePlan.for_run(
        admin(mariadb_lab, "dropfirst"), result.path, result.row_counts, RUN, mode="drop_first"
    )
    journal = FileJournal(tmp_path / "j.json")
    await mysql_restore.restore_beside(plan, journal)
    assert await counts(mariadb_lab, "dropfirst") == {}  # emptied first, by design
    assert "dropping_live" in journal.records()
    out = await mysql_swap.swap(plan, journal)
    assert out["aside"] is None
    assert await counts(mariadb_lab, "dropfirst") == result.row_counts
    exists = await sql(
        mariadb_lab,
        "SELECT COUNT(*) FROM information_schema.SCHEMATA "
        f"WHERE SCHEMA_NAME IN ('{plan.aside}', '{plan.scratch}');",
    )
    assert exists == [("0",)]


async def test_the_swap_refuses_an_aside_database_that_holds_tables(
    mariadb_lab: LabLayout, tmp_path: Path
) -> None:
    result = await dumped(mariadb_lab, tmp_path, "asidefull")
    plan = MySQLRestorePlan.for_run(
        admin(mariadb_lab, "asidefull"), result.path, result.row_counts, RUN
    )
    journal = FileJournal(tmp_path / "j.json")
    await mysql_restore.restore_beside(plan, journal)
    await sql(
        mariadb_lab,
        f"CREATE DATABASE `{plan.aside}`; CREATE TABLE `{plan.aside}`.someone_elses (id int);",
    )
    with pytest.raises(SyncWizardError) as caught:
        await mysql_swap.swap(plan, journal)
    assert plan.aside in caught.value.message and "Nothing was changed" in caught.value.message
    assert await counts(mariadb_lab, plan.scratch) == result.row_counts
    assert await counts(mariadb_lab, "asidefull") == result.row_counts
    await sql(mariadb_lab, f"DROP DATABASE `{plan.aside}`; DROP DATABASE `{plan.scratch}`;")


async def test_a_scratch_database_this_run_did_not_create_is_refused_not_dropped(
    mariadb_lab: LabLayout, tmp_path: Path
) -> None:
    result = await dumped(mariadb_lab, tmp_path, "foreign")
    plan = MySQLRestorePlan.for_run(
        admin(mariadb_lab, "foreign"), result.path, result.row_counts, RUN
    )
    await sql(
        mariadb_lab,
        f"CREATE DATABASE `{plan.scratch}`; CREATE TABLE `{plan.scratch}`.keep_me (id int);",
    )
    with pytest.raises(SyncWizardError) as caught:
        await mysql_restore.restore_beside(plan, FileJournal(tmp_path / "j.json"))
    assert "did not create it" in caught.value.message
    assert await counts(mariadb_lab, plan.scratch) == {"keep_me": 0}
    await sql(mariadb_lab, f"DROP DATABASE `{plan.scratch}`;")


async def test_the_client_reads_the_dump_itself_and_its_rows_are_counted_behind_it(
    mariadb_lab: LabLayout, tmp_path: Path
) -> None:
    """No copy through the wizard: the client's stdin is the dump file (as in `mariadb db
    < dump.sql`); the rows are counted from the file up to where the client has read,
    and all of them by the end."""
    await fresh_database(mariadb_lab, "loadsrc", bulk_rows=20_000)
    result = await dump_of(admin(mariadb_lab, "loadsrc"), tmp_path / "l.sql")
    await sql(mariadb_lab, "DROP DATABASE IF EXISTS loaddst; CREATE DATABASE loaddst;")
    stdin: list[str] = []
    seen: list[Progress] = []
    counter = await mysql_restore.load(
        admin(mariadb_lab),
        "loaddst",
        result.path,
        expected_rows=sum(result.row_counts.values()),
        on_progress=seen.append,
        on_started=lambda pid: stdin.append(os.readlink(f"/proc/{pid}/fd/0")),
    )
    assert stdin == [str(result.path)]
    assert counter.counts == result.row_counts and counter.completed
    assert counter.bytes == result.size_bytes
    assert seen[0].phase == "starting" and seen[-1].phase == "done"
    assert seen[-1].tuples_done == sum(result.row_counts.values()) == 20_006
    assert all(a.tuples_done <= b.tuples_done for a, b in pairwise(seen))
    assert await counts(mariadb_lab, "loaddst") == result.row_counts
    await sql(mariadb_lab, "DROP DATABASE loaddst; DROP DATABASE loadsrc;")
