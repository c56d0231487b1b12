"""mariadb-dump through `clients.mysql_dump`: one consistent snapshot, progress against
information_schema's estimates, the exact rows of every table read from the finished file
(`mysql_rows.read_dump`, with its sha256 in the same pass)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from pathlib import Path

import pytest
from mariadb_support import admin, counts, fresh_database, sql

from syncwizard.clients import mysql_conn, mysql_dump
from syncwizard.clients.mysql_rows import read_dump
from syncwizard.clients.results import Progress
from syncwizard.errors import SyncWizardError
from syncwizard.lab import mariadb
from syncwizard.lab.layout import LabLayout

pytestmark = pytest.mark.integration


async def test_the_dump_holds_the_exact_rows_and_reports_progress_against_estimates(
    mariadb_lab: LabLayout, tmp_path: Path
) -> None:
    target = mariadb.target(mariadb_lab, "repository")
    seen: list[Progress] = []
    before = time.time()
    result = await mysql_dump.dump(target, tmp_path / "repo.sql", on_progress=seen.append)
    reading = read_dump(result.path)
    assert reading.counts == await counts(mariadb_lab, "alfresco")
    assert sum(reading.counts.values()) == 10_002 and reading.completed
    assert reading.size == result.size_bytes == (tmp_path / "repo.sql").stat().st_size > 0
    assert reading.sha256 == hashlib.sha256(result.path.read_bytes()).hexdigest()
    assert result.flavour == "mariadb" and result.server_version.startswith("10.")
    assert before <= result.started_at <= result.finished_at
    assert not list(tmp_path.glob("*.partial"))
    assert seen[0].phase == "starting" and seen[-1].phase == "done"
    # Rows written, estimated from samples of the file (its tables' rows differ 2.5x in
    # length), against information_schema's estimate read before the dump.
    assert all(progress.estimated for progress in seen)
    assert 10_002 / 2 <= seen[-1].tuples_done <= 10_002 * 2
    assert seen[-1].tuples_total == result.rows_estimate > 0
    assert (
        (tmp_path / "repo.sql")
        .read_bytes()
        .rstrip()
        .splitlines()[-1]
        .startswith(b"-- Dump completed")
    )


async def test_rows_written_during_the_dump_are_not_in_it(
    mariadb_lab: LabLayout, tmp_path: Path
) -> None:
    """--single-transaction: the dump is the database as it was at t0. Another session
    holds the last table locked, so the tool, once its snapshot is taken and the first
    tables are dumped, waits for that table; then a row goes into it and the lock is
    released. The dump does not have the row."""
    await fresh_database(mariadb_lab, "dumpsnap", bulk_rows=50_000)
    await sql(
        mariadb_lab,
        "CREATE TABLE dumpsnap.zz_late (id int PRIMARY KEY); "
        "INSERT INTO dumpsnap.zz_late VALUES (1);",
    )
    socket_path = str(mariadb.server(mariadb_lab).socket)
    holder = await asyncio.create_subprocess_exec(
        "mariadb",
        f"--socket={socket_path}",
        "--batch",
        "--skip-column-names",
        "--unbuffered",  # each answer at once, not at the end
        "dumpsnap",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert holder.stdin is not None and holder.stdout is not None
    stdin, stdout = holder.stdin, holder.stdout

    async def say(statements: bytes) -> bytes:
        stdin.write(statements + b" SELECT 'ok';\n")
        await stdin.drain()
        return await asyncio.wait_for(stdout.readline(), 60)

    assert await say(b"LOCK TABLES zz_late WRITE;") == b"ok\n"
    waited: list[str] = []

    async def insert_once_the_dump_waits() -> None:
        deadline = time.monotonic() + 60
        while not waited:
            rows = await sql(
                mariadb_lab,
                "SELECT INFO FROM information_schema.PROCESSLIST WHERE DB = 'dumpsnap' "
                "AND STATE LIKE 'Waiting for table metadata lock%';",
            )
            waited.extend(str(row[0]) for row in rows)
            assert time.monotonic() < deadline, "the dump never waited for zz_late"
            await asyncio.sleep(0.02)
        assert await say(b"INSERT INTO zz_late VALUES (2); UNLOCK TABLES;") == b"ok\n"

    try:
        releaser = asyncio.create_task(insert_once_the_dump_waits())
        result = await mysql_dump.dump(admin(mariadb_lab, "dumpsnap"), tmp_path / "d.sql")
        await releaser
    finally:
        stdin.close()
        await holder.wait()
    assert any("zz_late" in statement for statement in waited)
    assert (await counts(mariadb_lab, "dumpsnap"))["zz_late"] == 2
    assert read_dump(result.path).counts == {
        "bulk": 50_000,
        "child": 3,
        "empty_one": 0,
        "parent": 3,
        "zz_late": 1,
    }


async def test_the_tool_writes_its_file_itself(mariadb_lab: LabLayout, tmp_path: Path) -> None:
    """No copy through the wizard: the tool's stdout is the partial file (as in
    `mariadb-dump ... > file`); the wizard reads no more of it than samples meanwhile."""
    target = mariadb.target(mariadb_lab, "repository")
    stdout: list[str] = []
    result = await mysql_dump.dump(
        target,
        tmp_path / "r.sql",
        on_started=lambda pid: stdout.append(os.readlink(f"/proc/{pid}/fd/1")),
    )
    assert stdout == [str(tmp_path / "r.sql.partial")]
    assert read_dump(result.path).counts == await counts(mariadb_lab, "alfresco")


async def test_no_password_reaches_the_tools_argv_or_environment(
    mariadb_lab: LabLayout, tmp_path: Path
) -> None:
    target = mariadb.target(mariadb_lab, "repository")
    assert target.password_file is not None
    password = target.password_file.read_text().strip()
    seen: list[bytes] = []

    def on_started(pid: int) -> None:
        deadline = time.monotonic() + 10
        while not Path(f"/proc/{pid}/cmdline").read_bytes() and time.monotonic() < deadline:
            time.sleep(0.01)  # just forked: the kernel fills it in at exec
        seen.append(Path(f"/proc/{pid}/cmdline").read_bytes())
        seen.append(Path(f"/proc/{pid}/environ").read_bytes())

    await mysql_dump.dump(target, tmp_path / "r.sql", on_started=on_started)
    assert seen and all(password.encode() not in blob for blob in seen)
    assert b"--defaults-extra-file=" in seen[0]
    # the option file and its folder are gone
    option = seen[0].split(b"--defaults-extra-file=")[1].split(b"\0")[0].decode()
    assert not Path(option).exists() and not Path(option).parent.exists()


async def test_a_dump_of_a_missing_database_names_it(
    mariadb_lab: LabLayout, tmp_path: Path
) -> None:
    target = mysql_conn.MySQLTarget(
        database="no_such_db",
        user=mariadb.admin_user(),
        socket=mariadb.server(mariadb_lab).socket,
        system="repository_db",
    )
    with pytest.raises(SyncWizardError) as caught:
        await mysql_dump.dump(target, tmp_path / "x.sql")
    assert "no_such_db" in caught.value.message and caught.value.system == "repository_db"
    assert not list(tmp_path.iterdir())
