"""The MySQL/MariaDB restore plan's pure parts: what it says it does, what the swap's gate
shows, and a set refused on the wrong engine before anything is written."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path

import pytest

from syncwizard.clients.mysql_conn import MySQLTarget
from syncwizard.clients.mysql_facts import DatabaseFacts, ServerFacts, TableFacts
from syncwizard.clients.mysql_target import MySQLRestoreTarget, MySQLRights
from syncwizard.clients.results import Session
from syncwizard.config import Profile, load_settings
from syncwizard.config_file import write_profile
from syncwizard.errors import SyncWizardError
from syncwizard.runbook import backupset
from syncwizard.runbook.restore.mysql_database import (
    MySQLPlan,
    MySQLSwapLook,
    gate_facts,
    preflight_facts,
    server_key,
)
from syncwizard.runbook.restore.runbook import refuse_engine_mismatch
from syncwizard.runbook.restore.sets import list_sets, resolve_set

RUN_ID = "restore-20261126T043200Z"
DUMP = {
    "path": "repository_db.sql",
    "roles": ["repository_db"],
    "format": "sql",
    "row_counts": {"alf_node": 2000, "alf_node_properties": 6000},
}
TARGET = MySQLTarget(database="alfresco", user="alfresco", host="db.example", port=3306)


def plan(mode: str = "side_by_side") -> MySQLPlan:
    return MySQLPlan.for_dump(
        role="repository_db",
        target=TARGET,
        set_dir=Path("/backups/backup-20261125T010000Z"),
        dump=DUMP,
        run_id=RUN_ID,
        mode=mode,  # type: ignore[arg-type]
        restore_step="restore_repository",
        swap_step="swap_repository",
    )


def facts(name: str, *tables: tuple[str, int]) -> DatabaseFacts:
    return DatabaseFacts(
        name=name,
        exists=bool(tables),
        charset="utf8mb4",
        collation="utf8mb4_bin",
        tables=tuple(TableFacts(t, "InnoDB", 0, size) for t, size in tables),
        views=(),
        triggers=(),
        routines=(),
    )


def test_the_plan_names_the_scratch_and_aside_databases_of_the_run() -> None:
    made = plan()
    assert made.scratch == "alfresco__restore_20261126t043200z"
    assert made.aside == "alfresco__before_20261126t043200z"
    assert made.total_rows == 8000 and made.archive_names == "repository_db.sql"
    assert made.inner.dump == Path("/backups/backup-20261125T010000Z/repository_db.sql")


def test_the_side_by_side_plan_says_the_live_database_waits_for_one_rename_statement() -> None:
    text = plan().describe()
    assert "into a new database 'alfresco__restore_20261126t043200z' on db.example:3306" in text
    assert "2 tables hold the manifest's 8,000 rows" in text
    assert "'alfresco' is not touched until then" in text
    assert "in one RENAME TABLE statement move its tables into " in text
    assert "'alfresco__before_20261126t043200z'" in text


def test_the_drop_first_plan_says_no_copy_is_kept() -> None:
    text = plan("drop_first").describe()
    assert text.startswith("DROP every table of 'alfresco' first (no copy is kept")
    assert plan("drop_first").describe_swap() == (
        "move the verified tables of 'alfresco__restore_20261126t043200z' into 'alfresco'"
    )


def test_the_swap_gate_shows_the_live_tables_who_is_connected_and_the_verified_copy() -> None:
    look = MySQLSwapLook(
        live=facts("alfresco", ("alf_node", 3 << 20), ("alf_node_properties", 5 << 20)),
        sessions=[Session(41, "alfresco", "", "10.0.0.7:51200", "Sleep")],
        scratch=facts("alfresco__restore_20261126t043200z", ("alf_node", 1 << 20)),
    )
    rows = dict(gate_facts(plan(), look))
    assert rows["Database"] == "alfresco on db.example:3306"
    assert rows["Its size"] == "8.4 MB in 2 tables"
    assert rows["Connected"] == ("1 session: alfresco (10.0.0.7:51200, Sleep) (ended at the swap)")
    assert rows["Moved to"].startswith("alfresco__before_20261126t043200z")
    assert rows["Replaced by"].endswith("8,000 rows in 2 tables, verified)")


def test_a_server_on_this_machine_is_one_key_however_it_is_reached() -> None:
    assert server_key(MySQLTarget("a", "u", host="127.0.0.1", port=3306)) == "localhost:3306"
    assert server_key(MySQLTarget("a", "u", host="localhost", port=3306)) == "localhost:3306"
    assert server_key(MySQLTarget("a", "u", host="db.example", port=3307)) == "db.example:3307"


def _profile(tmp_path: Path, repository: str, sync: str) -> Profile:
    path = tmp_path / "config.toml"
    write_profile(
        path,
        "site",
        {
            "repository_db": {"conninfo": repository},
            "sync_db": {"conninfo": sync},
            "health": {"url": "http://localhost:9090/alfresco/healthcheck"},
            "broker": {"jolokia_url": "http://localhost:8161/api/jolokia"},
        },
    )
    return load_settings(path, "site", environ={}).profile


def test_a_mariadb_set_onto_a_postgresql_profile_is_refused_naming_both(tmp_path: Path) -> None:
    profile = _profile(tmp_path, "host=db dbname=alfresco user=alfresco", "mysql://s@db/sync")
    manifest = {
        "dumps": [
            {"path": "repository_db.sql", "roles": ["repository_db"], "format": "sql"},
            {"path": "sync_db.sql", "roles": ["sync_db"], "format": "sql"},
        ]
    }
    with pytest.raises(SyncWizardError) as refused:
        refuse_engine_mismatch(profile, tmp_path / "set", manifest)
    message = refused.value.message
    assert (
        "repository_db.sql is a MySQL/MariaDB dump, and profile 'site' has repository_db on "
        "PostgreSQL" in message
    )
    assert "sync_db.sql" not in message
    assert message.endswith("nothing was done")


def test_a_postgresql_archive_onto_a_mariadb_profile_is_refused(tmp_path: Path) -> None:
    profile = _profile(tmp_path, "mariadb://a@db/alfresco", "mysql://s@db/sync")
    manifest = {"dumps": [{"path": "sync_db.dump", "roles": ["sync_db"], "format": "custom"}]}
    with pytest.raises(SyncWizardError) as refused:
        refuse_engine_mismatch(profile, tmp_path / "set", manifest)
    assert (
        "sync_db.dump is a PostgreSQL archive, and profile 'site' has sync_db on MySQL/MariaDB"
        in refused.value.message
    )


def test_a_set_of_the_profiles_own_engines_is_not_refused(tmp_path: Path) -> None:
    profile = _profile(tmp_path, "mariadb://a@db/alfresco", "host=db dbname=sync user=s")
    manifest = {
        "dumps": [
            {"path": "repository_db.sql", "roles": ["repository_db"], "format": "sql"},
            {"path": "sync_db.dump", "roles": ["sync_db"], "format": "custom"},
        ]
    }
    refuse_engine_mismatch(profile, tmp_path / "set", manifest)


def test_the_chooser_greys_a_set_of_another_engine_and_the_newest_usable_is_this_ones(
    tmp_path: Path,
) -> None:
    profile = _profile(tmp_path, "mariadb://a@db/alfresco", "mysql://s@db/sync")
    backups = tmp_path / "backups"
    for name, day, fmt, suffix in (
        ("backup-newer", "2026-12-06", "custom", ".dump"),
        ("backup-older", "2026-12-05", "sql", ".sql"),
    ):
        folder = backups / name
        folder.mkdir(parents=True)
        t0, sealed = f"{day}T10:00:00.000Z", f"{day}T10:05:00.000Z"
        dumps = [
            {"path": f"{role}{suffix}", "roles": [role], "format": fmt, "snapshot_at_iso": at}
            for role, at in (("repository_db", t0), ("sync_db", sealed))
        ]
        manifest = {
            "format": backupset.MANIFEST_FORMAT,
            "version": 1,
            "run_id": name,
            "created_at": sealed,
            "t0": {"at": t0},
            "dumps": dumps,
        }
        (folder / "manifest.json").write_text(json.dumps(manifest))
    listed = asyncio.run(list_sets(backups, profile))
    assert [s.run_id for s in listed] == ["backup-newer", "backup-older"]
    assert listed[0].problem.startswith(
        "PostgreSQL dumps, not this profile's: repository_db.dump is a PostgreSQL archive, "
        "and profile 'site' has repository_db on MySQL/MariaDB"
    )
    assert listed[1].choosable
    assert resolve_set(backups, None, profile) == backups / "backup-older"
    assert resolve_set(backups, None) == backups / "backup-newer"  # no profile: any engine


def restore_target(
    live: DatabaseFacts, rights: MySQLRights | None = None, **changes: object
) -> MySQLRestoreTarget:
    found = MySQLRestoreTarget(
        server=ServerFacts("10.11.19-MariaDB", "mariadb", 10, 11),
        facts=live,
        sessions=[],
        rights=rights or MySQLRights("alfresco@%", True, True, True, True, "alfresco"),
        free_bytes=10 << 30,
        kept_aside=[("alfresco__before_20261101t010000z", 5 << 20)],
        version_warning=None,
    )
    return replace(found, **changes)  # type: ignore[arg-type]


def test_the_preflight_reads_the_database_and_its_servers_need() -> None:
    warnings: list[str] = []
    live = facts("alfresco", ("alf_node", 3 << 20), ("alf_node_properties", 5 << 20))
    found, need = preflight_facts("repository_db", restore_target(live), TARGET, 10 << 20, warnings)
    assert found["engine"] == "mariadb" and found["size_bytes"] == 8 << 20
    assert need.server == "db.example:3306" and need.copy_bytes == 12 << 20
    assert need.live_bytes == 8 << 20 and need.free_bytes == 10 << 30 and need.wal_bytes == 0
    assert need.kept_aside == (("alfresco__before_20261101t010000z", 5 << 20),)
    assert warnings == []


def test_the_preflight_refuses_a_missing_database_naming_how_to_create_it() -> None:
    with pytest.raises(SyncWizardError) as refused:
        preflight_facts("repository_db", restore_target(facts("alfresco")), TARGET, 0, [])
    assert "there is no database 'alfresco'" in refused.value.message
    assert "CREATE DATABASE `alfresco` CHARACTER SET utf8mb4" in (refused.value.hint or "")


def test_the_preflight_refuses_missing_rights_with_the_grants_to_run() -> None:
    rights = MySQLRights("alfresco@%", False, True, True, False, "alfresco")
    live = facts("alfresco", ("alf_node", 1))
    with pytest.raises(SyncWizardError) as refused:
        preflight_facts("repository_db", restore_target(live, rights), TARGET, 0, [])
    assert "may not create the databases" in refused.value.message
    assert "cannot see other users' sessions" in refused.value.message
    hint = refused.value.hint or ""
    assert "GRANT ALL PRIVILEGES ON `alfresco\\_\\_%`.* TO" in hint
    assert "GRANT PROCESS ON *.* TO" in hint


def test_the_preflight_refuses_views_and_passes_on_an_old_servers_warning() -> None:
    live = replace(facts("alfresco", ("alf_node", 1)), views=("alf_view",))
    with pytest.raises(SyncWizardError) as refused:
        preflight_facts("repository_db", restore_target(live), TARGET, 0, [])
    assert "alf_view" in refused.value.message and "RENAME TABLE" in refused.value.message
    warnings: list[str] = []
    old = restore_target(facts("alfresco", ("alf_node", 1)), version_warning="too old")
    preflight_facts("repository_db", old, TARGET, 0, warnings)
    assert warnings == ["repository database: too old"]


def test_a_binary_log_is_counted_in_the_room_and_said() -> None:
    warnings: list[str] = []
    live = facts("alfresco", ("alf_node", 3 << 20))
    found = restore_target(live, binary_log=True)
    _, need = preflight_facts("repository_db", found, TARGET, 10 << 20, warnings)
    assert need.wal_bytes == 10 << 20
    assert warnings == [
        "repository database: the server writes a binary log: the restore adds about 10.5 MB "
        "to it (counted in the room it needs), and replicas replay the restore too"
    ]
