"""Connection strings: passwords kept off argv and out of messages; errors that say what to do."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from syncwizard.clients.postgres import (
    connection_error,
    describe_target,
    link_bounds,
    query_error,
    server_major,
    split_password,
)
from syncwizard.errors import SyncWizardError

REFUSED = (
    'connection failed: connection to server at "db.example.org" (10.0.0.5), port 5432 failed: '
    'FATAL:  password authentication failed for user "alfresco"'
)
NO_PASSWORD = (
    'connection failed: connection to server at "db.example.org" (10.0.0.5), port 5432 failed: '
    "fe_sendauth: no password supplied"
)
NO_DATABASE = (
    'connection failed: connection to server at "db.example.org" (10.0.0.5), port 5432 failed: '
    'FATAL:  database "alfresco" does not exist'
)
REFUSED_TCP = (
    'connection failed: connection to server at "db.example.org" (10.0.0.5), port 5432 failed: '
    "Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?"
)
CONNINFO = "host=db.example.org port=5432 dbname=alfresco user=alfresco"


@pytest.fixture(autouse=True)
def no_libpq_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PGPASSWORD", "PGPASSFILE", "PGHOST", "PGPORT", "PGUSER", "PGDATABASE"):
        monkeypatch.delenv(name, raising=False)


def test_split_password_takes_the_password_out_of_a_key_value_conninfo() -> None:
    stripped, password = split_password(CONNINFO + " password=s3cret")
    assert password == "s3cret"
    assert "s3cret" not in stripped and "password" not in stripped
    assert conninfo_to_dict(stripped) == conninfo_to_dict(CONNINFO)


def test_split_password_decodes_and_removes_a_uri_password() -> None:
    stripped, password = split_password("postgresql://alfresco:p%40ss%3Aw@db:6432/alfresco")
    assert password == "p@ss:w"
    assert "p%40ss" not in stripped and "p@ss" not in stripped
    assert conninfo_to_dict(stripped) == {
        "user": "alfresco",
        "host": "db",
        "port": "6432",
        "dbname": "alfresco",
    }


def test_split_password_handles_quoted_values_and_no_password() -> None:
    assert split_password("host=db password='a b\\'c'")[1] == "a b'c"
    stripped, password = split_password(CONNINFO)
    assert password is None
    assert conninfo_to_dict(stripped) == conninfo_to_dict(CONNINFO)


def test_an_invalid_conninfo_is_refused_without_quoting_it() -> None:
    with pytest.raises(SyncWizardError) as caught:
        split_password("host=db password=abc defgh", system="sync_db")
    assert "Sync database" in caught.value.message
    assert "defgh" not in caught.value.render() and "abc" not in caught.value.render()
    assert caught.value.system == "sync_db"


def test_describe_target_fills_in_libpq_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGHOST", "pg.internal")
    monkeypatch.setenv("PGUSER", "backup")
    assert describe_target("dbname=alfresco") == (
        "database 'alfresco' on pg.internal:5432 as user 'backup'"
    )
    assert describe_target("host=db port=6432 user=sync") == (
        "database 'sync' on db:6432 as user 'sync'"
    )


def test_refused_password_from_the_password_file_names_the_line_to_fix(tmp_path: Path) -> None:
    passfile = tmp_path / "pgpass"
    passfile.write_text("db.example.org:5432:alfresco:alfresco:old\n")
    passfile.chmod(0o600)
    error = connection_error(
        psycopg.OperationalError(REFUSED), CONNINFO, system="repository_db", passfile=passfile
    )
    assert error.system == "repository_db"
    assert error.message.startswith("repository database: the server refused the password")
    assert "db.example.org:5432" in error.message
    assert "db.example.org:5432:alfresco:alfresco:<password>" in error.hint
    assert str(passfile) in error.hint


def test_refused_password_from_pgpassword_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGPASSWORD", "Zq9-wrong-pw")
    error = connection_error(psycopg.OperationalError(REFUSED), CONNINFO, system="sync_db")
    assert "PGPASSWORD" in error.hint
    assert "Zq9-wrong-pw" not in error.render()


def test_missing_password_points_at_an_unreadable_password_file(tmp_path: Path) -> None:
    passfile = tmp_path / "pgpass"
    passfile.write_text("*:*:*:alfresco:secret\n")
    passfile.chmod(0o644)
    error = connection_error(
        psycopg.OperationalError(NO_PASSWORD), CONNINFO, system="repository_db", passfile=passfile
    )
    assert "none was found" in error.message
    assert "chmod 600" in error.hint
    assert "secret" not in error.render()


def test_missing_password_file_is_named_as_missing(tmp_path: Path) -> None:
    error = connection_error(
        psycopg.OperationalError(NO_PASSWORD),
        CONNINFO,
        system="repository_db",
        passfile=tmp_path / "nope",
    )
    assert "(it does not exist)" in error.hint


def test_missing_database_and_refused_connection_say_what_to_do() -> None:
    missing = connection_error(psycopg.OperationalError(NO_DATABASE), CONNINFO, system="sync_db")
    assert missing.message == (
        "Sync database: database 'alfresco' does not exist on db.example.org:5432"
    )
    assert "createdb -h db.example.org -p 5432 -O alfresco alfresco" in missing.hint
    refused = connection_error(psycopg.OperationalError(REFUSED_TCP), CONNINFO, system="sync_db")
    assert "nothing accepts connections" in refused.message
    assert "host=" in refused.hint and "port=" in refused.hint
    timeout = connection_error(TimeoutError(), CONNINFO, system="sync_db")
    assert "no answer" in timeout.message


def test_server_major_follows_server_version_num() -> None:
    assert server_major(150013) == 15
    assert server_major(170000) == 17
    assert server_major(90624) == 9


def test_a_connection_timing_out_names_its_bound_and_the_setting() -> None:
    error = connection_error(
        psycopg.errors.ConnectionTimeout("connection timeout expired"),
        CONNINFO,
        system="repository_db",
        timeout=2,
    )
    assert error.message == (
        "repository database: no answer from database 'alfresco' on db.example.org:5432 as "
        "user 'alfresco' to our connection attempt within 2 s (the bound set by "
        "repository_db.timeout)"
    )
    assert "firewall" in error.hint


@pytest.mark.parametrize(
    "exc",
    [
        TimeoutError("no answer within 3 s"),
        psycopg.errors.QueryCanceled("canceling statement due to statement timeout"),
    ],
)
def test_a_query_outliving_its_bound_names_what_it_waited_for_and_the_setting(
    exc: BaseException,
) -> None:
    error = query_error(exc, CONNINFO, system="sync_db", what="the query for its facts", timeout=3)
    assert error.message == (
        "Sync database: database 'alfresco' on db.example.org:5432 as user 'alfresco' did not "
        "answer the query for its facts within 3 s (the bound set by sync_db.timeout)"
    )
    assert "waiting on a lock" in error.hint and "raise sync_db.timeout" in error.hint


def test_a_query_cancelled_for_another_reason_is_not_called_a_timeout() -> None:
    exc = psycopg.errors.QueryCanceled("canceling statement due to user request")
    error = query_error(exc, CONNINFO, system="sync_db", what="the query for its facts", timeout=3)
    assert "a query on database 'alfresco'" in error.message and "within" not in error.message


def test_link_bounds_come_from_the_timeout_unless_the_conninfo_sets_them() -> None:
    assert link_bounds({}, 5) == {
        "connect_timeout": "5",
        "keepalives": "1",
        "keepalives_idle": "5",
        "keepalives_interval": "2",
        "keepalives_count": "3",
    }
    chosen = link_bounds({"connect_timeout": "30", "keepalives": "0"}, 1.2)
    assert "connect_timeout" not in chosen and "keepalives" not in chosen
    assert chosen["keepalives_idle"] == "2"  # libpq's smallest connect timeout, 2 s
