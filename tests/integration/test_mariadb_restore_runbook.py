"""The restore runbook on the `lab-mariadb` profile: a backup of both MariaDB databases,
changes after it, events piling up on a stopped consumer, then the whole restore; and a
restore killed (kill -9) in the middle of its database work, run again. The live database
is always all old tables or all restored ones."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from mariadb_profile import mariadb_config, mariadb_profile, run_backup_on
from mariadb_support import counts, sql
from standin_support import admin_password, eventually, pending, plain_env, restore
from test_backup_support import (
    no_backup_left_running,  # noqa: F401 (an autouse fixture)
    the_set,
)
from test_restore_modes import restore_all
from test_restore_resume import DRIVER, RestoreRun, recorded

from syncwizard.clients.dbnames import aside_name
from syncwizard.clients.mysql_target import MySQLRestoreTarget
from syncwizard.config import broker_password
from syncwizard.lab import mariadb, stack, standin
from syncwizard.lab.generator import generate
from syncwizard.lab.layout import LabLayout
from syncwizard.runbook.restore.systems import RestoreSystems

pytestmark = pytest.mark.integration

LATE_NODE = "'0b0e0000-late-4000-8000-000000000001', 'cm:content', 'after-the-backup.txt'"


async def backed_up(lab: LabLayout, mariadb_lab: LabLayout, tmp_path: Path) -> Path:
    """A sealed set of the MariaDB databases, then a node written after it and events
    piling up on the stopped stand-in: the set."""
    await restore(lab)
    outcome = await run_backup_on(lab, mariadb_lab, tmp_path)
    assert outcome.status == "finished", outcome.error and outcome.error.render()
    await sql(
        mariadb_lab,
        f"INSERT INTO alfresco.alf_node (uuid, type_qname, name) VALUES ({LATE_NODE});",
    )
    standin.stop(lab)
    await generate(lab, rate=100, duration=2, seed=31)
    await eventually(lambda: pending(lab), "events pending on the stopped consumer's queue")
    return the_set(tmp_path / "backups")


async def databases(mariadb_lab: LabLayout, like: str) -> list[str]:
    rows = await sql(mariadb_lab, f"SHOW DATABASES LIKE '{like}';")
    return sorted(str(row[0]) for row in rows)


async def drop_kept_aside(mariadb_lab: LabLayout) -> None:
    for name in await databases(mariadb_lab, "%\\_\\_before\\_%"):
        await sql(mariadb_lab, f"DROP DATABASE `{name}`;")


async def test_a_whole_restore_on_mariadb_puts_the_sets_rows_back_and_keeps_the_old_aside(
    lab: LabLayout, mariadb_lab: LabLayout, tmp_path: Path
) -> None:
    set_dir = await backed_up(lab, mariadb_lab, tmp_path)
    manifest = json.loads((set_dir / "manifest.json").read_text())
    dumps = {dump["path"]: dump for dump in manifest["dumps"]}
    before = await counts(mariadb_lab, "alfresco")
    assert before["alf_node"] == dumps["repository_db.sql"]["row_counts"]["alf_node"] + 1
    pending_before = await pending(lab)

    profile = mariadb_profile(lab, mariadb_lab, tmp_path)
    run, gates = await restore_all(profile, set_dir, lab)
    engine = run["engine"]

    # the preflight saw MariaDB, its room and its sessions
    found = engine.results["preflight"]["databases"]["repository_db"]
    assert found["engine"] == "mariadb" and found["size_bytes"] > 0
    assert engine.results["preflight"]["room"]["repository_db"]["free_bytes"] > 0
    # the queue went into the archive, as on PostgreSQL
    cleared = engine.results["clear_events"]
    assert cleared["archived"] == cleared["removed"] >= pending_before
    # both live databases hold exactly the set's rows; the old tables wait aside
    for name, database in (("repository_db.sql", "alfresco"), ("sync_db.sql", "syncservice")):
        assert await counts(mariadb_lab, database) == dumps[name]["row_counts"], name
    aside = engine.results["swap_repository"]["aside"]
    assert aside == aside_name("alfresco", engine.run_id)
    assert await counts(mariadb_lab, aside) == before
    assert await databases(mariadb_lab, "%\\_\\_restore\\_%") == []
    assert engine.results["restore_repository"]["tables"] == len(before)
    # the gates: the stop, the clear, each swap (by its database), the stores, the recover
    tokens = [gate.token for gate in gates]
    assert tokens == [
        "stop",
        manifest["sync_id"][:8],
        "alfresco",
        "syncservice",
        "restored",
        "recover",
    ]
    swap_gate = dict(gates[2].facts)
    assert swap_gate["Moved to"].startswith(aside)
    assert "verified" in swap_gate["Replaced by"]
    assert engine.results["start_recover"]["consumers"] >= 1
    # the report tells it; no password is in the run folder
    report = Path(engine.results["report"]["report"]).read_text()
    assert aside in report
    for user in ("alfresco", "sync"):
        password = mariadb.password_file(mariadb_lab, user).read_text().strip()
        for path in Path(engine.journal.run_dir).rglob("*"):
            if path.is_file():
                assert password not in path.read_text(errors="replace"), path
    await drop_kept_aside(mariadb_lab)
    await restore(lab)


CUES = {
    "mid repository restore": recorded("restore_repository", "child"),
    "mid repository swap": recorded("swap_repository", "swapping"),
    "mid Sync DB restore": recorded("restore_sync", "child"),
}


@pytest.mark.parametrize("cue", list(CUES))
async def test_a_restore_on_mariadb_killed_9_mid_database_work_resumes_to_the_sets_rows(
    lab: LabLayout, mariadb_lab: LabLayout, tmp_path: Path, cue: str
) -> None:
    set_dir = await backed_up(lab, mariadb_lab, tmp_path)
    manifest = json.loads((set_dir / "manifest.json").read_text())
    dumps = {dump["path"]: dump for dump in manifest["dumps"]}
    old = await counts(mariadb_lab, "alfresco")
    env = {
        **plain_env(),
        "SYNCWIZARD_CONFIG": str(mariadb_config(lab, mariadb_lab, tmp_path / "config.toml")),
        "SYNCWIZARD_PROFILE": stack.MARIADB_PROFILE_NAME,
        "SYNCWIZARD_BACKUP__DIR": str(tmp_path / "backups"),
        "SYNCWIZARD_TEST_RECOVER_PASSWORD": admin_password(lab),
        "PYTHONPATH": str(DRIVER.parent),
    }
    child = RestoreRun(env, set_dir)
    child.until(CUES[cue], timeout=180)
    child.kill9()
    # whatever the kill hit, the live database is all old tables or all restored ones
    assert await counts(mariadb_lab, "alfresco") in (
        old,
        dumps["repository_db.sql"]["row_counts"],
    )
    last = RestoreRun(env, set_dir)
    code, stderr = last.finish(timeout=240)
    assert code == 0, stderr
    assert any(e["kind"] == "run_resumed" for e in last.events)
    for name, database in (("repository_db.sql", "alfresco"), ("sync_db.sql", "syncservice")):
        assert await counts(mariadb_lab, database) == dumps[name]["row_counts"], name
    assert await databases(mariadb_lab, "%\\_\\_restore\\_%") == []
    await drop_kept_aside(mariadb_lab)
    await restore(lab)


class FullServer(RestoreSystems):
    """The lab's MariaDB as a server whose data disk has one byte free (read for real
    otherwise): no room for a restored copy beside the live database."""

    async def mysql_restore_target(self, role: str) -> MySQLRestoreTarget:
        return replace(await super().mysql_restore_target(role), free_bytes=1)


async def test_without_room_on_mariadb_the_live_tables_go_first_behind_their_gate(
    lab: LabLayout, mariadb_lab: LabLayout, tmp_path: Path
) -> None:
    set_dir = await backed_up(lab, mariadb_lab, tmp_path)
    manifest = json.loads((set_dir / "manifest.json").read_text())
    dumps = {dump["path"]: dump for dump in manifest["dumps"]}
    profile = mariadb_profile(lab, mariadb_lab, tmp_path)
    full = FullServer(profile, broker_password(profile.broker))
    run, gates = await restore_all(profile, set_dir, lab, systems=full)
    engine = run["engine"]
    assert engine.results["preflight"]["room"]["repository_db"]["mode"] == "drop_first"
    titles = [gate.title for gate in gates]
    assert "Drop alfresco BEFORE restoring it?" in titles
    for name, database in (("repository_db.sql", "alfresco"), ("sync_db.sql", "syncservice")):
        assert await counts(mariadb_lab, database) == dumps[name]["row_counts"], name
    assert engine.results["swap_repository"]["aside"] is None
    assert await databases(mariadb_lab, "alfresco\\_\\_%") == []  # no copy, no scratch left
    await drop_kept_aside(mariadb_lab)
    await restore(lab)
