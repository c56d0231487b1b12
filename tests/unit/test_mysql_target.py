"""A MySQL/MariaDB restore target without a server: grant patterns, the rights read from
information_schema rows and what is missing, the version warning (also in the backup's
preflight), the sessions and when free space is known."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from syncwizard.clients import mysql_target
from syncwizard.clients.mysql_conn import MySQLTarget
from syncwizard.clients.mysql_facts import DatabaseFacts, ServerFacts, TableFacts, parse_server
from syncwizard.clients.mysql_target import MySQLRights, grant_pattern_matches, rights_from
from syncwizard.runbook.backup import mysql_db
from syncwizard.runbook.backup.systems import BackupSystems

USER = "alfresco@10.0.0.5"
GRANTEE = "'alfresco'@'10.0.0.5'"


@pytest.mark.parametrize(
    ("pattern", "name", "matches"),
    [
        ("alfresco\\_\\_%", "alfresco__restore_20261206t120000z", True),
        ("alfresco\\_\\_%", "alfresco__before_r1", True),
        ("alfresco\\_\\_%", "alfresco", False),
        ("alfresco\\_\\_%", "alfrescoX_restore", False),  # `\_` is an underscore only
        ("alfresco__%", "alfrescoXYrestore", True),  # `_` unescaped: any character
        ("alf%", "alfresco__before_r1", True),
        ("%", "anything", True),
        ("alfresco", "alfresco", True),
        ("alfresco", "Alfresco", False),  # names are case sensitive on Linux
        ("alfresco", "alfresco__before_r1", False),
        ("a\\%b", "a%b", True),
        ("a\\%b", "axb", False),
        ("al.resco%", "alfresco__x", False),  # a regex character is itself
    ],
)
def test_a_grant_pattern_covers_the_names_the_server_would(
    pattern: str, name: str, matches: bool
) -> None:
    assert grant_pattern_matches(pattern, name) is matches


def test_the_restore_pattern_is_the_labs_and_covers_scratch_and_aside() -> None:
    from syncwizard.lab.mariadb import _grant_pattern

    assert mysql_target.restore_pattern("alf_db") == _grant_pattern("alf_db") == "alf\\_db\\_\\_%"
    assert grant_pattern_matches(mysql_target.restore_pattern("alf_db"), "alf_db__before_x")
    assert not grant_pattern_matches(mysql_target.restore_pattern("alf_db"), "alfXdb__before_x")


def grants(*triples: tuple[str, str, str]) -> list[tuple[str | None, ...]]:
    return [tuple(t) for t in triples]


ALL_DB = ("ALTER", "CREATE", "DROP", "INSERT", "SELECT")


def test_the_labs_grants_give_every_right() -> None:
    rows = grants(
        (GRANTEE, "*", "PROCESS"),
        *((GRANTEE, "alfresco", p) for p in ALL_DB),
        *((GRANTEE, "alfresco\\_\\_%", p) for p in ALL_DB),
        ("'other'@'%'", "*", "SUPER"),  # the admin sees everyone's: not ours
    )
    rights = rights_from(USER, None, rows, "alfresco")
    assert rights == MySQLRights(USER, True, True, True, True, database="alfresco")
    assert rights.problems("alfresco") == []


def test_global_rights_cover_every_database() -> None:
    rows = grants(*((GRANTEE, "*", p) for p in (*ALL_DB, "PROCESS")))
    assert rights_from(USER, None, rows, "alfresco").problems("alfresco") == []


def test_another_users_or_another_databases_grants_do_not_count() -> None:
    rows = grants(
        ("'other'@'%'", "*", "PROCESS"),
        *(("'other'@'%'", "%", p) for p in ALL_DB),
        *((GRANTEE, "alfresco", p) for p in ALL_DB),
        *((GRANTEE, "alfresco\\_\\_restore\\_%", p) for p in ALL_DB),  # not the aside one
    )
    rights = rights_from(USER, None, rows, "alfresco")
    assert (rights.can_create, rights.can_drop, rights.can_alter_live) == (False, False, True)
    assert not rights.can_see_sessions


def test_a_current_roles_grants_count() -> None:
    rows = grants(*(("'dba'", "*", p) for p in (*ALL_DB, "PROCESS")))
    assert rights_from(USER, "dba", rows, "alfresco").problems("alfresco") == []
    assert rights_from(USER, None, rows, "alfresco").problems("alfresco") != []


def test_a_user_without_rights_is_told_each_grant_to_run() -> None:
    rights = rights_from(USER, None, grants((GRANTEE, "alfresco", "SELECT")), "alfresco")
    problems = rights.problems("alfresco")
    assert problems == [
        "user 'alfresco@10.0.0.5' may not create the databases alfresco__restore_<run> and "
        "alfresco__before_<run> (a restore goes into a new scratch database first, the old "
        "tables are moved aside): as an admin, GRANT ALL PRIVILEGES ON `alfresco\\_\\_%`.* "
        "TO 'alfresco'@'10.0.0.5';",
        "user 'alfresco@10.0.0.5' may not drop the databases alfresco__restore_<run> and "
        "alfresco__before_<run> (a failed restore's scratch database, the emptied one after "
        "the swap): as an admin, GRANT ALL PRIVILEGES ON `alfresco\\_\\_%`.* TO "
        "'alfresco'@'10.0.0.5';",
        "user 'alfresco@10.0.0.5' may not move the tables of database 'alfresco' (the swap's "
        "RENAME TABLE needs ALTER, CREATE, DROP and INSERT there): as an admin, GRANT ALTER, "
        "CREATE, DROP, INSERT ON `alfresco`.* TO 'alfresco'@'10.0.0.5';",
        "user 'alfresco@10.0.0.5' cannot see other users' sessions on the database (the "
        "restore must know who still uses it): as an admin, GRANT PROCESS ON *.* TO "
        "'alfresco'@'10.0.0.5';",
    ]
    # No live database: nothing to move, the rest still needed.
    assert len(rights.problems(None)) == 3 and "move the tables" not in "".join(
        rights.problems(None)
    )


def test_a_live_name_needing_quotes_is_quoted_in_the_grants() -> None:
    rights = MySQLRights("o'neil@%", False, True, False, True, database="we`ird_db")
    first, moving = rights.problems("we`ird_db")
    assert first.endswith("GRANT ALL PRIVILEGES ON `we``ird\\_db\\_\\_%`.* TO 'o''neil'@'%';")
    assert moving.endswith("ON `we``ird_db`.* TO 'o''neil'@'%';")


@pytest.mark.parametrize(
    ("version", "comment", "warned"),
    [
        ("10.5.23-MariaDB-0+deb11u1", "Debian 11", True),
        ("10.4.32-MariaDB", "", True),
        ("10.6.0-MariaDB", "", False),
        ("10.11.19-MariaDB-0+deb12u1", "", False),
        ("11.4.2-MariaDB", "", False),
        ("5.7.44", "MySQL Community Server (GPL)", True),
        ("8.0.36", "MySQL Community Server - GPL", False),
        ("8.4.0", "MySQL Community Server - GPL", False),
    ],
)
def test_servers_older_than_alfresco_supports_are_warned_about(
    version: str, comment: str, warned: bool
) -> None:
    warning = mysql_target.version_warning(parse_server(version, comment))
    assert (warning is not None) is warned
    if warning:
        assert version.split("-")[0] in warning
        assert "Alfresco supports MariaDB 10.6 and later and MySQL 8.0 and later" in warning
        assert "RENAME TABLE is not crash-safe DDL" in warning


def test_the_warning_names_the_servers_product_and_its_floor() -> None:
    warning = mysql_target.version_warning(ServerFacts("5.7.44", "mysql", 5, 7))
    assert warning is not None and warning.startswith("the server is MySQL 5.7.44;")
    assert "Before MySQL 8.0, RENAME TABLE" in warning


def test_sessions_never_carry_the_statement_text() -> None:
    rows: list[tuple[str | None, ...]] = [
        ("W", "12", "alfresco", "10.0.0.7:51234", "Query", "User  sleep\n"),
        ("A", "alfresco__before_x", "10", None, None, None),
        ("W", "13", "app", "", "Sleep", None),
    ]
    sessions = mysql_target.parse_sessions(rows)
    assert [(s.pid, s.user, s.client, s.application, s.state) for s in sessions] == [
        (12, "alfresco", "10.0.0.7:51234", "Query", "User sleep"),
        (13, "app", "", "Sleep", ""),
    ]
    assert "INFO" not in mysql_target._sessions_sql("alfresco")


def test_free_space_only_of_this_machines_server(tmp_path: Path) -> None:
    here = socket.gethostname()
    stats = os.statvfs(tmp_path)
    tcp = MySQLTarget(database="a", user="u", host="127.0.0.1", port=3307)
    free = mysql_target.free_bytes_of(tcp, str(tmp_path), "3307", here)
    assert free is not None and abs(free - stats.f_bavail * stats.f_frsize) < 2**30
    over_socket = MySQLTarget(database="a", user="u", socket=tmp_path / "s.sock")
    assert mysql_target.free_bytes_of(over_socket, str(tmp_path), "3306", here) is not None
    remote = MySQLTarget(database="a", user="u", host="db.example.org", port=3307)
    assert mysql_target.free_bytes_of(remote, str(tmp_path), "3307", here) is None
    # a container behind a forwarded port: another port, another host name
    assert mysql_target.free_bytes_of(tcp, str(tmp_path), "3306", here) is None
    assert mysql_target.free_bytes_of(tcp, str(tmp_path), "3307", "f00dcafe1234") is None
    assert mysql_target.free_bytes_of(tcp, str(tmp_path / "gone"), "3307", here) is None
    assert mysql_target.free_bytes_of(tcp, None, "3307", here) is None


# --- the backup's preflight -----------------------------------------------------------------


async def test_the_backup_probe_warns_of_an_old_server(monkeypatch: pytest.MonkeyPatch) -> None:
    async def old_server(target: MySQLTarget) -> ServerFacts:
        return parse_server("10.5.23-MariaDB-0+deb11u1")

    async def facts(target: MySQLTarget, database: str | None = None) -> DatabaseFacts:
        table = TableFacts("alf_node", "InnoDB", 10, 16384)
        return DatabaseFacts("alfresco", True, "utf8mb4", "utf8mb4_bin", (table,), (), (), ())

    probe_of_mysql_db = mysql_db.probe
    monkeypatch.setattr(mysql_db, "server_facts", old_server)
    monkeypatch.setattr(mysql_db, "database_facts", facts)
    target = MySQLTarget(database="alfresco", user="alfresco", system="repository_db")
    found = await mysql_db.probe(target)
    (warning,) = found["warnings"]
    assert warning.startswith(
        "repository database (database 'alfresco' as 'alfresco' on 127.0.0.1:3306): "
        "the server is MariaDB 10.5.23;"
    )
    # ... and the backup's systems hand it to preflight, which adds it to its warnings
    systems: Any = object.__new__(BackupSystems)
    systems.profile = SimpleNamespace(repository_db=SimpleNamespace(engine=mysql_db.ENGINE))

    async def probe(target: MySQLTarget) -> dict[str, Any]:
        return found

    monkeypatch.setattr(mysql_db, "probe", probe)
    monkeypatch.setattr("syncwizard.systems.mysql_target", lambda profile, role: target)
    result = await BackupSystems.probe_database(systems, "repository_db")
    assert result.warnings == (warning,)

    async def new_server(target: MySQLTarget) -> ServerFacts:
        return parse_server("10.11.19-MariaDB-0+deb12u1")

    monkeypatch.setattr(mysql_db, "server_facts", new_server)
    assert (await probe_of_mysql_db(target))["warnings"] == ()
