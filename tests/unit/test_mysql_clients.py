"""The MySQL/MariaDB clients without a server: argv (never a password), the option file,
parsing the client's answers and counting a dump's rows."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from syncwizard.clients import mysql_conn, mysql_dump, mysql_facts, mysql_swap
from syncwizard.clients.mysql_conn import MySQLTarget
from syncwizard.clients.mysql_restore import MySQLRestorePlan, mismatches
from syncwizard.clients.mysql_rows import RowCounter
from syncwizard.errors import SyncWizardError
from syncwizard.lab import stack
from syncwizard.lab.layout import LabLayout, LabPorts, read_settings, write_settings

PASSWORD = 'p#ss "w\\rd" x'


@pytest.fixture
def target(tmp_path: Path) -> MySQLTarget:
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD + "\n")
    secret.chmod(0o600)  # a password file readable by others is refused
    return MySQLTarget(database="alfresco", user="alfresco", port=3307, password_file=secret)


def test_the_password_is_in_the_option_file_only_and_the_file_is_removed(
    target: MySQLTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mysql_conn, "tool_path", lambda kind: Path("/usr/bin/" + kind[0]))
    monkeypatch.setattr(mysql_dump, "tool_path", lambda kind: Path("/usr/bin/" + kind[0]))
    with mysql_conn.option_file(target) as options:
        assert options.stat().st_mode & 0o777 == 0o600
        assert options.parent.stat().st_mode & 0o777 == 0o700
        text = options.read_text()
        argvs = [mysql_conn.client_argv(target, options), mysql_dump.dump_argv(target, options)]
    assert not options.exists() and not options.parent.exists()
    assert text == '[client]\npassword="p#ss \\"w\\\\rd\\" x"\n'
    for argv in argvs:
        assert argv[1] == f"--defaults-extra-file={options}"  # it must come first
        assert not any("p#ss" in arg or "password" in arg.lower() for arg in argv)
        assert "--user=alfresco" in argv and "--port=3307" in argv
    dump = argvs[1]
    assert "--single-transaction" in dump and dump[-1] == "alfresco"


def test_a_password_with_a_line_break_is_refused() -> None:
    with pytest.raises(SyncWizardError, match="line break"):
        mysql_conn.option_value("a\nb")


def test_quoting() -> None:
    assert mysql_conn.ident("we`ird") == "`we``ird`"
    assert mysql_conn.literal("it's") == "'it''s'"
    assert mysql_conn.literal("a\\b") == "CONVERT(X'615c62' USING utf8mb4)"


def test_batch_output_is_unescaped_and_null_is_none() -> None:
    rows = mysql_conn.parse_batch("a\\tb\tNULL\t\\\\n\nx\\ny\t1\t2\n")
    assert rows == [("a\tb", None, "\\n"), ("x\ny", "1", "2")]


def test_errors_name_the_target_and_hint_at_the_cause(target: MySQLTarget) -> None:
    stderr = "ERROR 1045 (28000): Access denied for user 'alfresco'@'localhost'\n"
    error = mysql_conn.tool_error("a query", target, stderr, 1)
    assert "database 'alfresco' as 'alfresco' on 127.0.0.1:3307" in error.message
    assert "Access denied" in error.message and "password file" in error.hint
    assert mysql_conn.error_code("ERROR 2003 (HY000) at line 1: Can't connect") == 2003


def test_a_dump_tools_bare_errno_is_said_in_words() -> None:
    assert mysql_dump.with_strerror("mariadb-dump: Got errno 28 on write") == (
        "mariadb-dump: Got errno 28 on write (No space left on device)"
    )
    said = 'mysqldump: Error writing file (Errcode: 28 "No space left on device")'
    assert mysql_dump.with_strerror(said) == said  # said already
    assert mysql_dump.with_strerror("-- Retrieving rows...") == "-- Retrieving rows..."


@pytest.mark.parametrize(
    ("version", "comment", "flavour", "major"),
    [
        ("10.11.19-MariaDB-0+deb12u1", "Debian 12", "mariadb", 10),
        ("8.0.36", "MySQL Community Server - GPL", "mysql", 8),
        ("5.5.5-10.6.16-MariaDB", "", "mariadb", 10),
    ],
)
def test_server_flavour(version: str, comment: str, flavour: str, major: int) -> None:
    facts = mysql_facts.parse_server(version, comment)
    assert (facts.flavour, facts.major) == (flavour, major)


def test_database_facts_parse() -> None:
    rows: list[tuple[str | None, ...]] = [
        ("S", "utf8mb4", "utf8mb4_bin", ""),
        ("T", "alf_node", "InnoDB", "2016 589824"),
        ("T", "t2", "InnoDB", "0 16384"),
        ("G", "trg", "", ""),
    ]
    facts = mysql_facts.parse_database("alfresco", rows)
    assert facts.exists and facts.collation == "utf8mb4_bin"
    assert facts.table_names == ("alf_node", "t2")
    assert (facts.rows_estimate, facts.size_bytes) == (2016, 606208)
    assert facts.triggers == ("trg",)
    assert not mysql_facts.parse_database("x", []).exists


def feed_in_pieces(text: bytes, size: int) -> RowCounter:
    counter = RowCounter()
    for i in range(0, len(text), size):
        counter.feed(text[i : i + size])
    counter.finish()
    return counter


MARIADB_1011 = b"""\
CREATE TABLE `parent` (
  `id` int(11) NOT NULL
);
INSERT INTO `parent` VALUES
(1,'one'),
(2,'two (2), with \\'quotes\\'; and ;'),
(3,'three\\\\');
CREATE TABLE `empty one` (
  `id` int(11)
);
INSERT INTO `child` VALUES
(1,1,'a),(b'),
(2,2,NULL);
-- Dump completed on 2026-12-06 12:01:06
"""
MYSQLDUMP = b"""\
CREATE TABLE `we``ird` (`id` int);
INSERT INTO `we``ird` VALUES (1,'x'),(2,'(y),(z)'),(3,0x2829);
INSERT INTO `we``ird` VALUES (4,'it''s');
"""


@pytest.mark.parametrize("size", [1, 7, 64, 1 << 20])
def test_rows_are_counted_in_either_dump_format_whatever_the_chunks(size: int) -> None:
    counter = feed_in_pieces(MARIADB_1011, size)
    assert counter.counts == {"parent": 3, "empty one": 0, "child": 2}
    assert counter.completed and counter.bytes == len(MARIADB_1011)
    counter = feed_in_pieces(MYSQLDUMP, size)
    assert counter.counts == {"we`ird": 4}
    assert not counter.completed  # a cut dump has no closing line


def test_mismatches_name_each_table() -> None:
    assert mismatches({"a": 1, "b": 2, "c": 0}, {"a": 1, "b": 3}) == [
        "b has 3 rows, the dump 2",
        "c is missing (the dump has 0 rows)",
    ]


def test_one_rename_statement_moves_every_table(target: MySQLTarget) -> None:
    plan = MySQLRestorePlan.for_run(target, Path("d.sql"), {"a": 1}, "restore-20261206T1Z")
    assert (plan.scratch, plan.aside) == (
        "alfresco__restore_20261206t1z",
        "alfresco__before_20261206t1z",
    )
    statement = mysql_swap.rename_statement(
        "alfresco", ("a", "old"), plan.scratch, ("a",), plan.aside, mysql_swap.marker(plan)
    )
    assert statement == (
        "RENAME TABLE /* syncwizard swap alfresco__restore_20261206t1z */ "
        "`alfresco`.`a` TO `alfresco__before_20261206t1z`.`a`, "
        "`alfresco`.`old` TO `alfresco__before_20261206t1z`.`old`, "
        "`alfresco__restore_20261206t1z`.`a` TO `alfresco`.`a`;"
    )
    drop_first = mysql_swap.rename_statement("l", ("x",), "s", ("x",), None, "m")
    assert drop_first == "RENAME TABLE /* m */ `s`.`x` TO `l`.`x`;"


def test_the_lab_keeps_its_database_choice(tmp_path: Path) -> None:
    layout = LabLayout(tmp_path, LabPorts())
    settings = stack.settings_for(layout, event2=False, db="mariadb")
    write_settings(layout, settings)
    assert read_settings(layout).db == "mariadb"
    data = json.loads(layout.settings_file.read_text())
    del data["db"], data["ports"]["mariadb"]  # lab.json of an older lab
    layout.settings_file.write_text(json.dumps(data))
    assert read_settings(layout).db == "postgres"
    assert read_settings(layout).ports.mariadb == 13306
    with pytest.raises(SyncWizardError, match="not a lab database"):
        stack.settings_for(layout, event2=False, db="oracle")


def test_lab_up_takes_db_mariadb() -> None:
    from syncwizard.cli import build_parser

    parser: argparse.ArgumentParser = build_parser()
    args = parser.parse_args(["lab", "up", "--db", "mariadb"])
    assert args.db == "mariadb"
    assert parser.parse_args(["lab", "up"]).db is None


def test_the_processlist_rows_become_the_status_screens_sessions() -> None:
    from syncwizard.clients.mysql_facts import parse_sessions
    from syncwizard.clients.results import Session

    rows: list[tuple[str | None, ...]] = [("12", "alfresco", "127.0.0.1:5555", "Sleep")]
    assert parse_sessions(rows) == (Session(12, "alfresco", "", "127.0.0.1:5555", "Sleep"),)
