"""SVG snapshots of every backup screen, at 80x24 (the minimum, over SSH) and at 120x40.

The real backup runbook runs over the fake systems of tests/support/fake_backup.py and
holds at a fixed point; the status source answers a fixed script, the screen's clock
stands at T0 and `time.time` creeps from T0 + 100 s (what the run records reads the same
each time), the backup folder is always BACKUP_DIR (emptied first; a lock keeps a suite
running beside this one out), HOME is the test's folder and the time zone is UTC, so
every run draws the same screen. Update after a
deliberate change with `pytest tests/tui/test_backup_snapshots.py --snapshot-update`,
then look at the SVGs.
"""

from __future__ import annotations

import fcntl
import shutil
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from backup_support import backup_app, open_backup, settled
from support.fake_backup import RUN_ID
from support.fake_status import T0, CreepingClock
from textual.pilot import Pilot
from tui_support import tables_measured, until

from syncwizard.runbook.backup.step_names import REPOSITORY, WAIT
from syncwizard.tui.backup.summary import BackupSummaryScreen
from syncwizard.tui.screens.confirm_cancel import ConfirmCancelScreen

SnapCompare = Callable[..., bool]
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
RunBefore = Callable[[Pilot[int]], Coroutine[Any, Any, None]]


BACKUP_DIR = Path(tempfile.gettempdir()) / "syncwizard-snapshots" / "backups"


@pytest.fixture(autouse=True)
def fixed_place_and_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    BACKUP_DIR.parent.mkdir(exist_ok=True)
    lock = (BACKUP_DIR.parent / ".lock").open("w")
    fcntl.flock(lock, fcntl.LOCK_EX)  # the folder is shown, so it is the same for everyone
    shutil.rmtree(BACKUP_DIR, ignore_errors=True)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setattr(time, "time", CreepingClock(T0 + 100))
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()
    lock.close()


def held(step_id: str, **options: Any) -> tuple[Any, RunBefore]:
    """An app whose backup holds after the third progress report of `step_id`."""
    app, fake, source = backup_app(BACKUP_DIR, run_id=RUN_ID, hold_at={step_id: 3}, **options)

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
    app, _, _ = backup_app(BACKUP_DIR, run_id=RUN_ID)

    async def run_before(pilot: Pilot[int]) -> None:
        await open_backup(pilot)
        await until(pilot, lambda: isinstance(pilot.app.screen, BackupSummaryScreen))
        await until(pilot, lambda: tables_measured(pilot.app.screen))
        await pilot.pause(0.05)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
