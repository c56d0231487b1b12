"""The restore wizard in the TUI, step by step, through the real Engine and journal.

The steps are scripted (tui/fake_restore.py) with the contract's ids, gates,
choices and outputs. Each test has its own state dir (tests/conftest.py).
"""

from __future__ import annotations

from restore_support import confirm_gate, open_restore, restore_app, step_done
from tui_support import until

from syncwizard.runbook.journal import load_run
from syncwizard.runbook.model import StepState
from syncwizard.tui import restore_text as rt
from syncwizard.tui.fake import SYNC_ID
from syncwizard.tui.screens.credentials import CredentialsScreen
from syncwizard.tui.screens.restore_summary import RestoreSummaryScreen

PASSWORD = "s3cret-Recover!pw"


async def test_a_restore_runs_step_by_step_to_the_summary() -> None:
    app, fake, _ = restore_app()
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await open_restore(pilot)
        assert fake.calls == [], "nothing runs before the admin says so"
        for step_id in (rt.VERIFY_SET, rt.PREFLIGHT):
            await pilot.press("enter")
            await step_done(pilot, screen, step_id)
        await pilot.press("enter")
        await confirm_gate(pilot, "stop")
        await step_done(pilot, screen, rt.STOP_SERVICES)
        await pilot.press("enter")
        await step_done(pilot, screen, rt.ARCHIVE_EVENTS)
        await pilot.press("enter")
        await confirm_gate(pilot, SYNC_ID[:8])
        await step_done(pilot, screen, rt.CLEAR_EVENTS)
        for step_id, token in (
            (rt.RESTORE_REPOSITORY, None),
            (rt.SWAP_REPOSITORY, "alfresco"),
            (rt.RESTORE_SYNC, None),
            (rt.SWAP_SYNC, "syncservice"),
        ):
            await pilot.press("enter")
            if token:
                await confirm_gate(pilot, token)
            await step_done(pilot, screen, step_id)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, CredentialsScreen))
        await pilot.press(*PASSWORD)
        await pilot.press("enter")
        await confirm_gate(pilot, "recover")
        await step_done(pilot, screen, rt.START_RECOVER)
        await pilot.press("enter")
        await step_done(pilot, screen, rt.PLAIN_RESTART)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RestoreSummaryScreen))
        assert fake.seen[rt.CLEAR_EVENTS]["events_action"] == "purge"
        assert fake.seen[rt.START_RECOVER]["recover_user"] == "admin"
        assert fake.seen[rt.START_RECOVER]["recover_password"] == PASSWORD
        assert screen.choices.recover_password is None, "forgotten after the start"
    record = load_run(screen.engine.journal.run_dir)
    assert record.outcome == "finished"
    assert set(record.states.values()) <= {StepState.DONE, StepState.SKIPPED}
