"""SVG snapshots of every restore screen, gates included: 100x32, and 80x24 (the minimum,
over SSH) for the set chooser, every step with a choice or a gate, and the summary.

The real restore runbook over the fake systems of tests/support/fake_restore.py is
journaled up to the step shown without the UI, then resumed on screen; the status source
answers a fixed script, the screen's clock stands still and `time.time` creeps from
T0 + 100 s (what the run records reads the same each time), the backup folder is always
BACKUP_DIR (emptied first; a lock keeps a suite running beside this one out), HOME is
the test's folder (paths read `~/...`) and the time zone is UTC. Update after a
deliberate change with
`pytest tests/tui/test_restore_snapshots.py --snapshot-update`, then look at the SVGs.
"""

from __future__ import annotations

import asyncio
import fcntl
import shutil
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from restore_support import (
    PASSWORD,
    choice_in_view,
    confirm_gate,
    open_chooser,
    open_restore,
    prepared,
    restore_app,
    resume_prepared,
)
from support.fake_restore import RUN_ID, FakeRestore, FakeRestoreLauncher
from support.fake_status import SYNC_ID, T0, CreepingClock, FakeStatusSource
from textual.pilot import Pilot
from textual.widgets import RadioButton
from tui_support import tables_measured, until

from syncwizard.errors import SyncWizardError
from syncwizard.tui.restore import text as rt
from syncwizard.tui.restore.credentials import CredentialsScreen
from syncwizard.tui.restore.screen import RestoreScreen
from syncwizard.tui.restore.summary import RestoreSummaryScreen
from syncwizard.tui.screens.gate import GateScreen

SnapCompare = Callable[..., bool]
RunBefore = Callable[[Pilot[int]], Coroutine[Any, Any, None]]
Then = Callable[[Pilot[int], RestoreScreen, FakeRestore], Coroutine[Any, Any, None]]
SIZE = (100, 32)
BOTH = [pytest.param((80, 24), id="80x24"), pytest.param(SIZE, id="100x32")]


BACKUP_DIR = Path(tempfile.gettempdir()) / "syncwizard-snapshots" / "restore-sets"


@pytest.fixture(autouse=True)
def fixed_place_and_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    BACKUP_DIR.parent.mkdir(exist_ok=True)
    lock = (BACKUP_DIR.parent / ".restore-lock").open("w")
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


async def still(pilot: Pilot[int], source: FakeStatusSource) -> None:
    await until(pilot, lambda: source.exhausted)
    await pilot.pause(0.1)
    await pilot.wait_for_scheduled_animations()


def at_step(
    step_id: str, then: Then | None = None, *, settle_first: bool = False, **options: Any
) -> tuple[Any, RunBefore]:
    """An app resuming a run journaled up to `step_id`; `then` acts on the screen (after
    the live panels have their last poll, with `settle_first`: a modal then covers a still
    screen)."""
    fake = asyncio.run(prepared(step_id, run_id=RUN_ID, backup_dir=BACKUP_DIR, **options))
    app, _, source = restore_app(launcher=FakeRestoreLauncher(fake))

    async def run_before(pilot: Pilot[int]) -> None:
        screen = await resume_prepared(pilot)
        if settle_first:
            await still(pilot, source)
        if then is not None:
            await then(pilot, screen, fake)
        await still(pilot, source)

    return app, run_before


def held(step_id: str) -> Then:
    async def then(pilot: Pilot[int], screen: RestoreScreen, fake: FakeRestore) -> None:
        await pilot.press("enter")
        if step_id == rt.CLEAR_EVENTS:
            await confirm_gate(pilot, SYNC_ID[:8])
        if step_id == rt.START_RECOVER:
            await until(pilot, lambda: isinstance(pilot.app.screen, CredentialsScreen))
            await pilot.press(*PASSWORD, "enter")
            await confirm_gate(pilot, "recover")
        await until(pilot, lambda: fake.holding == step_id)
        await pilot.pause(0.05)

    return then


async def gate_typed(pilot: Pilot[int], screen: RestoreScreen, fake: FakeRestore) -> None:
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(pilot.app.screen, GateScreen))
    gate = pilot.app.screen
    assert isinstance(gate, GateScreen)
    gate.token_input.cursor_blink = False  # a blinking cursor is caught on or off at random
    await pilot.press(*SYNC_ID[:5])
    await until(pilot, lambda: gate.token_input.value == SYNC_ID[:5])


def test_set_chooser(snap_compare: SnapCompare) -> None:
    app, _, _ = restore_app(backup_dir=BACKUP_DIR)

    async def run_before(pilot: Pilot[int]) -> None:
        await open_chooser(pilot)
        await pilot.pause(0.1)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


@pytest.mark.parametrize(
    "size", [pytest.param((80, 24), id="80x24"), pytest.param(SIZE, id="100x32")]
)
def test_gate_with_what_it_destroys(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    app, run_before = at_step(rt.CLEAR_EVENTS, gate_typed, settle_first=True)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_first_step_before_it_runs(snap_compare: SnapCompare) -> None:
    app, _, source = restore_app(run_id=RUN_ID, backup_dir=BACKUP_DIR)

    async def run_before(pilot: Pilot[int]) -> None:
        await open_restore(pilot)
        await still(pilot, source)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_clearing_the_events_into_the_archive(snap_compare: SnapCompare) -> None:
    app, run_before = at_step(
        rt.CLEAR_EVENTS, held(rt.CLEAR_EVENTS), hold_at={rt.CLEAR_EVENTS: 2}, events=2400
    )
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


@pytest.mark.parametrize("size", BOTH)
def test_events_still_arriving(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    async def then(pilot: Pilot[int], screen: RestoreScreen, fake: FakeRestore) -> None:
        await pilot.press("enter")
        await until(pilot, lambda: screen.phase == "failed")
        await choice_in_view(pilot, screen, rt.CHECK_QUIET)

    app, run_before = at_step(rt.CHECK_QUIET, then, producing=True)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


async def table_settled(pilot: Pilot[int], screen: RestoreScreen, fake: FakeRestore) -> None:
    await until(pilot, lambda: screen.events_table.settled)
    await pilot.pause()


@pytest.mark.parametrize("size", BOTH)
def test_the_events_choice(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    async def then(pilot: Pilot[int], screen: RestoreScreen, fake: FakeRestore) -> None:
        await choice_in_view(pilot, screen, rt.CLEAR_EVENTS)

    app, run_before = at_step(rt.CLEAR_EVENTS, then, settle_first=True)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", BOTH)
def test_the_archived_events_before_the_restore(
    snap_compare: SnapCompare, size: tuple[int, int]
) -> None:
    app, run_before = at_step(rt.RESTORE_REPOSITORY, table_settled, settle_first=True)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_restoring_the_repository_db(snap_compare: SnapCompare) -> None:
    app, run_before = at_step(
        rt.RESTORE_REPOSITORY, held(rt.RESTORE_REPOSITORY), hold_at={rt.RESTORE_REPOSITORY: 3}
    )
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


@pytest.mark.parametrize("size", BOTH)
def test_the_swap_gate(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    async def then(pilot: Pilot[int], screen: RestoreScreen, fake: FakeRestore) -> None:
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(pilot.app.screen, GateScreen))
        gate = pilot.app.screen
        assert isinstance(gate, GateScreen)
        gate.token_input.cursor_blink = False  # a blinking cursor is caught on or off at random

    app, run_before = at_step(rt.SWAP_REPOSITORY, then)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", BOTH)
def test_the_credentials_modal_masks_the_password(
    snap_compare: SnapCompare, size: tuple[int, int]
) -> None:
    async def then(pilot: Pilot[int], screen: RestoreScreen, fake: FakeRestore) -> None:
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(pilot.app.screen, CredentialsScreen))
        await pilot.press(*PASSWORD)

    app, run_before = at_step(rt.START_RECOVER, then)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_watching_the_recover_start(snap_compare: SnapCompare) -> None:
    app, run_before = at_step(
        rt.START_RECOVER, held(rt.START_RECOVER), hold_at={rt.START_RECOVER: 3}
    )
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


@pytest.mark.parametrize("size", BOTH)
def test_the_plain_restart_offer(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    app, run_before = at_step(rt.PLAIN_RESTART)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


async def gate_shown(pilot: Pilot[int], screen: RestoreScreen, fake: FakeRestore) -> None:
    """Run the step shown; stop at its (first) gate, the token field still empty."""
    await pilot.press("enter")
    if screen.shown_step == rt.START_RECOVER:
        await until(pilot, lambda: isinstance(pilot.app.screen, CredentialsScreen))
        await pilot.press(*PASSWORD, "enter")
    await until(pilot, lambda: isinstance(pilot.app.screen, GateScreen))
    gate = pilot.app.screen
    assert isinstance(gate, GateScreen)
    gate.token_input.cursor_blink = False  # a blinking cursor is caught on or off at random


@pytest.mark.parametrize(
    "step_id", [rt.STOP_SERVICES, rt.SWAP_SYNC, rt.START_REPOSITORY, rt.START_RECOVER]
)
def test_the_other_gates_at_80x24(snap_compare: SnapCompare, step_id: str) -> None:
    app, run_before = at_step(step_id, gate_shown, settle_first=True)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_the_give_up_gate_at_80x24(snap_compare: SnapCompare) -> None:
    async def then(pilot: Pilot[int], screen: RestoreScreen, fake: FakeRestore) -> None:
        radios = list(screen.query_one(f"#choice-set-{rt.CLEAR_EVENTS}").query(RadioButton))
        radios[-1].value = True
        await pilot.pause()
        screen.run_button.focus()
        await gate_shown(pilot, screen, fake)

    app, run_before = at_step(rt.CLEAR_EVENTS, then, settle_first=True)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_the_orphan_offer_before_it_runs_at_80x24(snap_compare: SnapCompare) -> None:
    app, run_before = at_step(rt.CLEAR_ORPHANS, orphan=True)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_the_orphan_gate_at_80x24(snap_compare: SnapCompare) -> None:
    app, run_before = at_step(rt.CLEAR_ORPHANS, gate_shown, settle_first=True, orphan=True)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


@pytest.mark.parametrize("size", BOTH)
def test_the_summary(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    async def then(pilot: Pilot[int], screen: RestoreScreen, fake: FakeRestore) -> None:
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(pilot.app.screen, RestoreSummaryScreen))
        await until(pilot, lambda: tables_measured(pilot.app.screen))

    app, run_before = at_step(rt.REPORT, then)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", BOTH)
def test_a_failed_step(snap_compare: SnapCompare, size: tuple[int, int]) -> None:
    error = SyncWizardError(
        "pg_restore exited with status 1: could not execute query: ERROR: could not extend "
        'file "base/16384/24576": No space left on device',
        hint="free space on the database server (the scratch copy needs 124 MiB more), then "
        "run the step again: the half-restored scratch database is dropped first",
        system="repository_db",
    )

    async def then(pilot: Pilot[int], screen: RestoreScreen, fake: FakeRestore) -> None:
        await pilot.press("enter")
        await until(pilot, lambda: screen.phase == "failed")

    app, run_before = at_step(rt.RESTORE_REPOSITORY, then, fail={rt.RESTORE_REPOSITORY: error})
    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_a_shared_database_skips_the_sync_db_steps(snap_compare: SnapCompare) -> None:
    async def then(pilot: Pilot[int], screen: RestoreScreen, fake: FakeRestore) -> None:
        await pilot.press("enter")
        await confirm_gate(pilot, "alfresco")
        await until(
            pilot, lambda: screen.shown_step == rt.START_REPOSITORY and screen.phase == "ready"
        )

    app, run_before = at_step(rt.SWAP_REPOSITORY, then, shared=True)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
