"""The whole restore through the TUI (Pilot) against the real lab: a backup, more changes
after it, a stopped consumer with events piling up while the repository still produces;
then the admin restores it screen by screen, typing every gate's token. In the end the
queue is empty and every event taken off it is in the archive, both databases equal their
dumps, the repository was stopped and started again before the recover start, and the
stand-in ran its recovery, is healthy, and its Sync DB agrees with the repository DB."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from standin_support import admin_password, eventually, pending, restore
from test_restore import counts, take_backup
from textual.pilot import Pilot

from syncwizard.config import load_settings
from syncwizard.lab import postgres, repository_control, standin
from syncwizard.lab.generator import generate
from syncwizard.lab.layout import LabLayout
from syncwizard.runbook.engine import Engine
from syncwizard.runbook.model import StepState
from syncwizard.tui.app import SyncWizardApp
from syncwizard.tui.restore.credentials import CredentialsScreen
from syncwizard.tui.restore.screen import RestoreScreen
from syncwizard.tui.screens.gate import GateScreen

pytestmark = pytest.mark.integration


async def until(pilot: Pilot[int], condition: Callable[[], bool], timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {condition}")
        await pilot.pause(0.05)


async def type_gate(pilot: Pilot[int], token: str) -> None:
    await until(pilot, lambda: isinstance(pilot.app.screen, GateScreen), 60)
    gate = pilot.app.screen
    assert isinstance(gate, GateScreen)
    await pilot.click("#gate-token")
    await pilot.press(*token)
    await pilot.press("enter")
    await until(pilot, lambda: pilot.app.screen is not gate, 10)


async def restore_screen_by_screen(
    pilot: Pilot[int], app: SyncWizardApp, tokens: dict[str, list[str]], password: str
) -> Engine:
    """The admin's restore of the newest set: Enter on each step, each gate's token typed,
    the repository admin's password given at the recover start; every step must end done
    or skipped. The engine, once the run is finished."""
    await pilot.press("r")
    await until(pilot, lambda: app.screen.__class__.__name__ == "SetChooserScreen", 30)
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, RestoreScreen), 30)
    screen = app.screen
    assert isinstance(screen, RestoreScreen)
    await until(pilot, lambda: screen.phase == "ready", 30)
    assert screen.engine is not None
    engine = screen.engine
    while (step := engine.next_step()) is not None:
        await pilot.press("enter")
        if step.id == "start_recover":
            await until(pilot, lambda: isinstance(app.screen, CredentialsScreen), 30)
            await pilot.press(*password)
            await pilot.press("enter")
        for token in tokens.get(step.id, []):
            await type_gate(pilot, token)

        def step_ended(s: str = step.id) -> bool:
            return engine.states[s] in (StepState.DONE, StepState.SKIPPED, StepState.FAILED)

        await until(pilot, step_ended, 180)
        assert engine.states[step.id] != StepState.FAILED, engine.errors[step.id].render()
        await until(pilot, lambda: screen.phase in ("ready", "finished"), 30)
    return engine


async def test_an_admin_restores_the_lab_screen_by_screen(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    await restore(lab)
    backup_dir = tmp_path / "backups"
    set_dir = await take_backup(lab_config, backup_dir)
    manifest = json.loads((set_dir / "manifest.json").read_text())
    await generate(lab, rate=50, duration=2, seed=51)
    standin.stop(lab)
    await generate(lab, rate=100, duration=2, seed=52)
    repository_control.set_rate(lab, 5)  # the repository in use until the restore stops it
    await eventually(lambda: pending(lab), "events piling up")
    pending_before = await pending(lab)

    settings = load_settings(lab_config, "lab", environ={"SYNCWIZARD_BACKUP__DIR": str(backup_dir)})
    tokens = {
        "stop_services": ["stop"],
        "clear_events": [manifest["sync_id"][:8]],
        "swap_repository": ["alfresco"],
        "swap_sync": ["syncservice"],
        "start_repository": ["restored"],
        "start_recover": ["recover"],
    }
    app = SyncWizardApp(settings)
    async with app.run_test(size=(120, 40)) as pilot:
        engine = await restore_screen_by_screen(pilot, app, tokens, admin_password(lab))
        results = dict(engine.results)
        swapped_at = engine.step_times["swap_sync"][1]
        run_dir = Path(engine.journal.run_dir)

    cleared = results["clear_events"]
    archive = Path(cleared["archive"])
    assert await pending(lab) == 0
    assert len(archive.read_text().splitlines()) == cleared["removed"] >= pending_before
    assert cleared["complete"] and cleared["counts_agree"]
    assert results["check_quiet"]["quiet"] and results["start_repository"]["started"]
    repository, sync = manifest["dumps"]
    assert counts(lab, "alfresco", list(repository["row_counts"])) == repository["row_counts"]
    assert results["restore_sync"]["rows"] == sum(sync["row_counts"].values())
    with psycopg.connect(postgres.superuser_conninfo(lab, "syncservice")) as conn:
        recoveries = conn.execute(
            "SELECT count(*) FROM sync_recovery WHERE finished_at > to_timestamp(%s)",
            (swapped_at,),
        ).fetchone()[0]  # type: ignore[index]
    assert recoveries >= 1
    assert results["start_recover"]["consumers"] >= 1
    assert postgres.node_drift(lab).in_sync
    secret = admin_password(lab)
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert secret not in path.read_text(errors="replace"), path
    await restore(lab)
