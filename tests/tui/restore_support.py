"""Helpers for the restore screen tests: an app on the real restore runbook over fake
systems (tests/support/fake_restore.py), driving it."""

from __future__ import annotations

import time
from typing import Any

from support.fake_restore import FakeRestore, FakeRestoreLauncher
from support.fake_status import (
    SYNC_ID,
    T0,
    FakeClock,
    FakeStatusSource,
    demo_settings,
    report,
)
from textual.pilot import Pilot
from tui_support import tables_measured, until

from syncwizard.runbook.model import Gate, StepState
from syncwizard.status import StatusReport
from syncwizard.tui.app import SyncWizardApp
from syncwizard.tui.restore import text as rt
from syncwizard.tui.restore.credentials import CredentialsScreen
from syncwizard.tui.restore.screen import RestoreScreen
from syncwizard.tui.restore.sets import RestoreResumePromptScreen, SetChooserScreen
from syncwizard.tui.screens.gate import GateScreen


def restore_reports(count: int = 6, *, start: float = T0 + 7200) -> list[StatusReport]:
    """Polls while restoring: 240 events pile up on a queue nobody consumes."""
    return [report(start + n, pending=240, enqueued=50_240, consumers=0) for n in range(count)]


def restore_app(
    *,
    reports: list[StatusReport] | None = None,
    launcher: FakeRestoreLauncher | None = None,
    **fake_options: Any,
) -> tuple[SyncWizardApp, FakeRestore, FakeStatusSource]:
    settings = demo_settings()
    fake = launcher.fake if launcher else FakeRestore(settings, **fake_options)
    source = FakeStatusSource(restore_reports() if reports is None else reports)
    app = SyncWizardApp(
        settings,
        source_factory=lambda: source,
        clock=FakeClock(T0 + 7200),
        poll_interval=0.01,
        restore_launcher=launcher or FakeRestoreLauncher(fake),
    )
    app.animation_level = "none"
    return app, fake, source


def restore_screen(app: SyncWizardApp) -> RestoreScreen:
    return next(s for s in app.screen_stack if isinstance(s, RestoreScreen))


def has_restore_screen(app: SyncWizardApp) -> bool:
    return any(isinstance(s, RestoreScreen) for s in app.screen_stack)


async def open_chooser(pilot: Pilot[int]) -> SetChooserScreen:
    await pilot.press("r")
    await until(pilot, lambda: isinstance(pilot.app.screen, SetChooserScreen))
    screen = pilot.app.screen
    assert isinstance(screen, SetChooserScreen)
    await until(pilot, lambda: tables_measured(screen))
    return screen


async def open_restore(pilot: Pilot[int]) -> RestoreScreen:
    """Choose Restore, take the highlighted (newest sealed) set, wait for the first step."""
    app = pilot.app
    assert isinstance(app, SyncWizardApp)
    await open_chooser(pilot)
    await pilot.press("enter")
    await until(pilot, lambda: has_restore_screen(app))
    screen = restore_screen(app)
    await until(pilot, lambda: screen.phase == "ready")
    return screen


async def confirm_gate(pilot: Pilot[int], token: str) -> None:
    await until(pilot, lambda: isinstance(pilot.app.screen, GateScreen))
    await pilot.click("#gate-token")
    await pilot.press(*token)
    await pilot.press("enter")


async def step_done(pilot: Pilot[int], screen: RestoreScreen, step_id: str) -> None:
    await until(
        pilot,
        lambda: (
            screen.sidebar.state_of(step_id) in (StepState.DONE, StepState.SKIPPED)
            and screen.phase in ("ready", "finished")
        ),
    )


PASSWORD = "s3cret-Recover!pw"
GATE_TOKENS = {
    rt.STOP_SERVICES: ("stop",),
    rt.CLEAR_EVENTS: (SYNC_ID[:8],),
    rt.SWAP_REPOSITORY: ("alfresco",),
    rt.SWAP_SYNC: ("syncservice",),
    rt.START_REPOSITORY: ("restored",),
    rt.START_RECOVER: ("recover",),
}


async def run_shown_step(pilot: Pilot[int], screen: RestoreScreen) -> str:
    """Run the step on screen as the admin does: Enter, credentials, gates; wait for its end."""
    assert screen.engine is not None
    upcoming = screen.engine.next_step()
    assert upcoming is not None
    step_id = upcoming.id
    await pilot.press("enter")
    if step_id == rt.START_RECOVER:
        await until(pilot, lambda: isinstance(pilot.app.screen, CredentialsScreen))
        await pilot.press(*PASSWORD)
        await pilot.press("enter")
    tokens = GATE_TOKENS.get(step_id, ())
    for token in tokens:
        await confirm_gate(pilot, token)
    return step_id


async def advance_to(pilot: Pilot[int], screen: RestoreScreen, step_id: str) -> None:
    """Run every step before `step_id`; `step_id` is then shown, ready to run."""
    assert screen.engine is not None
    while (upcoming := screen.engine.next_step()) is not None and upcoming.id != step_id:
        ran = await run_shown_step(pilot, screen)
        await step_done(pilot, screen, ran)
    await pilot.pause()


async def _yes(gate: Gate) -> bool:
    return True


async def prepared(stop_before: str, **fake_options: Any) -> FakeRestore:
    """A restore run journaled up to `stop_before` without the UI (fast), left unfinished:
    the app then offers to resume it, at `stop_before`."""
    fake = FakeRestore(demo_settings(), **fake_options)
    launcher = FakeRestoreLauncher(fake)
    choices = await launcher.make_choices()
    choices.events_action, choices.plain_restart = "clear", True
    choices.recover_user, choices.recover_password = "admin", PASSWORD
    engine = await launcher.start(fake.set_dir, choices, [], _yes)
    try:
        while (upcoming := engine.next_step()) is not None and upcoming.id != stop_before:
            assert (await engine.run_step(upcoming.id)).satisfied
    finally:
        await engine.aclose()
    fake.calls.clear()
    return fake


async def resume_prepared(pilot: Pilot[int]) -> RestoreScreen:
    """Choose Restore, resume the prepared run, wait for its step to be shown."""
    app = pilot.app
    assert isinstance(app, SyncWizardApp)
    await pilot.press("r")
    await until(pilot, lambda: isinstance(app.screen, RestoreResumePromptScreen))
    await pilot.press("r")
    await until(pilot, lambda: has_restore_screen(app))
    screen = restore_screen(app)
    await until(pilot, lambda: screen.phase == "ready")
    return screen


async def choice_in_view(pilot: Pilot[int], screen: RestoreScreen, step_id: str) -> None:
    """Bring the step's choice (the last thing of the step's view) to the view's bottom and
    wait until the view stands still. The screen scrolls it into view by itself after a
    refresh, but where it lands depends on whether the text above it was laid out yet."""
    box = screen.query_one(f"#choice-{step_id}")
    body = screen.query_one("#step-body")
    deadline = time.monotonic() + 10.0
    last = None
    while time.monotonic() < deadline:
        body.scroll_end(animate=False, immediate=True)
        now = (body.scroll_offset, body.virtual_size, box.region)
        if box.display and body.region.overlaps(box.region) and now == last:
            return
        last = now
        await pilot.pause(0.1)
    raise AssertionError(f"the choice of {step_id} did not settle in view: {last}")
