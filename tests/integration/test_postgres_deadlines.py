"""Every PostgreSQL wait of the backup is bounded, never the work, against the lab cluster.

A database behind a proxy that goes silent (a network black hole: the kernel still
acknowledges, so no TCP timeout helps) fails at the database's `timeout`; a table lock
held by another session ends pg_dump's and the row count's wait at `lock_timeout`,
naming the session. Each call is guarded by a wall-clock limit far above its bound, so
a missing deadline fails the test instead of hanging it.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import psycopg
import pytest
from silent_proxy import SilentProxy, silent_proxy

from syncwizard.clients import pgtools
from syncwizard.clients.pglocks import LockWaitError
from syncwizard.clients.postgres import close_quietly, connect, fetch_all
from syncwizard.config import BrokerSettings, DatabaseSettings, HealthSettings, Profile
from syncwizard.errors import SyncWizardError
from syncwizard.lab import postgres as lab
from syncwizard.lab.layout import LabLayout
from syncwizard.runbook.backup.snapshot_dump import DumpPlan, count_rows
from syncwizard.runbook.backup.systems import BackupSystems

pytestmark = pytest.mark.integration

TIMEOUT = 2.0
GUARD = 30.0  # far above every bound here: only a missing deadline comes near it
T = TypeVar("T")


async def guarded(call: Awaitable[T]) -> tuple[T, float]:
    """The call's result and how long it took; fails the test if it outlives GUARD."""
    started = time.monotonic()
    try:
        result = await asyncio.wait_for(call, GUARD)
    except TimeoutError:
        pytest.fail(f"the call was still running after {GUARD:g} s (bound {TIMEOUT:g} s)")
    return result, time.monotonic() - started


async def failure(call: Awaitable[object]) -> tuple[SyncWizardError, float]:
    async def expect() -> SyncWizardError:
        with pytest.raises(SyncWizardError) as caught:
            await call
        return caught.value

    return await guarded(expect())


def assert_gave_up_at(took: float, bound: float) -> None:
    assert took >= bound * 0.9, f"gave up after {took:.2f} s, before the {bound:g} s bound"
    assert took < bound + 4, f"took {took:.2f} s with a {bound:g} s bound"


@pytest.fixture
def any_port_pgpass(pg_lab: LabLayout, tmp_path: Path) -> Path:
    """The lab's passwords for any port of 127.0.0.1, so they serve through a proxy."""
    path = tmp_path / "pgpass"
    path.write_text(
        "".join(
            f"127.0.0.1:*:*:{user}:{password}\n"
            for user, password in lab.read_pgpass_passwords(pg_lab).items()
        )
    )
    path.chmod(0o600)
    return path


def profile_behind(proxy: SilentProxy, pgpass: Path) -> Profile:
    database = DatabaseSettings(
        proxy.conninfo("alfresco", lab.REPOSITORY_USER), passfile=str(pgpass), timeout=TIMEOUT
    )
    return Profile(
        name="deadlines",
        health=HealthSettings(url="http://127.0.0.1:1/alfresco/healthcheck"),
        broker=BrokerSettings(jolokia_url="http://127.0.0.1:1/api/jolokia"),
        repository_db=database,
        sync_db=database,
    )


async def probe(profile: Profile) -> object:
    systems = BackupSystems(profile, None)
    try:
        return await systems.probe_database("repository_db")
    finally:
        await systems.aclose()


# --- a database gone silent --------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "pass_queries", "waited_for"),
    [
        (
            "mute",
            0,
            "no answer from database 'alfresco' on 127.0.0.1:{port} as user 'alfresco' to our "
            "connection attempt",
        ),
        ("after_login", 0, "did not answer the query setting its timeouts"),
        ("after_login", 1, "did not answer the query for its facts (version, size, tables)"),
    ],
)
async def test_a_database_going_silent_fails_the_backup_probe_at_its_timeout(
    pg_lab: LabLayout, any_port_pgpass: Path, mode: str, pass_queries: int, waited_for: str
) -> None:
    with silent_proxy(pg_lab.ports.postgres, mode, pass_queries=pass_queries) as proxy:  # type: ignore[arg-type]
        error, took = await failure(probe(profile_behind(proxy, any_port_pgpass)))

    assert_gave_up_at(took, TIMEOUT)
    assert error.system == "repository_db"
    assert waited_for.format(port=proxy.port) in error.message
    assert "within 2 s (the bound set by repository_db.timeout)" in error.message
    assert "raise repository_db.timeout" in error.hint or "firewall" in error.hint
    assert proxy.swallowed == (1 if mode == "after_login" else 0)


async def test_through_the_same_proxy_relaying_everything_the_probe_reads_the_facts(
    pg_lab: LabLayout, any_port_pgpass: Path
) -> None:
    with silent_proxy(pg_lab.ports.postgres, "relay") as proxy:
        result, _ = await guarded(probe(profile_behind(proxy, any_port_pgpass)))

    assert result.name == "alfresco" and result.server_major == 15  # type: ignore[attr-defined]
    assert proxy.connections == 1 and proxy.swallowed == 0


@pytest.mark.parametrize(
    ("pass_queries", "waited_for"),
    [(1, "the query for its version"), (2, "the row estimate")],
)
async def test_a_dump_whose_database_goes_silent_fails_at_the_timeout_and_leaves_nothing(
    pg_lab: LabLayout, any_port_pgpass: Path, tmp_path: Path, pass_queries: int, waited_for: str
) -> None:
    out = tmp_path / "repository.dir"
    with silent_proxy(pg_lab.ports.postgres, "after_login", pass_queries=pass_queries) as proxy:
        dump = pgtools.run_pg_dump(
            proxy.conninfo("alfresco", lab.REPOSITORY_USER),
            out,
            passfile=any_port_pgpass,
            system="repository_db",
            timeout=TIMEOUT,
        )
        error, took = await failure(dump)

    assert_gave_up_at(took, TIMEOUT)
    assert f"did not answer {waited_for} within 2 s" in error.message
    assert not out.exists() and not (tmp_path / "repository.dir.partial").exists()


async def test_pg_dump_with_our_connection_settings_gives_up_on_a_silent_server(
    tmp_path: Path,
) -> None:
    with silent_proxy(1, "mute") as proxy:  # never connects upstream
        dump = pgtools.PgDump(
            proxy.conninfo("alfresco", "alfresco"), tmp_path / "a.dump", fmt="custom", timeout=2
        )
        dsn, env = dump.child_connection()
        argv = [str(pgtools.tool_path("pg_dump")), "--no-password", "-Fc", "-f", str(dump.partial)]
        started = time.monotonic()
        try:
            ran = subprocess.run(
                [*argv, "--dbname", dsn], env=env, capture_output=True, text=True, timeout=GUARD
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"pg_dump still waited for the silent server after {GUARD:g} s")
        took = time.monotonic() - started

    assert ran.returncode != 0 and "timeout expired" in ran.stderr
    assert_gave_up_at(took, 2)


async def test_a_session_with_a_statement_timeout_has_the_server_end_a_long_statement(
    pg_lab: LabLayout,
) -> None:
    info = lab.conninfo(pg_lab, "sync")
    conn = await connect(info, passfile=pg_lab.pgpass, system="sync_db", statement_timeout=1)
    try:
        sleep = fetch_all(
            conn, "SELECT pg_sleep(20)", conninfo=info, system="sync_db", what="a nap", timeout=10
        )
        error, took = await failure(sleep)
        # the server answered (the connection was not cut) and nothing is left running there
        assert (
            await fetch_all(conn, "SELECT 1", conninfo=info, system="sync_db", what="", timeout=10)
        ) == [(1,)]
    finally:
        await close_quietly(conn)
    assert_gave_up_at(took, 1)
    assert "did not answer a nap within 10 s" in error.message


# --- a table lock held by another session ------------------------------------------------


@contextmanager
def migration_holding(layout: LabLayout, table: str) -> Iterator[psycopg.Connection]:
    """A superuser session, as a migration tool, holding an ACCESS EXCLUSIVE lock on `table`."""
    info = lab.superuser_conninfo(layout, "alfresco") + " application_name=migration-42"
    with psycopg.connect(info, autocommit=True) as locker:
        locker.execute("BEGIN")
        locker.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
        try:
            yield locker
        finally:
            locker.execute("ROLLBACK")


def assert_names_the_holder(error: SyncWizardError, locker: psycopg.Connection) -> None:
    pid = locker.info.backend_pid
    assert isinstance(error, LockWaitError)
    assert error.system == "repository_db"
    assert "for a lock on table public.alf_node_properties in database 'alfresco'" in (
        error.message
    )
    assert f"session {pid} (user 'postgres', application 'migration-42')" in error.message
    assert "holds an ACCESS EXCLUSIVE lock" in error.message
    assert f"SELECT pg_terminate_backend({pid})" in error.hint
    assert "raise repository_db.lock_timeout" in error.hint


async def test_pg_dump_waiting_on_a_migrations_lock_gives_up_at_its_bound_naming_the_holder(
    pg_lab: LabLayout, tmp_path: Path
) -> None:
    out = tmp_path / "repository.dir"
    with migration_holding(pg_lab, "alf_node_properties") as locker:
        dump = pgtools.run_pg_dump(
            lab.conninfo(pg_lab, "repository"),
            out,
            passfile=pg_lab.pgpass,
            system="repository_db",
            lock_wait_timeout=TIMEOUT,
        )
        error, took = await failure(dump)
        assert_names_the_holder(error, locker)

    assert_gave_up_at(took, TIMEOUT)
    assert "pg_dump waited 2 s (the bound set by repository_db.lock_timeout)" in error.message
    assert not out.exists() and not (tmp_path / "repository.dir.partial").exists()


async def test_the_exact_row_count_waiting_on_a_lock_gives_up_at_its_bound_naming_the_holder(
    pg_lab: LabLayout, tmp_path: Path
) -> None:
    info = lab.conninfo(pg_lab, "repository")
    plan = DumpPlan(
        role="repository_db",
        roles=("repository_db",),
        conninfo=info,
        passfile=pg_lab.pgpass,
        out_path=tmp_path / "repository.dir",
        fmt="directory",
        jobs=2,
        compress=None,
        lock_timeout=TIMEOUT,
    )
    conn = await connect(
        info, passfile=pg_lab.pgpass, system="repository_db", lock_timeout=plan.lock_timeout
    )
    try:
        await conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        with migration_holding(pg_lab, "alf_node_properties") as locker:
            error, took = await failure(count_rows(conn, plan))
            assert_names_the_holder(error, locker)
    finally:
        await close_quietly(conn)
    assert_gave_up_at(took, TIMEOUT)
    assert "the exact row count waited 2 s" in error.message


@contextmanager
def database_with_a_slow_table(layout: LabLayout, name: str) -> Iterator[str]:
    """A scratch database of the repository role with one table whose count takes a second:
    a row-level security policy (forced on its owner) sleeps for each row it lets through."""
    with psycopg.connect(lab.superuser_conninfo(layout), autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name} OWNER {lab.REPOSITORY_USER}")
    try:
        info = lab.conninfo(layout, "repository").replace("dbname=alfresco", f"dbname={name}")
        with psycopg.connect(info, passfile=str(layout.pgpass), autocommit=True) as owner:
            owner.execute("CREATE TABLE slow (id int)")
            owner.execute("INSERT INTO slow VALUES (1)")
            owner.execute("CREATE POLICY nap ON slow USING (pg_sleep(1) IS NOT NULL)")
            owner.execute("ALTER TABLE slow ENABLE ROW LEVEL SECURITY")
            owner.execute("ALTER TABLE slow FORCE ROW LEVEL SECURITY")
        yield info
    finally:
        with psycopg.connect(lab.superuser_conninfo(layout), autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def test_a_count_running_longer_than_the_sessions_statement_timeout_is_not_cut_off(
    pg_lab: LabLayout, tmp_path: Path
) -> None:
    with database_with_a_slow_table(pg_lab, "sw_slow_count") as info:
        plan = DumpPlan(
            role="repository_db",
            roles=("repository_db",),
            conninfo=info,
            passfile=pg_lab.pgpass,
            out_path=tmp_path / "repository.dir",
            fmt="directory",
            jobs=2,
            compress=None,
            timeout=0.3,
        )
        # connected as dump_in_snapshot connects: short queries bounded at plan.timeout
        conn = await connect(
            info,
            passfile=pg_lab.pgpass,
            system="repository_db",
            timeout=TIMEOUT,
            statement_timeout=plan.timeout,
            lock_timeout=plan.lock_timeout,
        )
        try:
            await conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            counts, took = await guarded(count_rows(conn, plan))
        finally:
            await close_quietly(conn)

    assert counts == {"public.slow": 1}
    assert took >= 0.9  # the count is work: it ran past the 0.3 s bound of the waits
