"""What a restore's preflight reads of a MariaDB database (clients.mysql_target) on the
lab's MariaDB: sessions, rights, free space, the copies kept aside."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mariadb_support import admin, fresh_database, sql

from syncwizard.clients import mysql_target
from syncwizard.clients.dbnames import aside_name
from syncwizard.clients.mysql_conn import (
    CLIENTS,
    MySQLTarget,
    client_argv,
    ident,
    literal,
    option_file,
    tool_path,
)
from syncwizard.lab import mariadb
from syncwizard.lab.layout import HOST, LabLayout

pytestmark = pytest.mark.integration
DEADLINE = 30.0


@contextlib.asynccontextmanager
async def sleeping_client(target: MySQLTarget, database: str) -> AsyncIterator[int]:
    """A `mariadb` client in `database` running SELECT SLEEP(60), killed on the way out;
    yields its pid."""
    assert tool_path(CLIENTS)
    with option_file(target) as options:
        proc = await asyncio.create_subprocess_exec(
            *client_argv(target, options, database=database),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,
        )
        assert proc.stdin is not None
        proc.stdin.write(b"SELECT SLEEP(60);\n")
        await proc.stdin.drain()
        try:
            yield proc.pid
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()


async def test_the_lab_users_target_shows_sessions_rights_room_and_the_copies_aside(
    mariadb_lab: LabLayout,
) -> None:
    """As the repository's lab user over TCP: the admin's client sleeping in the database
    shows as a session (another user's: PROCESS), the user has every right, the free space
    is that of the server's data disk, an old copy `alfresco__before_r1` is listed with its
    size."""
    target = mariadb.target(mariadb_lab, "repository")
    aside = "alfresco__before_r1"
    await sql(
        mariadb_lab,
        f"DROP DATABASE IF EXISTS {ident(aside)}; CREATE DATABASE {ident(aside)};"
        f"USE {ident(aside)}; CREATE TABLE kept (id int PRIMARY KEY, filler varchar(255));"
        "INSERT INTO kept SELECT seq, REPEAT('x', 200) FROM seq_1_to_2000;"
        "ANALYZE TABLE kept;",
    )
    try:
        (size,) = await sql(
            mariadb_lab,
            "SELECT SUM(DATA_LENGTH + INDEX_LENGTH) FROM information_schema.TABLES "
            f"WHERE TABLE_SCHEMA = {literal(aside)};",
        )
        async with sleeping_client(admin(mariadb_lab), "alfresco"):
            deadline = time.monotonic() + DEADLINE
            while True:
                found = await mysql_target.restore_target(target)
                if any(s.application == "Query" for s in found.sessions):
                    # The stop step's check sees it too.
                    alone = await mysql_target.read_sessions(target, "alfresco")
                    assert any(s.application == "Query" for s in alone)
                    break
                assert time.monotonic() < deadline, f"no sleeping session: {found.sessions}"
                await asyncio.sleep(0.2)
        (session,) = [s for s in found.sessions if s.application == "Query"]
        assert session.user == mariadb.admin_user() and session.client == "localhost"
        assert session.state == "User sleep"
        assert found.facts.exists and "alf_node" in found.facts.table_names
        assert found.server.flavour == "mariadb" and found.version_warning is None
        rights = found.rights
        assert rights.user == f"{mariadb.REPOSITORY_USER}@{HOST}"
        assert (rights.can_create, rights.can_drop, rights.can_alter_live) == (True, True, True)
        assert rights.can_see_sessions and rights.problems("alfresco") == []
        assert (aside, int(size[0] or 0)) in found.kept_aside
        assert int(size[0] or 0) > 0
        assert found.kept_aside == sorted(found.kept_aside)
        assert all(name.startswith("alfresco__before_") for name, _ in found.kept_aside)
        stats = os.statvfs(mariadb.server(mariadb_lab).data_dir)
        assert found.free_bytes is not None and found.free_bytes > 0
        # Others write to the same disk meanwhile: within 256 MiB.
        assert abs(found.free_bytes - stats.f_bavail * stats.f_frsize) < 256 * 2**20
        assert found.binary_log is False  # the lab's server writes no binary log
        deadline = time.monotonic() + DEADLINE
        while session.pid in {s.pid for s in await mysql_target.read_sessions(target, "alfresco")}:
            assert time.monotonic() < deadline, "the killed client's session stayed"
            await asyncio.sleep(0.2)
    finally:
        await sql(mariadb_lab, f"DROP DATABASE IF EXISTS {ident(aside)};")


async def test_an_old_copy_of_a_long_named_database_is_listed_under_its_cut_name(
    mariadb_lab: LabLayout,
) -> None:
    """A live name too long for `<name>__before_<run>` (64 characters at most) gets a cut,
    hashed aside name: still listed as that database's old copy; a look-alike's is not."""
    live, other = "sw_" + "k" * 50 + "_one", "sw_" + "k" * 50 + "_two"
    kept, not_ours = (aside_name(name, "restore-20260101T000000Z") for name in (live, other))
    assert not kept.startswith(live)  # cut and hashed
    made = "".join(f"CREATE DATABASE {ident(name)};" for name in (kept, not_ours))
    await sql(mariadb_lab, made)
    try:
        found = await mysql_target.restore_target(admin(mariadb_lab), live)
        assert [name for name, _ in found.kept_aside] == [kept]
    finally:
        dropped = "".join(f"DROP DATABASE IF EXISTS {ident(name)};" for name in (kept, not_ours))
        await sql(mariadb_lab, dropped)


async def test_a_database_that_is_not_there_has_no_facts_and_no_sessions(
    mariadb_lab: LabLayout,
) -> None:
    target = mariadb.target(mariadb_lab, "repository")
    found = await mysql_target.restore_target(target, "no_such_database")
    assert not found.facts.exists and found.facts.tables == ()
    assert found.sessions == [] and found.kept_aside == []
    # The lab user's grants cover alfresco's restore databases, not this one's; a live
    # database that is not there has no tables to move.
    problems = found.rights.problems(None)
    assert len(problems) == 2
    assert " may not create the databases no_such_database__restore_<run>" in problems[0]
    assert " may not drop the databases no_such_database__restore_<run>" in problems[1]
    assert all("`no\\_such\\_database\\_\\_%`" in p for p in problems)
    assert found.rights.database == "no_such_database"


async def test_a_user_with_rights_on_its_database_only_is_told_the_grants_to_run(
    mariadb_lab: LabLayout, tmp_path: Path
) -> None:
    """A user made here with ALL on its own database: it may move its tables, but not
    create the restore's databases nor see others' sessions. Running the GRANTs the
    problems name as the admin clears them."""
    user, live = "tgt_limited", "tgt_own"
    account = f"{literal(user)}@{literal(HOST)}"
    password = tmp_path / "password"
    password.write_text("a-test-password\n")
    password.chmod(0o600)
    await fresh_database(mariadb_lab, live)
    await sql(
        mariadb_lab,
        f"DROP USER IF EXISTS {account}; CREATE USER {account} IDENTIFIED BY PASSWORD "
        f"{literal(mariadb.native_password_hash('a-test-password'))};"
        f"GRANT ALL PRIVILEGES ON {ident(live)}.* TO {account};",
    )
    target = MySQLTarget(
        database=live,
        user=user,
        host=HOST,
        port=mariadb_lab.ports.mariadb,
        password_file=password,
        system="repository_db",
    )
    try:
        found = await mysql_target.restore_target(target)
        rights = found.rights
        assert rights.user == f"{user}@{HOST}"
        assert not rights.can_create and not rights.can_drop and not rights.can_see_sessions
        assert rights.can_alter_live
        problems = rights.problems(live)
        assert len(problems) == 3
        grant = f"GRANT ALL PRIVILEGES ON `tgt\\_own\\_\\_%`.* TO 'tgt_limited'@'{HOST}';"
        assert problems[0].startswith(f"user '{user}@{HOST}' may not create the databases")
        assert problems[0].endswith(grant) and problems[1].endswith(grant)
        assert problems[2].endswith(f"GRANT PROCESS ON *.* TO 'tgt_limited'@'{HOST}';")
        assert found.free_bytes is not None  # the datadir is the server's, not a privilege
        # The statements as written, run by the admin: nothing is missing any more.
        statements = {p.split("as an admin, ", 1)[1] for p in problems}
        await sql(mariadb_lab, "\n".join(sorted(statements)))
        after = await mysql_target.restore_target(target)
        assert after.rights.problems(live) == []
        # Without its own database's rights, moving its tables is named too.
        await sql(mariadb_lab, f"REVOKE ALL PRIVILEGES ON {ident(live)}.* FROM {account};")
        revoked = (await mysql_target.restore_target(target)).rights
        assert not revoked.can_alter_live
        (problem,) = revoked.problems(live)
        assert problem.endswith(f"GRANT ALTER, CREATE, DROP, INSERT ON `{live}`.* TO {account};")
    finally:
        await sql(
            mariadb_lab, f"DROP USER IF EXISTS {account}; DROP DATABASE IF EXISTS {ident(live)};"
        )
