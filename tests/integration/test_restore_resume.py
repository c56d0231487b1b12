"""A restore killed (kill -9) at every step boundary, and in the middle of a database restore
and of a swap, then run again: it resumes, completes correctly, and the live database is
never half done: it is the old one or the whole verified new one."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from broker_fixture import BrokerLab, publish
from standin_support import admin_password, pending, plain_env, restore
from test_backup_support import (
    ChildRun,
    Event,
    no_backup_left_running,  # noqa: F401 (an autouse fixture)
)
from test_restore import take_backup

from syncwizard.lab import postgres, standin
from syncwizard.lab.generator import generate
from syncwizard.lab.layout import LabLayout, read_settings

pytestmark = pytest.mark.integration

DRIVER = Path(__file__).with_name("restore_driver.py")
STEPS = (
    "verify_set",
    "preflight",
    "stop_services",
    "check_quiet",
    "clear_events",
    "restore_repository",
    "swap_repository",
    "restore_sync",
    "swap_sync",
    "start_repository",
    "start_recover",
    "plain_restart",
    "report",
)


def finished(step: str) -> Callable[[Event], bool]:
    return lambda e: (
        e["kind"] == "state"
        and e.get("step") == step
        and e["state"]
        in (
            "done",
            "skipped",
        )
    )


def recorded(step: str, name: str) -> Callable[[Event], bool]:
    return lambda e: e["kind"] == "record" and e.get("step") == step and e["message"] == name


class RestoreRun(ChildRun):
    def __init__(self, env: dict[str, str], set_dir: Path) -> None:
        super().__init__([sys.executable, str(DRIVER), str(set_dir)], env)


def driver_env(lab: LabLayout, lab_config: Path) -> dict[str, str]:
    return {
        **plain_env(),
        "SYNCWIZARD_CONFIG": str(lab_config),
        "SYNCWIZARD_PROFILE": "lab",
        "SYNCWIZARD_TEST_RECOVER_PASSWORD": admin_password(lab),
        "PYTHONPATH": str(DRIVER.parent),
    }


def node_count(lab: LabLayout) -> int:
    with psycopg.connect(postgres.superuser_conninfo(lab, "alfresco")) as conn:
        return int(conn.execute("SELECT count(*) FROM alf_node").fetchone()[0])  # type: ignore[index]


def leftover_databases(lab: LabLayout) -> list[str]:
    with psycopg.connect(postgres.superuser_conninfo(lab)) as conn:
        return [
            row[0]
            for row in conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE '%%\\_\\_restore\\_%%'"
            )
        ]


async def prepared(lab: LabLayout, lab_config: Path, tmp_path: Path) -> tuple[Path, int, int]:
    """A backup set, then more nodes and piled-up events: (set, nodes now, nodes in set)."""
    await restore(lab)
    set_dir = await take_backup(lab_config, tmp_path / "backups")
    manifest = json.loads((set_dir / "manifest.json").read_text())
    in_set = manifest["dumps"][0]["row_counts"]["public.alf_node"]
    standin.stop(lab)
    await generate(lab, rate=100, duration=2, seed=21)
    return set_dir, node_count(lab), in_set


async def test_kill_9_at_every_step_boundary_then_resume_completes_the_restore(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    set_dir, old_nodes, set_nodes = await prepared(lab, lab_config, tmp_path)
    assert old_nodes != set_nodes
    env = driver_env(lab, lab_config)
    for step in STEPS[:-1]:
        child = RestoreRun(env, set_dir)
        child.until(finished(step), timeout=120)
        child.kill9()
        # whatever moment the kill hit, the live database is the old one or the new one
        assert node_count(lab) in (old_nodes, set_nodes), step
    last = RestoreRun(env, set_dir)
    code, stderr = last.finish(timeout=120)
    assert code == 0, stderr
    assert any(e["kind"] == "run_resumed" for e in last.events)
    assert [e["step"] for e in last.events if e["kind"] == "state" and e["state"] == "done"] == [
        "report"
    ]
    assert node_count(lab) == set_nodes
    assert await pending(lab) == 0 and postgres.node_drift(lab).in_sync
    assert leftover_databases(lab) == []
    await restore(lab)


MID = {
    "mid clear": recorded("clear_events", "baseline"),
    "mid repository restore": recorded("restore_repository", "child"),
    "mid repository swap": recorded("swap_repository", "swapping"),
    "mid recover start": recorded("start_recover", "starting"),
}


@pytest.mark.parametrize("cue", list(MID))
async def test_a_kill_mid_restore_leaves_the_live_database_whole_and_the_resume_finishes(
    lab: LabLayout, lab_config: Path, tmp_path: Path, cue: str
) -> None:
    set_dir, old_nodes, set_nodes = await prepared(lab, lab_config, tmp_path)
    if cue == "mid clear":  # a backlog the clear takes a few seconds over
        password = lab.broker_password_file.read_text().strip()
        backlog = BrokerLab(lab, read_settings(lab).topic, password=password)
        publish(backlog, f"/topic/{backlog.topic}", (f"event {n}" for n in range(20_000)))
    env = driver_env(lab, lab_config)
    child = RestoreRun(env, set_dir)
    child.until(MID[cue], timeout=120)
    child.kill9()
    assert node_count(lab) in (old_nodes, set_nodes)
    again = RestoreRun(env, set_dir)
    code, stderr = again.finish(timeout=180)
    assert code == 0, stderr
    if cue == "mid clear":
        # the clear went on into the same archive: every event removed is in it, once
        cleared = next(e for e in again.events if finished("clear_events")(e))["data"]
        lines = Path(cleared["archive"]).read_bytes().splitlines()
        ids = [json.loads(line)["headers"]["message-id"] for line in lines]
        assert len(ids) == len(set(ids)) == cleared["archived"] == cleared["removed"] > 0
        assert cleared["counts_agree"] and cleared["complete"]
    if cue == "mid repository restore":
        # the half-restored scratch database was dropped and restored again, then verified
        assert any(recorded("restore_repository", "creating_scratch")(e) for e in again.events)
        done = [e for e in again.events if finished("restore_repository")(e)]
        assert done and done[0]["data"]["rows"] > 0
    assert node_count(lab) == set_nodes
    assert leftover_databases(lab) == []
    assert postgres.node_drift(lab).in_sync
    await restore(lab)
