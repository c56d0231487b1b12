"""At 80x24 (the minimum, over SSH) everything an admin must read or choose is on screen or
one scroll away, and whole: the restore's choices and their consequences, the Run button
and its hint, a failed step's reason, every gate (text, token field, buttons), the
credentials modal, the resume prompts and the summaries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from backup_support import backup_app, open_backup
from reach_support import assert_all_reachable, assert_reachable, must_reach
from restore_support import (
    GATE_TOKENS,
    PASSWORD,
    confirm_gate,
    prepared,
    restore_app,
    resume_prepared,
)
from support.fake_restore import RUN_ID, FakeRestoreLauncher
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import RadioButton, RadioSet
from tui_support import tables_measured, until

from syncwizard.errors import SyncWizardError
from syncwizard.runbook.backup.step_names import WAIT
from syncwizard.tui.backup.summary import BackupSummaryScreen
from syncwizard.tui.restore import text as rt
from syncwizard.tui.restore.credentials import CredentialsScreen
from syncwizard.tui.restore.screen import RestoreScreen
from syncwizard.tui.restore.sets import RestoreResumePromptScreen
from syncwizard.tui.restore.summary import RestoreSummaryScreen
from syncwizard.tui.screens.gate import GateScreen
from syncwizard.tui.screens.resume_prompt import ResumePromptScreen

SMALL = (80, 24)


def step_parts(screen: RestoreScreen, step_id: str) -> list[Widget]:
    """What the admin reads and presses to run `step_id`."""
    parts: list[Widget] = [screen.head, screen.why, screen.plan]
    if screen.note.display:
        parts.append(screen.note)
    if step_id in rt.CHOICES:
        box = screen.query_one(f"#choice-{step_id}")
        parts += [box.query_one(".choice-question"), *box.query(RadioButton)]
        parts.append(box.query_one(".choice-consequence"))
    return [*parts, screen.run_button, screen.run_hint]


# Choices asked once the step said why: how to make it say so.
REFUSALS: dict[str, dict[str, Any]] = {
    rt.CHECK_QUIET: {"producing": True},
    rt.START_RECOVER: {"never_healthy": True},
}


async def refused(pilot: Pilot[int], screen: RestoreScreen, step_id: str) -> None:
    await pilot.press("enter")
    if step_id == rt.START_RECOVER:
        await until(pilot, lambda: isinstance(pilot.app.screen, CredentialsScreen))
        await pilot.press(*PASSWORD, "enter")
        await confirm_gate(pilot, "recover")
    await until(pilot, lambda: screen.phase == "failed")


@pytest.mark.parametrize("step_id", list(rt.CHOICES))
async def test_a_steps_choice_its_consequence_and_the_run_button_are_reachable_at_80x24(
    step_id: str,
) -> None:
    fake = await prepared(step_id, run_id=RUN_ID, **REFUSALS.get(step_id, {}))
    app, _, _ = restore_app(launcher=FakeRestoreLauncher(fake))
    async with app.run_test(size=SMALL) as pilot:
        screen = await resume_prepared(pilot)
        if rt.CHOICES[step_id].after_refusal:
            assert not screen.query_one(f"#choice-{step_id}").display, "asked when needed"
            await refused(pilot, screen, step_id)
            assert "r runs this step again" in " ".join(str(screen.live.render()).split())
        await assert_all_reachable(pilot, step_parts(screen, step_id))
        again = rt.CHOICES[step_id].after_refusal
        assert ("r runs it again" if again else "Enter runs it") in str(screen.run_hint.render())
        # Choosing the other option by keys: to the choice, down, select.
        radios = list(screen.query_one(f"#choice-{step_id}").query(RadioButton))
        assert "(chosen)" in str(radios[0].label) and "(chosen)" not in str(radios[1].label)
        screen.query_one(f"#choice-set-{step_id}", RadioSet).focus()
        await pilot.press("down", "enter")
        await pilot.pause()
        assert radios[1].value and "(chosen)" in str(radios[1].label)
        assert "(chosen)" not in str(radios[0].label), "the marker says it, not the colour"
        await assert_reachable(pilot, screen.query_one(f"#consequence-{step_id}"))


GATED = [rt.STOP_SERVICES, rt.CLEAR_EVENTS, rt.SWAP_REPOSITORY, rt.SWAP_SYNC, rt.START_RECOVER]
GIVE_UP = "give_up"


async def gate_reachable(pilot: Pilot[int]) -> GateScreen:
    await until(pilot, lambda: isinstance(pilot.app.screen, GateScreen))
    gate = pilot.app.screen
    assert isinstance(gate, GateScreen)
    await pilot.pause()
    await assert_all_reachable(pilot, must_reach(gate))
    for button in (gate.cancel_button, gate.confirm_button):
        assert gate.find_widget(button).visible_region == button.region, "never scrolled away"
    return gate


@pytest.mark.parametrize("step_id", [*GATED, GIVE_UP])
async def test_every_gate_of_the_restore_is_whole_at_80x24(step_id: str) -> None:
    giving_up = step_id == GIVE_UP
    step_id = rt.CLEAR_EVENTS if giving_up else step_id
    fake = await prepared(step_id, run_id=RUN_ID)
    app, _, _ = restore_app(launcher=FakeRestoreLauncher(fake))
    async with app.run_test(size=SMALL) as pilot:
        screen = await resume_prepared(pilot)
        if giving_up:
            radios = list(screen.query_one(f"#choice-set-{step_id}").query(RadioButton))
            radios[-1].value = True
            await pilot.pause()
            screen.run_button.focus()
        await pilot.press("enter")
        if step_id == rt.START_RECOVER:
            await until(pilot, lambda: isinstance(app.screen, CredentialsScreen))
            credentials = app.screen
            await assert_all_reachable(pilot, must_reach(credentials))
            await pilot.press(*PASSWORD, "enter")
        tokens = (str(fake.queue.pending),) if giving_up else GATE_TOKENS[step_id]
        for token in tokens:
            gate = await gate_reachable(pilot)
            assert token in str(gate.query_one("#gate-prompt").render())
            await confirm_gate(pilot, token)


async def test_a_failed_steps_reason_and_hint_are_whole_at_80x24() -> None:
    error = SyncWizardError(
        "pg_restore exited with status 1: could not execute query: ERROR: could not extend "
        'file "base/16384/24576": No space left on device',
        hint="free space on the database server (the scratch copy needs 124 MiB more), then "
        "run the step again: the half-restored scratch database is dropped first",
        system="repository_db",
    )
    fake = await prepared(rt.RESTORE_REPOSITORY, run_id=RUN_ID, fail={rt.RESTORE_REPOSITORY: error})
    app, _, _ = restore_app(launcher=FakeRestoreLauncher(fake))
    async with app.run_test(size=SMALL) as pilot:
        screen = await resume_prepared(pilot)
        await pilot.press("enter")
        await until(pilot, lambda: screen.phase == "failed")
        await assert_all_reachable(pilot, [screen.live, screen.run_button, screen.run_hint])
        shown = " ".join(str(screen.live.render()).split())
        assert "No space left on device" in shown and "dropped first" in shown


async def test_the_restore_resume_prompt_is_whole_at_80x24() -> None:
    await prepared(rt.CLEAR_EVENTS, run_id=RUN_ID)
    app, _, _ = restore_app()
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, RestoreResumePromptScreen))
        await pilot.pause()
        await assert_all_reachable(pilot, must_reach(app.screen))


async def test_the_restore_summary_and_its_drop_buttons_are_reachable_at_80x24() -> None:
    fake = await prepared(rt.REPORT, run_id=RUN_ID)
    app, _, _ = restore_app(launcher=FakeRestoreLauncher(fake))
    async with app.run_test(size=SMALL) as pilot:
        await resume_prepared(pilot)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RestoreSummaryScreen))
        await pilot.pause()
        summary = app.screen
        parts = must_reach(summary)
        assert len(summary.query(".aside-row Button")) == 2
        await assert_all_reachable(pilot, parts)


async def test_the_backup_resume_prompt_and_summary_are_whole_at_80x24(tmp_path: Path) -> None:
    silent = SyncWizardError("Jolokia did not answer within 5 s", system="broker")
    app, fake, _ = backup_app(
        tmp_path / "sets", run_id="backup-20260101T000000Z", fail={WAIT: silent}, drain_timeout=1.0
    )
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_backup(pilot)
        await until(pilot, lambda: screen.phase == "failed")  # the wait gave up: resumable
        await pilot.press("escape")
        await pilot.pause(0.1)
        fake.fail.clear()
        await pilot.press("b")
        await until(pilot, lambda: isinstance(app.screen, ResumePromptScreen))
        await pilot.pause()
        await assert_all_reachable(pilot, must_reach(app.screen))
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, BackupSummaryScreen), timeout=10)
        await until(pilot, lambda: tables_measured(app.screen))
        await assert_all_reachable(pilot, must_reach(app.screen))


@pytest.mark.parametrize(
    "as_in_a_terminal",
    # A real terminal's screens also hold Textual's notifications and tooltip widgets
    # (run_test leaves them out): the fitting must find its box among them.
    [pytest.param(False, id="test-screen"), pytest.param(True, id="with-toasts-and-tooltips")],
)
async def test_a_gate_taller_than_the_terminal_scrolls_its_text_and_keeps_field_and_buttons(
    as_in_a_terminal: bool,
) -> None:
    from support.fake_status import demo_settings

    from syncwizard.runbook.model import Gate
    from syncwizard.tui.app import SyncWizardApp

    gate = Gate(
        title="Purge the sync queue?",
        consequences="Every pending event of the queue is removed for good; the queue and its "
        "subscription stay. " * 3,
        token="5f1c2a3e",
        facts=tuple(
            (f"fact {n}", "a value long enough to wrap onto a second line " * 2) for n in range(6)
        ),
        step="Purge the queue / Delete topic and queue",
    )
    app = SyncWizardApp(demo_settings())
    async with app.run_test(
        size=SMALL, notifications=as_in_a_terminal, tooltips=as_in_a_terminal
    ) as pilot:
        answers: list[bool | None] = []
        app.push_screen(GateScreen(gate), answers.append)
        screen = await gate_reachable(pilot)
        body = screen.query_one("#gate-body")
        assert body.max_scroll_y > 0, "the text scrolls: it is taller than the room it has"
        assert screen.find_widget(screen.token_input).visible_region == screen.token_input.region
        await pilot.press(*"5f1c2a3e", "enter")
        await until(pilot, lambda: answers == [True])


async def test_a_wrong_word_and_enter_at_a_gate_say_it_does_not_match_and_what_to_type() -> None:
    from support.fake_status import demo_settings

    from syncwizard.runbook.model import Gate
    from syncwizard.tui.app import SyncWizardApp

    gate = Gate(title="Replace the database alfresco?", consequences="…", token="alfresco")
    app = SyncWizardApp(demo_settings())
    async with app.run_test(size=SMALL) as pilot:
        answers: list[bool | None] = []
        screen = GateScreen(gate)
        app.push_screen(screen, answers.append)
        await until(pilot, lambda: app.screen is screen)
        await pilot.press(*"alfresko", "enter")
        await pilot.pause()
        assert app.screen is screen and answers == [], "the gate stays open"
        said = " ".join(str(screen.mismatch.render()).split())
        assert "alfresko does not match" in said and "Type alfresco exactly" in said
        await assert_reachable(pilot, screen.mismatch)
        await pilot.press("backspace", "backspace", "c")  # on the way to the token: it goes
        await pilot.pause()
        assert screen.token_input.value == "alfresc"
        assert not screen.mismatch.display
        await pilot.press(*"o", "enter")
        await until(pilot, lambda: answers == [True])


async def test_at_80_columns_the_footer_keeps_every_key_even_f1_and_contrast() -> None:
    from textual.widgets._footer import FooterKey

    error = SyncWizardError("purge refused by the broker", hint="see its log")
    fake = await prepared(rt.CLEAR_EVENTS, run_id=RUN_ID, fail={rt.CLEAR_EVENTS: error})
    app, _, _ = restore_app(launcher=FakeRestoreLauncher(fake))
    async with app.run_test(size=SMALL) as pilot:
        screen = await resume_prepared(pilot)
        await pilot.press("enter")
        await confirm_gate(pilot, GATE_TOKENS[rt.CLEAR_EVENTS][0])
        await until(pilot, lambda: screen.phase == "failed")
        await pilot.pause()
        keys = list(screen.query(FooterKey))
        said = [f"{key.key_display} {key.description}" for key in keys]
        assert len(keys) >= 8, said  # Run, Retry, Back, Events, Log, Quit, Help, Contrast
        palette = next(key for key in keys if key.has_class("-command-palette"))
        right_end = screen.find_widget(palette).region.x  # docked right, over what reaches it
        for key in keys:
            region = screen.find_widget(key).visible_region
            assert region.width == key.outer_size.width, f"{said}: {key.description} is cut"
            if key is not palette:
                assert region.right <= right_end, f"{said}: {key.description} is under ^p"
        assert any("Contrast" in s for s in said) and any("Help" in s for s in said)


async def test_the_question_before_leaving_a_restore_is_whole_at_80x24() -> None:
    from syncwizard.tui.restore.leave import LeaveRestoreScreen

    fake = await prepared(rt.RESTORE_SYNC, run_id=RUN_ID)
    app, _, _ = restore_app(launcher=FakeRestoreLauncher(fake))
    async with app.run_test(size=SMALL) as pilot:
        await resume_prepared(pilot)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, LeaveRestoreScreen))
        await pilot.pause()
        await assert_all_reachable(pilot, must_reach(app.screen))
