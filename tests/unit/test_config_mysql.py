"""A profile's databases on MySQL/MariaDB: the mysql:// form, its password keys, the
errors of bad input, the template, the lab-mariadb profile, and the client's password."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from syncwizard import systems
from syncwizard.clients.mysql_conn import MySQLTarget, read_password
from syncwizard.clients.mysql_dump import kill_orphan
from syncwizard.config import load_settings
from syncwizard.config_file import TEMPLATE, write_profile
from syncwizard.errors import SyncWizardError
from syncwizard.lab import stack
from syncwizard.lab.layout import TEST_PORTS, LabLayout
from syncwizard.runbook import backupset

HEAD = """
[profiles.p.health]
url = "https://sync:9090/alfresco/healthcheck"
[profiles.p.broker]
jolokia_url = "http://mq:8161/api/jolokia"
[profiles.p.sync_db]
conninfo = "host=db dbname=syncservice user=sync"
[profiles.p.repository_db]
"""


def write(tmp_path: Path, repository_db: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(HEAD + repository_db)
    return path


def error_of(tmp_path: Path, repository_db: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(SyncWizardError) as caught:
        load_settings(write(tmp_path, repository_db), "p", env or {})
    assert caught.value.system == "config"
    assert caught.value.hint, "every config error says what to do"
    return f"{caught.value.message} | {caught.value.hint}"


def test_a_mysql_url_chooses_the_mysql_engine_and_its_parts(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    secret.chmod(0o600)
    profile = load_settings(
        write(
            tmp_path,
            'conninfo = "mariadb://alfresco@db.example.org:3307/alfresco"\n'
            f'password_file = "{secret}"\ntimeout = 7\n',
        ),
        "p",
        {},
    ).profile
    assert profile.repository_db.engine == "mysql"
    assert profile.sync_db.engine == "postgresql"
    target = systems.mysql_target(profile, "repository_db")
    assert (target.user, target.host, target.port, target.database) == (
        "alfresco",
        "db.example.org",
        3307,
        "alfresco",
    )
    assert target.password_file == secret and target.timeout == 7.0
    assert target.system == "repository_db"
    assert read_password(target) == "s3cret"


def test_the_port_defaults_to_3306_and_a_socket_may_replace_the_host(tmp_path: Path) -> None:
    profile = load_settings(
        write(
            tmp_path,
            'conninfo = "mysql://alfresco@/alfresco?socket=/run/mysqld/mysqld.sock"\n'
            'password_env = "REPO_DB_PASSWORD"\n',
        ),
        "p",
        {},
    ).profile
    target = systems.mysql_target(profile, "repository_db")
    assert target.port == 3306
    assert target.socket == Path("/run/mysqld/mysqld.sock")
    assert target.password_env == "REPO_DB_PASSWORD"


def test_a_password_in_the_mysql_url_is_refused_without_echoing_it(tmp_path: Path) -> None:
    said = error_of(tmp_path, 'conninfo = "mysql://alfresco:hunter2@db/alfresco"\n')
    assert "hunter2" not in said
    assert "profiles.p.repository_db.conninfo has a password" in said
    assert "password_env" in said and "password_file" in said


@pytest.mark.parametrize(
    ("conninfo", "expected"),
    [
        ("mysql://db/alfresco", "names no user"),
        ("mysql://alfresco@db", "names no database"),
        ("mysql://alfresco@db/", "names no database"),
        ("mysql://alfresco@db:port/alfresco", "is not a URL of the form"),
        ("mysql://alfresco@db/alfresco?ssl=1", "the option ssl"),
        ("mysql://alfresco@/alfresco", "names no host"),
    ],
)
def test_a_bad_mysql_url_names_the_key_what_was_expected_and_the_fix(
    tmp_path: Path, conninfo: str, expected: str
) -> None:
    said = error_of(tmp_path, f'conninfo = "{conninfo}"\n')
    assert said.startswith(f"profiles.p.repository_db.conninfo = '{conninfo}'")
    assert expected in said


def test_libpqs_passfile_is_refused_for_a_mysql_database(tmp_path: Path) -> None:
    said = error_of(tmp_path, 'conninfo = "mysql://a@db/alfresco"\npassfile = "~/.pgpass"\n')
    assert "profiles.p.repository_db.passfile is a libpq (PostgreSQL) password file" in said
    assert "password_env" in said


@pytest.mark.parametrize("key", ["password_env", "password_file"])
def test_the_mysql_password_keys_are_refused_for_postgresql(tmp_path: Path, key: str) -> None:
    said = error_of(tmp_path, f'conninfo = "host=db dbname=alfresco"\n{key} = "X"\n')
    assert f"profiles.p.repository_db.{key} is for a MySQL/MariaDB database" in said
    assert "~/.pgpass" in said and "mysql://" in said


def test_a_password_file_readable_by_others_is_refused_naming_key_and_mode(
    tmp_path: Path,
) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    secret.chmod(0o644)
    said = error_of(tmp_path, f'conninfo = "mysql://a@db/alfresco"\npassword_file = "{secret}"\n')
    assert f"profiles.p.repository_db.password_file {secret} is readable by other users" in said
    assert "mode 644" in said and f"chmod 600 {secret}" in said
    # and by the client too, should it change after the profile was read
    with pytest.raises(SyncWizardError, match="readable by other users"):
        read_password(MySQLTarget("alfresco", "a", password_file=secret))


def test_the_password_comes_from_the_environment_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "pw"
    secret.write_text("from-file\n")
    secret.chmod(0o600)
    target = MySQLTarget("alfresco", "a", password_file=secret, password_env="SW_TEST_DB_PW")
    monkeypatch.delenv("SW_TEST_DB_PW", raising=False)
    assert read_password(target) == "from-file"
    monkeypatch.setenv("SW_TEST_DB_PW", "from-env")
    assert read_password(target) == "from-env"


def test_the_template_documents_the_mysql_form() -> None:
    assert 'conninfo = "mysql://sync@db.example.org:3306/syncservice"' in TEMPLATE
    assert "password_env" in TEMPLATE and "password_file" in TEMPLATE


def test_the_lab_mariadb_profile_points_both_databases_at_the_labs_mariadb(
    tmp_path: Path,
) -> None:
    layout = LabLayout(tmp_path / "lab", TEST_PORTS)
    config = tmp_path / "config.toml"
    stack.write_lab_profile(layout, config, "alfresco.sync.topic")
    stack.write_mariadb_profile(layout, config, "alfresco.sync.topic")
    lab = load_settings(config, "lab", {}).profile
    maria = load_settings(config, "lab-mariadb", {}).profile
    assert lab.repository_db.engine == lab.sync_db.engine == "postgresql"
    assert maria.repository_db.engine == maria.sync_db.engine == "mysql"
    assert maria.repository_db.mysql.port == TEST_PORTS.mariadb
    assert maria.sync_db.mysql.database == "syncservice"
    assert maria.broker == lab.broker and maria.health == lab.health
    assert maria.sync_service == lab.sync_service
    assert load_settings(config, None, {}).profile.name == "lab"  # still the default


def test_write_profile_keeps_the_other_profile(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    write_profile(config, "a", {"health": {"url": "https://x"}})
    write_profile(config, "b", {"health": {"url": "https://y"}}, make_default_if_new=False)
    text = config.read_text()
    assert "[profiles.a.health]" in text and "[profiles.b.health]" in text


# --- a MySQL/MariaDB dump in a set ----------------------------------------------------------

WHOLE = b"""-- MariaDB dump
CREATE TABLE `t` (
  `id` int
);
INSERT INTO `t` VALUES (1),(2),(3);
CREATE TABLE `empty` (
  `id` int
);
-- Dump completed on 2026-12-06 13:00:00
"""


def recorded(data: bytes) -> list[dict[str, object]]:
    return [{"path": "r.sql", "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}]


def test_a_sql_dump_is_checked_whole_and_with_its_recorded_rows(tmp_path: Path) -> None:
    (tmp_path / "r.sql").write_bytes(WHOLE)
    dump = {"path": "r.sql", "format": "sql", "row_counts": {"t": 3, "empty": 0}}
    assert asyncio.run(backupset.check_dump(tmp_path, dump, recorded(WHOLE))) == (2, [])
    wrong = {**dump, "row_counts": {"t": 4, "empty": 0}}
    _, problems = asyncio.run(backupset.check_dump(tmp_path, wrong, recorded(WHOLE)))
    assert problems == [
        "r.sql: the rows in the file are not those recorded: t (3 in the file, 4 recorded)"
    ]
    cut = WHOLE.split(b"-- Dump completed")[0]
    (tmp_path / "r.sql").write_bytes(cut)
    _, problems = asyncio.run(backupset.check_dump(tmp_path, dump, recorded(cut)))
    assert problems == ["r.sql: the dump has no closing `-- Dump completed` line: it is cut"]


def test_a_sql_dumps_size_and_sha256_are_checked_in_the_same_read(tmp_path: Path) -> None:
    (tmp_path / "r.sql").write_bytes(WHOLE.replace(b"(2)", b"(7)"))  # same size and rows
    dump = {"path": "r.sql", "format": "sql", "row_counts": {"t": 3, "empty": 0}}
    _, problems = asyncio.run(backupset.check_dump(tmp_path, dump, recorded(WHOLE)))
    assert problems == ["r.sql does not match its recorded sha256"]
    (tmp_path / "r.sql").write_bytes(WHOLE + b"\n")
    _, problems = asyncio.run(backupset.check_dump(tmp_path, dump, recorded(WHOLE)))
    assert problems == [f"r.sql is {len(WHOLE) + 1:,} bytes, {len(WHOLE):,} were recorded"]
    _, problems = asyncio.run(backupset.check_dump(tmp_path, dump, []))
    assert problems == ["r.sql has no recorded size and sha256 to be checked against"]


def test_no_process_but_that_databases_dump_tool_is_taken_for_an_orphan() -> None:
    import os

    assert kill_orphan(os.getpid(), "alfresco") is False  # pytest is no mariadb-dump
    assert kill_orphan(2**22 + 12345, "alfresco") is False  # no such process
