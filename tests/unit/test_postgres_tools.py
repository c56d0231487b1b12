"""pg_dump / pg_restore: version parsing, tool lookup, verbose lines, the child's argv and env."""

from __future__ import annotations

from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict

from syncwizard.clients.pgtools import (
    BINDIR_ENV,
    PgDump,
    PgRestore,
    check_tool_version,
    exact_pattern,
    object_of_line,
    parse_tool_major,
    tool_major,
    tool_path,
)
from syncwizard.errors import SyncWizardError


def fake_tool(folder: Path, name: str, output: str) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\necho '{output}'\n")
    path.chmod(0o755)
    return path


@pytest.mark.parametrize(
    ("text", "major"),
    [
        ("pg_dump (PostgreSQL) 15.13 (Debian 15.13-0+deb12u1)\n", 15),
        ("pg_restore (PostgreSQL) 16.2", 16),
        ("pg_dump (PostgreSQL) 17beta1", 17),
        ("pg_dump (PostgreSQL) 9.6.24", 9),
    ],
)
def test_parse_tool_major(text: str, major: int) -> None:
    assert parse_tool_major(text) == major


def test_parse_tool_major_refuses_another_program() -> None:
    with pytest.raises(ValueError, match="mysqldump"):
        parse_tool_major("mysqldump  Ver 8.0.36 for Linux")


@pytest.mark.parametrize(
    ("line", "found"),
    [
        ('pg_dump: dumping contents of table "public.alf_node"', ("data", "public.alf_node")),
        ('pg_restore: processing data for table "public.sync_node"', ("data", "public.sync_node")),
        ("pg_restore: launching item 3356 TABLE DATA alf_node", ("data", "alf_node")),
        ('pg_restore: creating TABLE "public.alf_node"', ("schema", "TABLE public.alf_node")),
        (
            'pg_restore: creating FK CONSTRAINT "public.alf_node_properties fk"',
            ("schema", "FK CONSTRAINT public.alf_node_properties fk"),
        ),
        ("pg_dump: reading user-defined tables", None),
        ("pg_restore: finished item 3356 TABLE DATA alf_node", None),
    ],
)
def test_object_of_verbose_line(line: str, found: tuple[str, str] | None) -> None:
    assert object_of_line(line) == found


def test_tool_path_prefers_the_configured_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tool = fake_tool(tmp_path / "bin", "pg_dump", "pg_dump (PostgreSQL) 16.1")
    assert tool_path("pg_dump", tmp_path / "bin") == tool
    monkeypatch.setenv(BINDIR_ENV, str(tmp_path / "bin"))
    assert tool_path("pg_dump") == tool


def test_tool_path_names_a_folder_without_the_tool(tmp_path: Path) -> None:
    with pytest.raises(SyncWizardError) as caught:
        tool_path("pg_restore", tmp_path)
    assert f"pg_restore not found in {tmp_path}" in caught.value.message
    assert caught.value.system == "config"


async def test_check_tool_version_refuses_a_tool_older_than_the_server(tmp_path: Path) -> None:
    fake_tool(tmp_path / "bin", "pg_dump", "pg_dump (PostgreSQL) 13.0")
    with pytest.raises(SyncWizardError) as caught:
        await check_tool_version("pg_dump", 15, bindir=tmp_path / "bin", system="sync_db")
    error = caught.value
    assert "pg_dump 13" in error.message and "PostgreSQL 15" in error.message
    assert "Sync database" in error.message
    assert "apt-get install postgresql-client-15" in error.hint
    assert BINDIR_ENV in error.hint
    assert error.system == "sync_db"


async def test_check_tool_version_accepts_the_same_or_a_newer_tool(tmp_path: Path) -> None:
    fake_tool(tmp_path / "bin", "pg_restore", "pg_restore (PostgreSQL) 16.4")
    assert await check_tool_version("pg_restore", 16, bindir=tmp_path / "bin") == 16
    assert await check_tool_version("pg_restore", 15, bindir=tmp_path / "bin") == 16


async def test_tool_major_says_what_it_expected_from_a_strange_tool(tmp_path: Path) -> None:
    fake_tool(tmp_path / "bin", "pg_dump", "hello")
    with pytest.raises(SyncWizardError) as caught:
        await tool_major("pg_dump", bindir=tmp_path / "bin")
    assert "printed 'hello'" in caught.value.message
    assert "pg_dump (PostgreSQL) <version>" in caught.value.message


def test_the_child_gets_the_password_in_its_environment_only(tmp_path: Path) -> None:
    dump = PgDump(
        "postgresql://alfresco:s3cret@db:5432/alfresco",
        tmp_path / "repo.dir",
        passfile=tmp_path / "pgpass",
    )
    dsn, env = dump.child_connection()
    assert "s3cret" not in dsn
    assert "host=db" in dsn and f"application_name={dump.application_name}" in dsn
    assert env["PGPASSWORD"] == "s3cret"
    assert env["PGPASSFILE"] == str(tmp_path / "pgpass")
    assert not any("s3cret" in arg for arg in dump._tool_args())


def test_dump_arguments_write_to_the_partial_path(tmp_path: Path) -> None:
    directory = PgDump("dbname=a", tmp_path / "repo.dir", fmt="directory", jobs=3, compress="6")
    assert directory._tool_args() == [
        "--verbose",
        "--no-password",
        "--format=directory",
        "--file",
        str(tmp_path / "repo.dir.partial"),
        "--lock-wait-timeout=60000",
        "--jobs=3",
        "--compress=6",
    ]
    custom = PgDump("dbname=a", tmp_path / "repo.dump", fmt="custom", jobs=3)
    assert "--jobs=3" not in custom._tool_args()  # only the directory format runs in parallel


def test_a_partial_dump_names_each_table_exactly_quoted(tmp_path: Path) -> None:
    only = PgDump("dbname=a", tmp_path / "s", tables=[exact_pattern("public", 'sync"Node')])
    assert only._tool_args()[-1] == '--table="public"."sync""Node"'
    without = PgDump(
        "dbname=a",
        tmp_path / "r",
        exclude_tables=[exact_pattern("public", "sync_node"), exact_pattern("x", "sync_seq")],
    )
    assert without._tool_args()[-2:] == [
        '--exclude-table="public"."sync_node"',
        '--exclude-table="x"."sync_seq"',
    ]


def test_restore_in_one_transaction_runs_without_jobs(tmp_path: Path) -> None:
    single = PgRestore("dbname=a", tmp_path / "a.dump", jobs=4, single_transaction=True)
    assert "--single-transaction" in single._tool_args()
    assert not any(arg.startswith("--jobs") for arg in single._tool_args())
    parallel = PgRestore("dbname=a", tmp_path / "a.dir", jobs=4, clean=True, no_owner=True)
    assert parallel._tool_args() == [
        "--verbose",
        "--no-password",
        "--exit-on-error",
        "--jobs=4",
        "--clean",
        "--if-exists",
        "--no-owner",
        str(tmp_path / "a.dir"),
    ]


def test_a_dump_waits_for_a_table_lock_at_most_its_lock_wait_timeout(tmp_path: Path) -> None:
    dump = PgDump("dbname=a", tmp_path / "repo.dir", lock_wait_timeout=2.5)
    assert "--lock-wait-timeout=2500" in dump._tool_args()  # milliseconds, as pg_dump reads it


def test_the_child_gets_a_connect_timeout_and_keepalives_from_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGCONNECT_TIMEOUT", "0")  # "wait forever", from the admin's shell
    dsn, env = PgDump("host=db dbname=a", tmp_path / "a.dir", timeout=6.5).child_connection()
    params = conninfo_to_dict(dsn)
    assert env["PGCONNECT_TIMEOUT"] == "7"
    assert "connect_timeout" not in params  # the environment carries it, as for psql
    assert (params["keepalives"], params["keepalives_idle"]) == ("1", "7")
    assert (params["keepalives_interval"], params["keepalives_count"]) == ("3", "3")


def test_keepalive_settings_of_the_conninfo_are_kept(tmp_path: Path) -> None:
    conninfo = "host=db dbname=a keepalives_idle=60"
    dsn, _ = PgRestore(conninfo, tmp_path / "a.dump", timeout=2).child_connection()
    params = conninfo_to_dict(dsn)
    assert params["keepalives_idle"] == "60"
    assert params["keepalives_count"] == "3"


def test_a_timeout_below_two_seconds_is_two_for_libpq(tmp_path: Path) -> None:
    _, env = PgRestore("dbname=a", tmp_path / "a.dump", timeout=0.5).child_connection()
    assert env["PGCONNECT_TIMEOUT"] == "2"  # libpq reads 1 as 2; 0 would mean forever
