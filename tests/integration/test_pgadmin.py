"""Database-level operations of a restore (clients/pgadmin.py) against the lab PostgreSQL,
connecting as the lab's repository role (CREATEDB, not a superuser)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from syncwizard.clients import pgadmin
from syncwizard.clients.dbnames import aside_name
from syncwizard.clients.results import Session
from syncwizard.errors import SyncWizardError
from syncwizard.lab import postgres as lab
from syncwizard.lab.layout import LabLayout

pytestmark = pytest.mark.integration


def admin(layout: LabLayout, dbname: str = "postgres") -> psycopg.Connection:
    return psycopg.connect(lab.superuser_conninfo(layout, dbname), autocommit=True)


def repo_info(layout: LabLayout, dbname: str = "alfresco") -> str:
    return pgadmin.database_conninfo(lab.conninfo(layout, "repository"), dbname)


@contextmanager
def databases(layout: LabLayout, *names: str) -> Iterator[None]:
    """Databases owned by the repository role, each holding a table named after it."""
    with admin(layout) as conn:
        for name in names:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name} OWNER alfresco")
    for name in names:
        with psycopg.connect(repo_info(layout, name), passfile=str(layout.pgpass)) as conn:
            conn.execute(f"CREATE TABLE marker_{name} (id int)")
            conn.execute(f"INSERT INTO marker_{name} SELECT generate_series(1, 3)")
    try:
        yield
    finally:
        with admin(layout) as conn:
            for name in names:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def tables_of(layout: LabLayout, dbname: str) -> set[str]:
    with admin(layout, dbname) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {row[0] for row in rows}


def database_names(layout: LabLayout) -> set[str]:
    with admin(layout) as conn:
        return {row[0] for row in conn.execute("SELECT datname FROM pg_database")}


@contextmanager
def role_without_rights(layout: LabLayout, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A login role with neither CREATEDB nor pg_read_all_settings, and its pgpass."""
    password = "plain-role-pw"
    with admin(layout) as conn:
        conn.execute("DROP ROLE IF EXISTS plain_role")
        conn.execute(f"CREATE ROLE plain_role LOGIN PASSWORD '{password}'")
    passfile = tmp_path / "plain-pgpass"
    passfile.write_text(f"127.0.0.1:{layout.ports.postgres}:*:plain_role:{password}\n")
    passfile.chmod(0o600)
    info = f"host=127.0.0.1 port={layout.ports.postgres} dbname=alfresco user=plain_role"
    try:
        yield info, passfile
    finally:
        with admin(layout) as conn:
            conn.execute("DROP ROLE IF EXISTS plain_role")


# --- reading --------------------------------------------------------------------------------


async def test_database_info_names_owner_encoding_locale_and_size(pg_lab: LabLayout) -> None:
    info = await pgadmin.database_info(repo_info(pg_lab), "alfresco", passfile=pg_lab.pgpass)

    assert info is not None
    assert (info.name, info.owner, info.encoding) == ("alfresco", "alfresco", "UTF8")
    assert (info.collate, info.ctype, info.locale_provider) == ("C", "C", "c")
    assert info.tablespace == "pg_default"
    assert info.size_bytes is not None and info.size_bytes > 1_000_000
    assert (
        await pgadmin.database_info(repo_info(pg_lab), "no_such_db", passfile=pg_lab.pgpass) is None
    )


async def sessions_on(layout: LabLayout, name: str) -> list[Session]:
    target = await pgadmin.restore_target(repo_info(layout), name, passfile=layout.pgpass)
    return target.sessions


async def test_sessions_on_lists_other_clients_but_not_our_own_connection(
    pg_lab: LabLayout,
) -> None:
    with psycopg.connect(
        repo_info(pg_lab), passfile=str(pg_lab.pgpass), application_name="repository-app"
    ):
        sessions = await sessions_on(pg_lab, "alfresco")
    assert [(s.user, s.application, s.client) for s in sessions] == [
        ("alfresco", "repository-app", "127.0.0.1")
    ]
    assert await sessions_on(pg_lab, "alfresco") == []


async def test_the_lab_role_may_create_databases_and_a_plain_role_is_told_the_fix(
    pg_lab: LabLayout, tmp_path: Path
) -> None:
    rights = await pgadmin.restore_rights(repo_info(pg_lab), "alfresco", passfile=pg_lab.pgpass)
    assert rights.superuser or rights.createdb
    assert rights.problems("alfresco") == []

    with role_without_rights(pg_lab, tmp_path) as (info, passfile):
        rights = await pgadmin.restore_rights(info, "alfresco", passfile=passfile)
        assert not (rights.superuser or rights.createdb)
        problems = rights.problems("alfresco")
    assert len(problems) == 2
    assert "ALTER ROLE plain_role CREATEDB" in problems[0]
    assert "ALTER DATABASE alfresco OWNER TO plain_role" in problems[1]


async def test_a_password_file_without_a_line_for_the_maintenance_database_is_named(
    pg_lab: LabLayout, tmp_path: Path
) -> None:
    password = lab.read_pgpass_passwords(pg_lab)["alfresco"]
    passfile = tmp_path / "only-alfresco"
    passfile.write_text(f"127.0.0.1:{pg_lab.ports.postgres}:alfresco:alfresco:{password}\n")
    passfile.chmod(0o600)

    with pytest.raises(SyncWizardError) as caught:
        await pgadmin.database_info(repo_info(pg_lab), "alfresco", passfile=passfile)

    assert "asks for a password" in caught.value.message
    assert "maintenance database 'postgres'" in caught.value.hint
    assert password not in caught.value.render()


# --- creating, renaming, dropping -----------------------------------------------------------


async def test_create_like_copies_owner_and_locale_and_drop_removes_it(pg_lab: LabLayout) -> None:
    info = repo_info(pg_lab)
    like = await pgadmin.database_info(info, "alfresco", passfile=pg_lab.pgpass)
    assert like is not None
    try:
        owner = await pgadmin.create_like(
            info, "alfresco__restore_t1", like, passfile=pg_lab.pgpass
        )
        made = await pgadmin.database_info(info, "alfresco__restore_t1", passfile=pg_lab.pgpass)
        assert owner == "alfresco"
        assert made is not None and made.oid != like.oid
        assert (made.owner, made.encoding, made.collate, made.ctype) == (
            "alfresco",
            "UTF8",
            "C",
            "C",
        )
    finally:
        dropped = await pgadmin.drop_database(info, "alfresco__restore_t1", passfile=pg_lab.pgpass)
    assert dropped is True
    assert (
        await pgadmin.drop_database(info, "alfresco__restore_t1", passfile=pg_lab.pgpass) is False
    )


async def test_create_like_an_owner_we_may_not_act_as_leaves_it_ours(pg_lab: LabLayout) -> None:
    info = repo_info(pg_lab)
    like = await pgadmin.database_info(info, "syncservice", passfile=pg_lab.pgpass)
    assert like is not None and like.owner == "sync"
    try:
        owner = await pgadmin.create_like(info, "pga_not_sync", like, passfile=pg_lab.pgpass)
        made = await pgadmin.database_info(info, "pga_not_sync", passfile=pg_lab.pgpass)
    finally:
        await pgadmin.drop_database(info, "pga_not_sync", passfile=pg_lab.pgpass)
    assert owner == "alfresco"
    assert made is not None and made.owner == "alfresco"


async def test_creating_without_createdb_is_a_clear_error(
    pg_lab: LabLayout, tmp_path: Path
) -> None:
    like = await pgadmin.database_info(repo_info(pg_lab), "alfresco", passfile=pg_lab.pgpass)
    assert like is not None
    with (
        role_without_rights(pg_lab, tmp_path) as (info, passfile),
        pytest.raises(SyncWizardError) as caught,
    ):
        await pgadmin.create_like(info, "pga_refused", like, passfile=passfile)
    assert "creating the scratch database 'pga_refused' failed" in caught.value.message
    assert "permission denied to create database" in caught.value.message
    assert "ALTER ROLE plain_role CREATEDB" in caught.value.hint
    assert "pga_refused" not in database_names(pg_lab)


async def test_swap_renames_live_aside_and_scratch_into_place_ending_sessions(
    pg_lab: LabLayout,
) -> None:
    with databases(pg_lab, "pga_live", "pga_scratch"):
        client = psycopg.connect(
            repo_info(pg_lab, "pga_live"), passfile=str(pg_lab.pgpass), autocommit=True
        )
        try:
            result = await pgadmin.swap_into_place(
                repo_info(pg_lab), "pga_live", "pga_scratch", "pga_aside", passfile=pg_lab.pgpass
            )
            with pytest.raises(psycopg.OperationalError):
                client.execute("SELECT 1")
        finally:
            client.close()
        try:
            assert result == pgadmin.SwapResult(terminated=1, aside="pga_aside", dropped_live=False)
            assert tables_of(pg_lab, "pga_live") == {"marker_pga_scratch"}
            assert tables_of(pg_lab, "pga_aside") == {"marker_pga_live"}
            assert "pga_scratch" not in database_names(pg_lab)
        finally:
            with admin(pg_lab) as conn:
                conn.execute("DROP DATABASE IF EXISTS pga_aside WITH (FORCE)")


async def test_the_swap_is_one_transaction_a_failed_second_rename_undoes_the_first(
    pg_lab: LabLayout,
) -> None:
    with databases(pg_lab, "pga_live2"):
        # The first rename (live -> aside) succeeds, the second (no scratch) fails.
        with pytest.raises(SyncWizardError) as caught:
            await pgadmin.swap_into_place(
                repo_info(pg_lab), "pga_live2", "pga_gone2", "pga_aside2", passfile=pg_lab.pgpass
            )
        assert 'database "pga_gone2" does not exist' in caught.value.message
        assert tables_of(pg_lab, "pga_live2") == {"marker_pga_live2"}
        assert "pga_aside2" not in database_names(pg_lab)


async def test_the_drop_first_swap_drops_live_and_keeps_no_copy(pg_lab: LabLayout) -> None:
    with databases(pg_lab, "pga_live3", "pga_scratch3"):
        result = await pgadmin.swap_into_place(
            repo_info(pg_lab), "pga_live3", "pga_scratch3", None, passfile=pg_lab.pgpass
        )
        assert result == pgadmin.SwapResult(terminated=0, aside=None, dropped_live=True)
        assert tables_of(pg_lab, "pga_live3") == {"marker_pga_scratch3"}
        names = database_names(pg_lab)
        assert "pga_scratch3" not in names
        assert not any(name.startswith("pga_live3_") for name in names)


# --- counting and room ----------------------------------------------------------------------


async def test_count_rows_is_exact_and_none_for_a_missing_table(pg_lab: LabLayout) -> None:
    counts = await pgadmin.count_rows(
        repo_info(pg_lab),
        ["public.alf_node", "public.alf_node_properties", "public.no_such_table"],
        passfile=pg_lab.pgpass,
    )
    with admin(pg_lab, "alfresco") as conn:
        row = conn.execute("SELECT count(*) FROM alf_node_properties").fetchone()
    assert row is not None
    properties = row[0]
    assert counts == {
        "public.alf_node": 2000,
        "public.alf_node_properties": properties,
        "public.no_such_table": None,
    }


async def test_server_free_bytes_on_this_machine_matches_statvfs(pg_lab: LabLayout) -> None:
    target = await pgadmin.restore_target(repo_info(pg_lab), "alfresco", passfile=pg_lab.pgpass)
    free = target.free_bytes
    stats = os.statvfs(lab.cluster(pg_lab).data_dir)
    assert free is not None
    assert abs(free - stats.f_bavail * stats.f_frsize) < 200_000_000  # others write meanwhile


async def test_server_free_bytes_is_unknown_when_it_cannot_be_measured(
    pg_lab: LabLayout, tmp_path: Path
) -> None:
    # Another machine: not even asked (192.0.2.1 is TEST-NET, nothing answers there).
    remote = "host=192.0.2.1 port=5432 dbname=alfresco user=alfresco connect_timeout=1"
    conn = await pgadmin.connect_maintenance(repo_info(pg_lab), passfile=pg_lab.pgpass)
    try:
        assert await pgadmin.read_free_bytes(conn, remote) is None
    finally:
        await conn.close()
    # This machine, but a role that may not read data_directory.
    with role_without_rights(pg_lab, tmp_path) as (info, passfile):
        target = await pgadmin.restore_target(info, "alfresco", passfile=passfile)
        assert target.free_bytes is None


async def settings_not_in_a_dump(layout: LabLayout, name: str) -> list[str]:
    info = lab.conninfo(layout, "repository")
    return (await pgadmin.restore_target(info, name, passfile=layout.pgpass)).not_in_dump


async def test_what_a_dump_does_not_carry_is_named_as_sql_to_set_again(pg_lab: LabLayout) -> None:
    with databases(pg_lab, "sw_settings"):
        assert await settings_not_in_a_dump(pg_lab, "sw_settings") == []
        with admin(pg_lab) as conn:
            conn.execute("ALTER DATABASE sw_settings SET work_mem = '8MB'")
            conn.execute("ALTER DATABASE sw_settings CONNECTION LIMIT 50")
        found = await settings_not_in_a_dump(pg_lab, "sw_settings")
    assert found == [
        """ALTER DATABASE "sw_settings" SET work_mem = '8MB'""",
        'ALTER DATABASE "sw_settings" CONNECTION LIMIT 50',
    ]


async def test_the_server_tallies_the_rows_inserted_into_each_table(pg_lab: LabLayout) -> None:
    with databases(pg_lab, "sw_tally"):
        tallied = await pgadmin.inserted_rows(repo_info(pg_lab, "sw_tally"), passfile=pg_lab.pgpass)
    assert tallied == {"public.marker_sw_tally": 3}


async def test_a_restore_target_is_read_in_one_session(pg_lab: LabLayout) -> None:
    info = lab.conninfo(pg_lab, "repository")
    with databases(pg_lab, "sw_target"):
        with admin(pg_lab) as conn:
            conn.execute("ALTER DATABASE sw_target SET work_mem = '8MB'")
        with psycopg.connect(repo_info(pg_lab, "sw_target"), passfile=str(pg_lab.pgpass)):
            target = await pgadmin.restore_target(info, "sw_target", passfile=pg_lab.pgpass)
        with admin(pg_lab) as conn:  # the one maintenance session has gone again
            ours = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname IN ('postgres', 'template1')"
                " AND usename = 'alfresco'"
            ).fetchone()

    assert target.info is not None and target.info.owner == "alfresco"
    assert [s.user for s in target.sessions] == ["alfresco"]
    assert target.rights.createdb and target.rights.owns_live and not target.rights.superuser
    assert target.not_in_dump == ["""ALTER DATABASE "sw_target" SET work_mem = '8MB'"""]
    assert target.free_bytes is not None and target.free_bytes > 0
    assert ours == (0,)


async def test_a_missing_restore_target_still_reports_the_rights_and_room(
    pg_lab: LabLayout,
) -> None:
    info = lab.conninfo(pg_lab, "repository")
    target = await pgadmin.restore_target(info, "sw_absent", passfile=pg_lab.pgpass)
    assert target.info is None and target.sessions == [] and target.not_in_dump == []
    assert target.rights.createdb and not target.rights.owns_live
    assert target.free_bytes is not None


async def test_a_restore_target_reads_the_servers_wal_room_and_old_copies_kept_aside(
    pg_lab: LabLayout,
) -> None:
    info = lab.conninfo(pg_lab, "repository")
    with databases(pg_lab, "sw_kept", "sw_kept__before_20260101t000000z", "sw_kept__other"):
        target = await pgadmin.restore_target(info, "sw_kept", passfile=pg_lab.pgpass)
        with admin(pg_lab) as conn:
            row = conn.execute(
                "SELECT pg_size_bytes(current_setting('max_wal_size')),"
                " pg_database_size('sw_kept__before_20260101t000000z')"
            ).fetchone()
    assert row is not None
    assert target.wal_bytes is not None and target.wal_bytes == row[0] > 0
    assert target.kept_aside == [("sw_kept__before_20260101t000000z", row[1])]


async def test_an_old_copy_of_a_long_named_database_is_listed_under_its_cut_name(
    pg_lab: LabLayout,
) -> None:
    """A live name too long for `<name>__before_<run>` gets a cut, hashed aside name: it is
    still listed as that database's old copy, and a look-alike's is not."""
    live, other = "sw_" + "k" * 50 + "_one", "sw_" + "k" * 50 + "_two"
    aside = aside_name(live, "restore-20260101T000000Z")
    assert not aside.startswith(live)  # cut and hashed
    info = lab.conninfo(pg_lab, "repository")
    with databases(pg_lab, aside, aside_name(other, "restore-20260101T000000Z")):
        target = await pgadmin.restore_target(info, live, passfile=pg_lab.pgpass)
    assert [name for name, _ in target.kept_aside] == [aside]
