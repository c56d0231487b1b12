"""SVG snapshots of every backup screen, at 80x24 (the minimum, over SSH) and at 120x40.

The scripted backup holds at a fixed point, the status source answers a fixed
script, the clock stands at T0, HOME is the test's folder (paths read `~/...`)
and the time zone is UTC, so every run draws the same screen. Update after a
deliberate change with `pytest tests/tui/test_backup_snapshots.py --snapshot-update`,
then look at the SVGs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from backup_support import backup_app, open_backup, settled
from support.fake_backup import RUN_ID
from textual.pilot import Pilot
from tui_support import tables_measured, until

from syncwizard.runbook.backup.runbook import REPOSITORY, SYNC, WAIT
from syncwizard.tui.backup.summary import BackupSummaryScreen
from syncwizard.tui.screens.confirm_cancel import ConfirmCancelScreen
from syncwizard.tui.screens.gate import GateScreen

SnapCompare = Callable[..., bool]
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
BACKUP_DIR = Path("/var/backups/syncwizard")  # never written: write_files=False
RunBefore = Callable[[Pilot[int]], Coroutine[Any, Any, None]]


@pytest.fixture(autouse=True)
def fixed_place_and_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def held(step_id: str, **options: Any) -> tuple[Any, RunBefore]:
    """An app whose backup holds after the third progress report of `step_id`."""
    app, fake, source = backup_app(
        BACKUP_DIR, run_id=RUN_ID, write_files=False, hold_at={step_id: 3}, **options
    )

    async def run_before(pilot: Pilot[int]) -> None:
        await open_backup(pilot)
        await settled(pilot, fake, source, step_id)

    return app, run_before


@pytest.mark.parametrize("size", SIZES)
def test_backup_mid_dump(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    app, run_before = held(REPOSITORY)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_backup_during_the_wait(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    app, run_before = held(WAIT)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_backup_wait_without_a_consumer(snap_compare: SnapCompare) -> None:
    app, run_before = held(WAIT, no_consumer=True)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_backup_cancel_question(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    app, hold = held(REPOSITORY)

    async def run_before(pilot: Pilot[int]) -> None:
        await hold(pilot)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmCancelScreen))
        await pilot.pause(0.05)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_backup_summary(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    app, _, _ = backup_app(BACKUP_DIR, run_id=RUN_ID, write_files=False)

    async def run_before(pilot: Pilot[int]) -> None:
        await open_backup(pilot)
        await until(pilot, lambda: isinstance(pilot.app.screen, BackupSummaryScreen))
        await until(pilot, lambda: tables_measured(pilot.app.screen))
        await pilot.pause(0.05)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_gate_modal(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    app, _, source = backup_app(BACKUP_DIR, run_id=RUN_ID, write_files=False, gate_on=SYNC)

    async def run_before(pilot: Pilot[int]) -> None:
        await open_backup(pilot)
        await until(pilot, lambda: isinstance(pilot.app.screen, GateScreen) and source.exhausted)
        gate = pilot.app.screen
        assert isinstance(gate, GateScreen)
        gate.token_input.cursor_blink = False  # a blinking cursor is caught on or off at random
        await pilot.press(*"alfres")  # the field has the focus
        await pilot.pause(0.05)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
