"""The lab PostgreSQL and the PostgreSQL client, against a real cluster."""

from __future__ import annotations

import asyncio
import os
import stat
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import psycopg
import pytest

from syncwizard.clients import pgtools
from syncwizard.clients.postgres import DatabaseProbe, database_facts, terminate_connections
from syncwizard.clients.results import Progress
from syncwizard.errors import SyncWizardError
from syncwizard.lab import postgres as lab
from syncwizard.lab.layout import LabLayout

pytestmark = pytest.mark.integration


def admin(layout: LabLayout, dbname: str = "postgres") -> psycopg.Connection:
    return psycopg.connect(lab.superuser_conninfo(layout, dbname), autocommit=True)


def password_of(layout: LabLayout, user: str) -> str:
    return lab.read_pgpass_passwords(layout)[user]


@contextmanager
def scratch_database(layout: LabLayout, name: str) -> Iterator[str]:
    """An empty database owned by the repository role, dropped afterwards."""
    with admin(layout) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name} OWNER {lab.REPOSITORY_USER}")
    try:
        yield name
    finally:
        with admin(layout) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def with_password(layout: LabLayout, dbname: str, password: str) -> str:
    port = layout.ports.postgres
    return f"host=127.0.0.1 port={port} dbname={dbname} user=alfresco password={password}"


# --- the lab cluster ------------------------------------------------------------------------


def test_lab_creates_both_databases_with_their_sample_data(pg_lab: LabLayout) -> None:
    repo_info = lab.conninfo(pg_lab, "repository")
    sync_info = lab.conninfo(pg_lab, "sync")
    with psycopg.connect(repo_info, passfile=str(pg_lab.pgpass)) as repo:
        assert repo.execute("SELECT count(*) FROM alf_node").fetchone() == (2000,)
        row = repo.execute("SELECT count(*) FROM alf_node_properties").fetchone()
        assert row is not None and row[0] >= 3 * 2000
        owner = repo.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'alf_node'")
        assert owner.fetchone() == ("alfresco",)
    with psycopg.connect(sync_info, passfile=str(pg_lab.pgpass)) as sync:
        assert sync.execute("SELECT count(*) FROM sync_node").fetchone() == (2000,)
        assert sync.execute("SELECT count(*) FROM sync_service_id").fetchone() == (0,)
        tables = {
            row[0]
            for row in sync.execute(
                "SELECT relname FROM pg_stat_user_tables WHERE relname LIKE '%sync%'"
            )
        }
        assert tables == {"sync_service_id", "sync_node", "sync_event_log", "sync_recovery"}
    assert lab.node_drift(pg_lab) == lab.Drift(0, 0, 2000, 2000)


def test_conninfo_carries_no_password_and_pgpass_is_private(pg_lab: LabLayout) -> None:
    passwords = lab.read_pgpass_passwords(pg_lab)
    assert set(passwords) == {"alfresco", "sync"}
    for which in ("repository", "sync"):
        info = lab.conninfo(pg_lab, which)
        assert "password" not in info
        assert all(secret not in info for secret in passwords.values())
    assert stat.S_IMODE(pg_lab.pgpass.stat().st_mode) == 0o600
    assert stat.S_IMODE(pg_lab.secrets_dir.stat().st_mode) == 0o700
    lines = pg_lab.pgpass.read_text().splitlines()
    port = pg_lab.ports.postgres
    assert f"127.0.0.1:{port}:alfresco:alfresco:{passwords['alfresco']}" in lines
    assert f"127.0.0.1:{port}:syncservice:sync:{passwords['sync']}" in lines


def test_server_listens_on_loopback_only(pg_lab: LabLayout) -> None:
    with admin(pg_lab) as conn:
        assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
        assert conn.execute("SHOW password_encryption").fetchone() == ("scram-sha-256",)
        verifiers = conn.execute(
            "SELECT rolname, rolpassword FROM pg_authid WHERE rolname IN ('alfresco', 'sync')"
        ).fetchall()
    assert len(verifiers) == 2
    assert all(password.startswith("SCRAM-SHA-256$") for _, password in verifiers)


def test_ensure_cluster_again_is_quick_and_keeps_data_and_passwords(pg_lab: LabLayout) -> None:
    before = lab.read_pgpass_passwords(pg_lab)
    with admin(pg_lab, "alfresco") as conn:
        conn.execute(
            "INSERT INTO alf_node (uuid, type_qname, name) "
            "VALUES ('00000000-0000-4000-8000-000000000001', 'cm:content', 'kept.txt')"
        )
    try:
        started = time.monotonic()
        lab.ensure_cluster(pg_lab)
        assert time.monotonic() - started < 2.0
        assert lab.read_pgpass_passwords(pg_lab) == before
        assert lab.node_drift(pg_lab).missing == 1  # the node we added, not re-seeded away
        assert lab.stop(pg_lab) is True
        assert lab.is_running(pg_lab) is False
        lab.start(pg_lab)  # like `lab down` then `lab up`: the data is still there
        with admin(pg_lab, "alfresco") as conn:
            names = conn.execute("SELECT name FROM alf_node WHERE name = 'kept.txt'").fetchall()
        assert names == [("kept.txt",)]
    finally:
        with admin(pg_lab, "alfresco") as conn:
            conn.execute("DELETE FROM alf_node WHERE name = 'kept.txt'")


# --- authentication and connection errors ---------------------------------------------------


async def test_wrong_password_is_refused_with_a_clear_message(pg_lab: LabLayout) -> None:
    info = lab.conninfo(pg_lab, "sync") + " password=not-the-password"
    with pytest.raises(SyncWizardError) as caught:
        await database_facts(info, system="sync_db")
    error = caught.value
    assert error.system == "sync_db"
    assert "refused the password for user 'sync'" in error.message
    assert f"127.0.0.1:{pg_lab.ports.postgres}" in error.message
    assert "'syncservice'" in error.message
    assert "not-the-password" not in error.render()


async def test_no_password_at_all_is_refused(
    pg_lab: LabLayout, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PGPASSWORD", raising=False)
    empty = tmp_path / "pgpass"
    empty.write_text("")
    empty.chmod(0o600)
    with pytest.raises(SyncWizardError) as caught:
        await database_facts(
            lab.conninfo(pg_lab, "repository"), passfile=empty, system="repository_db"
        )
    error = caught.value
    assert "asks for a password for user 'alfresco' and none was found" in error.message
    assert f"127.0.0.1:{pg_lab.ports.postgres}:alfresco:alfresco:<password>" in error.hint
    assert str(empty) in error.hint


async def test_superuser_cannot_log_in_over_tcp(pg_lab: LabLayout, tmp_path: Path) -> None:
    info = f"host=127.0.0.1 port={pg_lab.ports.postgres} dbname=postgres user=postgres"
    with pytest.raises(SyncWizardError):
        await database_facts(info + " password=anything", system="repository_db")


async def test_missing_database_is_named(pg_lab: LabLayout) -> None:
    info = with_password(pg_lab, "nosuchdb", password_of(pg_lab, "alfresco"))
    with pytest.raises(SyncWizardError) as caught:
        await database_facts(info, system="repository_db")
    assert "database 'nosuchdb' does not exist" in caught.value.message
    assert "createdb" in caught.value.hint


async def test_nothing_listening_is_a_clear_error(pg_lab: LabLayout) -> None:
    info = "host=127.0.0.1 port=1 dbname=alfresco user=alfresco"
    with pytest.raises(SyncWizardError) as caught:
        await database_facts(info, system="repository_db", timeout=3)
    assert "nothing accepts connections" in caught.value.message
    assert "127.0.0.1:1" in caught.value.message


# --- facts and sessions -------------------------------------------------------------------


async def test_database_facts_of_the_sync_db(pg_lab: LabLayout) -> None:
    facts = await database_facts(lab.conninfo(pg_lab, "sync"), passfile=pg_lab.pgpass)
    assert facts.name == "syncservice"
    assert facts.server_major == 15
    assert facts.server_version.startswith("15.")
    assert facts.size_bytes > 1_000_000


async def test_another_session_shows_up_and_terminate_ends_it(pg_lab: LabLayout) -> None:
    info = lab.conninfo(pg_lab, "sync")
    other = await psycopg.AsyncConnection.connect(
        info, passfile=str(pg_lab.pgpass), application_name="some-other-client", autocommit=True
    )
    probe = DatabaseProbe(info, passfile=pg_lab.pgpass, system="sync_db")
    try:
        sessions = (await probe.facts()).sessions
        assert [(s.user, s.application, s.client) for s in sessions] == [
            ("sync", "some-other-client", "127.0.0.1")
        ]
        assert sessions[0].pid == other.info.backend_pid

        ended = await terminate_connections(info, "syncservice", passfile=pg_lab.pgpass)

        assert ended == 2  # the other client and the probe's own connection
        assert (await probe.facts()).sessions == ()  # the probe came back by itself
        with pytest.raises(psycopg.OperationalError):
            await other.execute("SELECT 1")
    finally:
        await probe.aclose()
        await other.close()


async def test_probe_reconnects_after_losing_its_connection(pg_lab: LabLayout) -> None:
    probe = DatabaseProbe(lab.conninfo(pg_lab, "repository"), passfile=pg_lab.pgpass)
    try:
        await probe.facts()
        with admin(pg_lab) as conn:
            killed = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = 'alfresco' AND application_name = 'syncwizard'"
            ).fetchall()
        assert killed == [(True,)]
        assert (await probe.facts()).name == "alfresco"
    finally:
        await probe.aclose()


async def test_terminate_without_the_privilege_says_what_is_needed(pg_lab: LabLayout) -> None:
    info = lab.conninfo(pg_lab, "repository")
    with admin(pg_lab, "alfresco"):  # a superuser session, which the alfresco role may not end
        facts = await database_facts(info, passfile=pg_lab.pgpass)
        with pytest.raises(SyncWizardError) as caught:
            await terminate_connections(info, "alfresco", passfile=pg_lab.pgpass)
    # An ordinary role sees that another role's session exists, not what it does.
    assert [(s.user, s.state) for s in facts.sessions] == [("postgres", "not visible to this user")]
    assert "'alfresco' may not end other sessions on database 'alfresco'" in caught.value.message
    assert "pg_signal_backend" in caught.value.hint


# --- pg_dump and pg_restore -------------------------------------------------------------------


async def test_directory_dump_restores_and_reports_progress(
    pg_lab: LabLayout, tmp_path: Path
) -> None:
    reports: list[Progress] = []
    out = tmp_path / "repository.dir"

    result = await pgtools.run_pg_dump(
        lab.conninfo(pg_lab, "repository"),
        out,
        fmt="directory",
        jobs=2,
        passfile=pg_lab.pgpass,
        system="repository_db",
        on_progress=reports.append,
    )

    assert result.path == out and out.is_dir() and (out / "toc.dat").exists()
    assert not (tmp_path / "repository.dir.partial").exists()
    assert result.size_bytes > 0 and result.server_version.startswith("15.")
    assert {r.current_object for r in reports} >= {"public.alf_node", "public.alf_node_properties"}
    # pg_dump -j's workers share one stderr and write a line's prefix and text apart, so two
    # workers' lines may interleave ("pg_dump: pg_dump: dumping ..."): look for the text.
    lines = [line for r in reports for line in r.lines]
    assert any('dumping contents of table "public.alf_node"' in line for line in lines)
    final = reports[-1]
    assert final.phase == "done" and final.bytes_written == result.size_bytes
    assert final.tuples_total is not None and final.tuples_done >= final.tuples_total >= 10_000

    restored: list[Progress] = []
    with scratch_database(pg_lab, "restored_dir") as dbname:
        info = with_password(pg_lab, dbname, password_of(pg_lab, "alfresco"))
        await pgtools.run_pg_restore(info, out, jobs=2, on_progress=restored.append)
        with admin(pg_lab, dbname) as conn:
            assert conn.execute("SELECT count(*) FROM alf_node").fetchone() == (2000,)
    assert any("processing data for table" in line for r in restored for line in r.lines)
    assert restored[-1].phase == "done"


async def test_custom_dump_restores_in_one_transaction(pg_lab: LabLayout, tmp_path: Path) -> None:
    out = tmp_path / "sync.dump"
    await pgtools.run_pg_dump(
        lab.conninfo(pg_lab, "sync"), out, fmt="custom", passfile=pg_lab.pgpass
    )
    assert out.is_file() and out.read_bytes()[:5] == b"PGDMP"

    with scratch_database(pg_lab, "restored_custom") as dbname:
        passfile = tmp_path / "restore-pgpass"
        password = password_of(pg_lab, "alfresco")
        passfile.write_text(f"127.0.0.1:{pg_lab.ports.postgres}:{dbname}:alfresco:{password}\n")
        passfile.chmod(0o600)
        info = f"host=127.0.0.1 port={pg_lab.ports.postgres} dbname={dbname} user=alfresco"
        await pgtools.run_pg_restore(
            info, out, single_transaction=True, no_owner=True, passfile=passfile
        )
        with admin(pg_lab, dbname) as conn:
            assert conn.execute("SELECT count(*) FROM sync_node").fetchone() == (2000,)


async def test_dump_never_overwrites_an_existing_output(pg_lab: LabLayout, tmp_path: Path) -> None:
    out = tmp_path / "repository.dump"
    out.write_text("an earlier dump")
    with pytest.raises(SyncWizardError, match="already exists"):
        await pgtools.run_pg_dump(
            lab.conninfo(pg_lab, "repository"), out, fmt="custom", passfile=pg_lab.pgpass
        )
    assert out.read_text() == "an earlier dump"


@asynccontextmanager
async def dump_held_on_a_lock(
    layout: LabLayout, info: str, out: Path, **options: object
) -> AsyncIterator[tuple[pgtools.PgDump, asyncio.Task[pgtools.DumpResult]]]:
    """A pg_dump that has started writing and waits for a table lock we hold."""
    with admin(layout, "alfresco") as locker:
        locker.execute("BEGIN")
        locker.execute("LOCK TABLE alf_node IN ACCESS EXCLUSIVE MODE")
        dump = pgtools.PgDump(info, out, fmt="directory", jobs=2, **options)  # type: ignore[arg-type]
        task = asyncio.create_task(dump.run())
        try:
            deadline = time.monotonic() + 15
            while not waiting_on_lock(layout, dump.application_name):
                assert time.monotonic() < deadline, "pg_dump never reached the table lock"
                assert not task.done(), task
                await asyncio.sleep(0.05)
            yield dump, task
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            locker.execute("ROLLBACK")


def waiting_on_lock(layout: LabLayout, application_name: str) -> bool:
    with admin(layout) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s "
            "AND wait_event_type = 'Lock'",
            (application_name,),
        ).fetchone()
    return row is not None and row[0] > 0


def group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                members.append(int(entry.name))
    return members


async def test_cancelled_dump_kills_the_child_and_removes_partial_output(
    pg_lab: LabLayout, tmp_path: Path
) -> None:
    out = tmp_path / "repository.dir"
    info = lab.conninfo(pg_lab, "repository")
    async with dump_held_on_a_lock(pg_lab, info, out, passfile=pg_lab.pgpass) as (dump, task):
        pid = dump.pid
        assert pid is not None and group_members(pid) == [pid]
        assert dump.partial.is_dir()  # pg_dump made its output before it asked for locks

        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    assert group_members(pid) == []
    assert not Path(f"/proc/{pid}").exists()
    assert not dump.partial.exists()
    assert not out.exists()
    assert dump.pid is None


async def test_password_reaches_the_child_by_environment_never_argv(
    pg_lab: LabLayout, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PGPASSWORD", raising=False)
    password = password_of(pg_lab, "alfresco")
    info = with_password(pg_lab, "alfresco", password)
    async with dump_held_on_a_lock(pg_lab, info, tmp_path / "repository.dir") as (dump, _):
        assert dump.pid is not None
        cmdline = Path(f"/proc/{dump.pid}/cmdline").read_bytes().decode()
        environ = Path(f"/proc/{dump.pid}/environ").read_bytes().decode().split("\0")
        assert "host=127.0.0.1" in cmdline  # it did get the conninfo...
        assert password not in cmdline  # ...without the password
        assert password not in " ".join(dump.argv)
        assert f"PGPASSWORD={password}" in environ
        assert not any(password in cmdline for cmdline in all_command_lines())


def all_command_lines() -> list[str]:
    lines = []
    for path in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            lines.append(path.read_bytes().decode(errors="replace"))
        except OSError:
            continue  # the process ended meanwhile
    return lines


async def test_pg_dump_older_than_the_server_is_refused(pg_lab: LabLayout, tmp_path: Path) -> None:
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    fake = fake_bin / "pg_dump"
    fake.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 13.0'\n")
    fake.chmod(0o755)
    out = tmp_path / "repository.dir"

    with pytest.raises(SyncWizardError) as caught:
        await pgtools.run_pg_dump(
            lab.conninfo(pg_lab, "repository"),
            out,
            passfile=pg_lab.pgpass,
            bindir=fake_bin,
            system="repository_db",
        )

    error = caught.value
    assert "pg_dump 13" in error.message and "PostgreSQL 15" in error.message
    assert "repository database" in error.message
    assert "postgresql-client-15" in error.hint
    assert error.system == "repository_db"
    assert not out.exists() and not (tmp_path / "repository.dir.partial").exists()


async def test_tool_major_of_the_installed_pg_dump_matches_the_server() -> None:
    assert await pgtools.tool_major("pg_dump") >= 15
    assert await pgtools.check_tool_version("pg_restore", 15) >= 15
    assert os.access(pgtools.tool_path("pg_restore"), os.X_OK)
