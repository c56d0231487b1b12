"""The restore wizard in the TUI, step by step, through the real Engine and journal.

The steps are scripted (tests/support/fake_restore.py) with the runbook's ids, titles and whys;
the steps around the broker and the repository are the runbook's own code over a fake
broker. Each test has its own state dir (tests/conftest.py).
"""

from __future__ import annotations

import time
from pathlib import Path

from restore_support import (
    PASSWORD,
    advance_to,
    confirm_gate,
    open_chooser,
    open_restore,
    prepared,
    restore_app,
    restore_screen,
    resume_prepared,
    run_shown_step,
    step_done,
)
from support.fake_restore import ORPHAN_QUEUE, FakeRestore, FakeRestoreLauncher
from support.fake_status import QUEUE, SYNC_ID
from textual.widget import Widget
from textual.widgets import Button, Input, RadioButton, RadioSet
from tui_support import text_of, until

from syncwizard.errors import SyncWizardError
from syncwizard.runbook.journal import find_unfinished, load_run, read_entries
from syncwizard.runbook.model import StepState
from syncwizard.runbook.restore.database import aside_name
from syncwizard.tui.restore import text as rt
from syncwizard.tui.restore.credentials import CredentialsScreen
from syncwizard.tui.restore.leave import LeaveRestoreScreen
from syncwizard.tui.restore.screen import RestoreScreen
from syncwizard.tui.restore.sets import RestoreResumePromptScreen, SetChooserScreen
from syncwizard.tui.restore.summary import RestoreSummaryScreen
from syncwizard.tui.screens.gate import GateScreen
from syncwizard.tui.screens.welcome import WelcomeScreen


def flat(widget: Widget) -> str:
    return " ".join(text_of(widget).split())


def log_text(screen: RestoreScreen) -> str:
    return "\n".join(screen.log_pane.lines)


def states(screen: RestoreScreen) -> dict[str, StepState]:
    return {step_id: line.state for step_id, line in screen.sidebar.steps.items()}


async def test_a_restore_runs_step_by_step_to_the_summary_and_drops_an_old_copy() -> None:
    app, fake, _ = restore_app()
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await open_restore(pilot)
        assert fake.calls == [], "nothing runs before the admin says so"
        assert "Step 1 of 14: Verify the backup set" in flat(screen.head)
        assert f"check every file of {fake.set_dir} against its manifest" in flat(screen.plan)
        await advance_to(pilot, screen, rt.REPORT)
        assert fake.calls == [step for step in rt_steps() if step != rt.REPORT]
        await run_shown_step(pilot, screen)
        await until(pilot, lambda: isinstance(app.screen, RestoreSummaryScreen))
        summary = app.screen
        assert isinstance(summary, RestoreSummaryScreen)
        files = flat(summary.query_one("#restore-files"))
        assert "report.md" in files and "events.jsonl: 240 events" in files
        assert screen.run_id is not None
        aside = aside_name("alfresco", screen.run_id)
        assert aside in flat(summary.query_one("#aside-repository_db"))
        await pilot.click("#drop-repository_db")
        await until(pilot, lambda: isinstance(app.screen, GateScreen))
        await pilot.click("#gate-token")
        await pilot.press(*"alfresco")  # the live database's name is not the token
        await pilot.press("enter")
        assert isinstance(app.screen, GateScreen) and fake.dropped == []
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is summary)
        assert fake.dropped == []
        await confirm_after_click(pilot, "#drop-repository_db", aside)
        await until(pilot, lambda: fake.dropped == [(screen.run_id, "repository_db")])
        await until(pilot, lambda: "dropped" in flat(summary.query_one("#aside-repository_db")))
        assert summary.query_one("#drop-repository_db", Button).disabled
    assert screen.engine is not None
    record = load_run(screen.engine.journal.run_dir)
    assert record.outcome == "finished"
    assert set(record.states.values()) <= {StepState.DONE, StepState.SKIPPED}
    assert find_unfinished("restore") is None


def rt_steps() -> list[str]:
    return [
        rt.VERIFY_SET, rt.PREFLIGHT, rt.STOP_SERVICES, rt.CHECK_QUIET, rt.CLEAR_EVENTS,
        rt.CLEAR_ORPHANS, rt.RESTORE_REPOSITORY, rt.SWAP_REPOSITORY, rt.RESTORE_SYNC, rt.SWAP_SYNC,
        rt.START_REPOSITORY, rt.START_RECOVER, rt.PLAIN_RESTART, rt.REPORT,
    ]  # fmt: skip


async def confirm_after_click(pilot, selector: str, token: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.click(selector)
    await confirm_gate(pilot, token)


async def test_a_wrong_token_does_nothing_and_esc_at_a_gate_changes_nothing() -> None:
    fake = await prepared(rt.CLEAR_EVENTS)
    app, _, _ = restore_app(launcher=FakeRestoreLauncher(fake))
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await resume_prepared(pilot)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, GateScreen))
        gate = app.screen
        facts = flat(gate.query_one("#gate-facts"))
        assert "pending now 240" in facts and "events.jsonl" in "".join(facts.split())
        assert "nothing is lost. To go on, type" in flat(gate.query_one("#gate-prompt"))
        assert "Clear the undelivered events" in str(gate.query_one("#gate").border_subtitle)
        await pilot.click("#gate-token")
        await pilot.press(*SYNC_ID[:7], "x", "enter")
        assert app.screen is gate and gate.query_one("#gate-confirm", Button).disabled
        assert rt.CLEAR_EVENTS not in fake.calls
        await pilot.press("escape")
        await until(pilot, lambda: screen.phase == "ready")
        assert rt.CLEAR_EVENTS not in fake.calls
        assert states(screen)[rt.CLEAR_EVENTS] == StepState.PENDING
        assert "not confirmed" in flat(screen.live)
        journal = load_run(screen.engine.journal.run_dir)  # type: ignore[union-attr]
        assert rt.CLEAR_EVENTS not in journal.states, "nothing about it was journaled"
        await pilot.press("enter")  # asked again
        await confirm_gate(pilot, SYNC_ID[:8])
        await step_done(pilot, screen, rt.CLEAR_EVENTS)
        assert fake.calls.count(rt.CLEAR_EVENTS) == 1


async def test_an_orphaned_queue_is_offered_after_the_clear_and_esc_leaves_it_and_goes_on() -> None:
    fake = await prepared(rt.CLEAR_ORPHANS, orphan=True)
    app, _, _ = restore_app(launcher=FakeRestoreLauncher(fake))
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await resume_prepared(pilot)
        assert screen.shown_step == rt.CLEAR_ORPHANS, "the preflight saw it: the step waits"
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, GateScreen), timeout=10)
        gate = app.screen
        owner = ORPHAN_QUEUE.split(".")[1]
        assert f"orphaned queue of {owner}" in flat(gate.query_one("#gate-title"))
        facts = flat(gate.query_one("#gate-facts"))
        assert "pending 1,180" in facts and "consumers 0" in facts
        assert "Cancel leaves it" in flat(gate.query_one("#gate-consequences"))
        await pilot.press("escape")
        await step_done(pilot, screen, rt.CLEAR_ORPHANS)
        assert states(screen)[rt.CLEAR_ORPHANS] == StepState.SKIPPED
        assert screen.shown_step == rt.RESTORE_REPOSITORY, "declining is not a refusal"
        assert "you declined its gate" in flat(screen.live)
        journal = load_run(screen.engine.journal.run_dir)  # type: ignore[union-attr]
        assert journal.records[rt.CLEAR_ORPHANS]["declined"]["left"] == [
            f"{ORPHAN_QUEUE} left with 1,180 pending"
        ]


async def test_a_gate_that_can_be_undone_says_how_instead_of_no_going_back() -> None:
    fake = await prepared(rt.STOP_SERVICES)
    app, _, _ = restore_app(launcher=FakeRestoreLauncher(fake))
    async with app.run_test(size=(100, 32)) as pilot:
        await resume_prepared(pilot)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, GateScreen))
        prompt = flat(app.screen.query_one("#gate-prompt"))
        assert "Starting them again undoes this. To go on, type stop below" in prompt
        assert "cannot be undone" not in prompt


async def test_once_preflight_found_the_queue_the_panels_read_it_with_the_service_stopped() -> None:
    fake = await prepared(rt.CHECK_QUIET)
    app, _, source = restore_app(launcher=FakeRestoreLauncher(fake))
    async with app.run_test(size=(100, 32)) as pilot:
        await resume_prepared(pilot)
        await until(pilot, lambda: source.followed is not None)
    assert source.followed is not None and source.followed[0] == QUEUE


async def test_the_events_choice_reaches_the_runbook() -> None:
    fake = await prepared(rt.CLEAR_EVENTS)
    app, _, _ = restore_app(launcher=FakeRestoreLauncher(fake))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await resume_prepared(pilot)
        choice = screen.query_one("#choice-set-clear_events", RadioSet)
        assert choice.pressed_index == 0, "clearing into the archive is preselected"
        assert "subscription stay" in flat(screen.query_one("#consequence-clear_events"))
        await pilot.click(list(choice.query(RadioButton))[1])
        await until(pilot, lambda: choice.pressed_index == 1)
        consequence = flat(screen.query_one("#consequence-clear_events"))
        assert "copies new repository events to no queue" in consequence
        screen.run_button.focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, GateScreen))
        assert "then delete it and its topic" in flat(app.screen.query_one("#gate-title"))
        await confirm_gate(pilot, SYNC_ID[:8])
        await step_done(pilot, screen, rt.CLEAR_EVENTS)
        assert fake.seen[rt.CLEAR_EVENTS]["events_action"] == "delete"
        assert "choice journaled: delete" in log_text(screen)
    record = load_run(screen.engine.journal.run_dir)  # type: ignore[union-attr]
    assert record.records[rt.CLEAR_EVENTS]["choice"] == {"action": "delete"}


async def test_the_restart_choice_reaches_the_runbook() -> None:
    fake = await prepared(rt.PLAIN_RESTART)
    app, _, _ = restore_app(launcher=FakeRestoreLauncher(fake))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await resume_prepared(pilot)
        assert "holds it in its arguments" in flat(screen.note)
        restart = screen.query_one("#choice-set-plain_restart", RadioSet)
        assert restart.pressed_index == 0, "the recover step's persistent note suggests it"
        await pilot.click("#choice-set-plain_restart RadioButton:last-of-type")
        await until(pilot, lambda: restart.pressed_index == 1)
        screen.run_button.focus()
        await pilot.press("enter")
        await step_done(pilot, screen, rt.PLAIN_RESTART)
        assert fake.seen[rt.PLAIN_RESTART]["plain_restart"] is False
        assert states(screen)[rt.PLAIN_RESTART] == StepState.SKIPPED


async def test_the_password_is_masked_kept_in_memory_and_never_journaled_or_shown() -> None:
    fake = await prepared(rt.START_RECOVER)
    app, _, _ = restore_app(launcher=FakeRestoreLauncher(fake))
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await resume_prepared(pilot)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, CredentialsScreen))
        modal = app.screen
        assert modal.query_one("#credentials-user", Input).value == "admin"
        assert modal.query_one("#credentials-password", Input).password
        await pilot.press(*PASSWORD)
        await pilot.pause()
        assert PASSWORD not in app.export_screenshot(), "masked on screen"
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, GateScreen))
        assert PASSWORD not in app.export_screenshot()
        await confirm_gate(pilot, "recover")
        await step_done(pilot, screen, rt.START_RECOVER)
        assert fake.seen[rt.START_RECOVER]["recover_password"] == PASSWORD
        assert screen.choices is not None and screen.choices.recover_password is None
        assert PASSWORD not in app.export_screenshot()
        assert PASSWORD not in log_text(screen)
        run_dir = screen.engine.journal.run_dir  # type: ignore[union-attr]
    for path in Path(run_dir).iterdir():
        if path.is_file():
            assert PASSWORD not in path.read_text(errors="replace"), path
    assert read_entries(run_dir / "journal.jsonl")


async def test_esc_at_the_credentials_starts_nothing() -> None:
    fake = await prepared(rt.START_RECOVER)
    app, _, _ = restore_app(launcher=FakeRestoreLauncher(fake))
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await resume_prepared(pilot)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, CredentialsScreen))
        await pilot.press("escape")
        await until(pilot, lambda: screen.phase == "ready")
        assert rt.START_RECOVER not in fake.calls
        assert states(screen)[rt.START_RECOVER] == StepState.PENDING
        assert "no credentials" in flat(screen.live)


async def test_ten_thousand_pending_events_scroll_without_lag() -> None:
    fake = await prepared(rt.RESTORE_REPOSITORY, events=10_000)
    app, _, _ = restore_app(launcher=FakeRestoreLauncher(fake))
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await resume_prepared(pilot)
        screen._show_step(rt.CLEAR_EVENTS)  # the clear's step shows what it took
        table = screen.events_table
        await until(pilot, lambda: table.loaded, timeout=20)
        assert table.row_count == 10_000
        assert "10,000 events" in str(table.border_subtitle)
        await pilot.press("e")  # the table on the whole screen, focused
        await pilot.pause()
        assert not screen.query_one("#steps").display
        assert table.region.height > 20 and app.focused is table
        started = time.perf_counter()
        for _ in range(5):
            await pilot.press("pagedown")
        paged = table.cursor_row
        await pilot.press("ctrl+end")
        elapsed = time.perf_counter() - started
        assert paged >= 5 * 20, f"5 pages moved the cursor to row {paged} only"
        assert table.cursor_row == 9_999
        last = [str(cell) for cell in table.get_row_at(9_999)]
        assert last[2] in ("NODEADDED", "NODEUPDATED", "NODEREMOVED")
        # The id as ActiveMQ wrote it: its ":-1:" is not taken for an emoji code.
        assert last[0] == "ID:mq-lab-40519-1767225600000-3:5:-1:1:10000"
        painted = "".join(seg.text for y in range(8) for seg in table.render_line(y))
        assert "3:5:-1:1:99" in painted and "👎" not in painted
        assert elapsed < 3.0, f"6 key presses took {elapsed:.2f} s"
        await pilot.press("e")
        await pilot.pause()
        assert screen.query_one("#steps").display


async def test_on_a_short_terminal_the_events_are_one_line_away_and_e_shows_them() -> None:
    fake = await prepared(rt.RESTORE_REPOSITORY, events=240)
    app, _, _ = restore_app(launcher=FakeRestoreLauncher(fake))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await resume_prepared(pilot)
        screen._show_step(rt.CLEAR_EVENTS)
        table, hint = screen.events_table, screen.query_one("#events-hint")
        await until(pilot, lambda: table.loaded)
        # The step gets the room; one line says where the events are.
        assert not table.display and hint.display
        assert "in the run folder's archive: press e" in flat(hint)
        await pilot.press("e")
        await pilot.pause()
        assert table.display and not hint.display and table.region.height > 15
        await pilot.press("e")
        await pilot.pause()
        assert not table.display and hint.display
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert table.display and not hint.display


async def test_a_failed_step_shows_its_error_and_hint_nothing_further_runs_and_r_retries() -> None:
    error = SyncWizardError(
        'pg_restore: error: could not execute query: ERROR: relation "alf_node" already exists',
        hint="the scratch database was not empty; it is dropped and restored again on retry",
        system="repository_db",
    )
    fake = await prepared(rt.RESTORE_REPOSITORY, fail={rt.RESTORE_REPOSITORY: error})
    app, _, _ = restore_app(launcher=FakeRestoreLauncher(fake))
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await resume_prepared(pilot)
        await pilot.press("enter")
        await until(pilot, lambda: screen.phase == "failed")
        live = flat(screen.live)
        assert "already exists" in live and "hint: the scratch database was not empty" in live
        assert "Nothing further runs" in live
        assert states(screen)[rt.RESTORE_REPOSITORY] == StepState.FAILED
        assert "FAILED" in text_of(screen.sidebar)
        await pilot.pause(0.1)
        assert fake.calls[-1] == rt.RESTORE_REPOSITORY
        assert screen.check_action("retry_step", ()) is True
        del fake.fail[rt.RESTORE_REPOSITORY]
        await pilot.press("r")
        await step_done(pilot, screen, rt.RESTORE_REPOSITORY)
        assert fake.calls.count(rt.RESTORE_REPOSITORY) == 2
        assert "running 'Restore the repository DB' again" in log_text(screen)


async def test_leaving_keeps_the_run_and_the_welcome_screen_offers_to_resume_it() -> None:
    app, fake, _ = restore_app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_restore(pilot)
        await advance_to(pilot, screen, rt.CHECK_QUIET)
        run_id = screen.run_id
        await pilot.press("escape")  # the services are stopped: it asks first
        await until(pilot, lambda: isinstance(app.screen, LeaveRestoreScreen))
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, WelcomeScreen))
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, RestoreResumePromptScreen))
        prompt = flat(app.screen.query_one("#resume-run"))
        assert run_id and run_id in prompt
        assert "step 4 of 14: Check that nothing still arrives" in prompt
        assert "Files in" in prompt
        await pilot.press("r")
        await until(
            pilot, lambda: isinstance(app.screen, RestoreScreen) and app.screen is not screen
        )
        resumed = restore_screen(app)
        await until(pilot, lambda: resumed.phase == "ready")
        assert resumed.run_id == run_id and resumed.shown_step == rt.CHECK_QUIET
        assert states(resumed)[rt.STOP_SERVICES] == StepState.DONE
        calls = list(fake.calls)
        await run_shown_step(pilot, resumed)
        await step_done(pilot, resumed, rt.CHECK_QUIET)
        assert fake.calls == [*calls, rt.CHECK_QUIET], "finished steps are not redone"


async def test_the_set_chooser_greys_sets_that_cannot_be_restored() -> None:
    app, fake, _ = restore_app()
    async with app.run_test(size=(80, 24)) as pilot:
        chooser = await open_chooser(pilot)
        table = chooser.table
        assert table.row_count == 4
        assert table.cursor_row == 0, "the newest sealed set is highlighted"
        assert "backup-20260101T000000Z" in flat(chooser.details)
        await pilot.press("down", "down", "down")
        assert "no manifest.json" in flat(chooser.details)
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is chooser, "an unsealed set cannot be chosen"
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, WelcomeScreen))
        assert fake.calls == [] and find_unfinished("restore") is None


async def test_a_shared_database_skips_the_sync_db_steps_and_says_why() -> None:
    fake = await prepared(rt.RESTORE_REPOSITORY, shared=True)
    app, _, _ = restore_app(launcher=FakeRestoreLauncher(fake))
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await resume_prepared(pilot)
        assert "shares the repository database" in flat(screen.note)
        await advance_to(pilot, screen, rt.START_REPOSITORY)
        assert states(screen)[rt.RESTORE_SYNC] == StepState.SKIPPED
        assert states(screen)[rt.SWAP_SYNC] == StepState.SKIPPED
        live = flat(screen.live)
        assert "Restore the Sync DB: skipped — the Sync Service keeps its tables in the" in live
        assert "Put the restored Sync DB in place: skipped" in live
        assert "skipped" in log_text(screen)


async def test_events_still_arriving_are_named_and_the_choice_offered_then_stops_them() -> None:
    fake = await prepared(rt.CHECK_QUIET, producing=True)
    app, _, _ = restore_app(launcher=FakeRestoreLauncher(fake))
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await resume_prepared(pilot)
        assert not screen.query_one("#choice-check_quiet").display, "asked only when needed"
        await pilot.press("enter")
        await until(pilot, lambda: screen.phase == "failed")
        assert "the repository is still producing" in flat(screen.live)
        box = screen.query_one("#choice-check_quiet")
        assert box.display
        choice = screen.query_one("#choice-set-check_quiet", RadioSet)
        assert choice.pressed_index == 0, "its stop command is in the profile"
        await pilot.press("r")
        await step_done(pilot, screen, rt.CHECK_QUIET)
        assert fake.seen[rt.CHECK_QUIET] and not fake.producing
        assert "choice journaled: while producing: stop" in log_text(screen)


def shown_label(screen: object) -> str:
    shown = screen.log_pane._shown  # type: ignore[attr-defined]
    return str(shown[0]) if shown is not None else ""


async def test_going_on_knowingly_clears_until_x_ends_it() -> None:
    holds = range(2, 40)  # report by report, until one says what still arrives
    fake = await prepared(rt.CHECK_QUIET, producing=True, hold_at={rt.CLEAR_EVENTS: holds})
    app, _, _ = restore_app(launcher=FakeRestoreLauncher(fake))
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await resume_prepared(pilot)
        await pilot.press("enter")
        await until(pilot, lambda: screen.phase == "failed")
        await pilot.click("#choice-set-check_quiet RadioButton:last-of-type")
        await pilot.press("r")
        await step_done(pilot, screen, rt.CHECK_QUIET)
        await pilot.press("enter")
        await confirm_gate(pilot, SYNC_ID[:8])
        # The clear says 'still arriving' once it has measured events arriving: on a busy
        # machine that may take a few reports, so it is let go one report at a time.
        for _ in holds:
            await until(pilot, lambda: fake.holding == rt.CLEAR_EVENTS, timeout=20)
            try:  # the pane paints the held report on its next refresh, not at once
                await until(pilot, lambda: "still arriving" in shown_label(screen), timeout=2)
                break
            except AssertionError:
                fake.release()
                await until(pilot, lambda: fake.holding != rt.CLEAR_EVENTS)
        fake.hold_at[rt.CLEAR_EVENTS] = set()  # the step ends when x is pressed
        progress = screen.log_pane._shown
        assert progress is not None and "still arriving" in progress[0]
        assert "x ends the clear" in progress[3]
        assert screen.check_action("end_clear", ()) is True
        await pilot.press("x")
        fake.release()
        await step_done(pilot, screen, rt.CLEAR_EVENTS)
        cleared = screen.engine.results[rt.CLEAR_EVENTS]  # type: ignore[union-attr]
        assert cleared["ended_by"] == "ended" and cleared["archived"] == cleared["removed"]
        assert cleared["still_pending"] > 0


async def test_the_real_launcher_is_used_when_none_is_given() -> None:
    from support.fake_status import demo_settings

    from syncwizard.tui.app import SyncWizardApp

    launcher = FakeRestoreLauncher(FakeRestore(demo_settings(), Path("/nowhere")))
    assert SyncWizardApp(demo_settings(), restore_launcher=launcher).restore_launcher is launcher
    assert isinstance(SetChooserScreen([], "/nowhere", "lab"), SetChooserScreen)


async def test_the_real_launcher_lists_sets_and_makes_choices(tmp_path: Path) -> None:
    """RealRestoreLauncher over runbook/restore/runbook.py: imported lazily, a folder without a
    manifest is listed as not choosable, the choices start empty."""
    import dataclasses

    from support.fake_status import demo_settings

    from syncwizard.config import BackupSettings
    from syncwizard.tui.restore.launcher import RealRestoreLauncher
    from syncwizard.tui.restore.sets import choosable

    (tmp_path / "backup-20260101T000000Z").mkdir()
    settings = demo_settings()
    profile = dataclasses.replace(settings.profile, backup=BackupSettings(dir=str(tmp_path)))
    launcher = RealRestoreLauncher(profile)
    sets = await launcher.list_sets()
    assert [s.run_id for s in sets] == ["backup-20260101T000000Z"]
    assert not choosable(sets[0]) and sets[0].problem
    choices = await launcher.make_choices()
    assert choices.events_action is None and choices.recover_password is None


def test_a_journaled_choice_is_said_as_chosen_and_an_empty_one_not_at_all() -> None:
    assert rt.choice_line({"action": "clear"}) == "  choice journaled: clear"
    assert rt.choice_line({"plain_restart": True}) == "  choice journaled: plain restart: True"
    assert rt.choice_line({"action": None}) == "", "never 'choice journaled: None'"


def test_a_health_watch_is_named_after_the_step_that_runs_it() -> None:
    titles = {rt.PLAIN_RESTART: "Restart without recover (offered)"}
    assert rt.watching(rt.START_RECOVER, titles) == "watching the recover start"
    during_restart = rt.watching(rt.PLAIN_RESTART, titles)
    assert "recover start" not in during_restart and "Restart without recover" in during_restart


async def test_while_the_restore_clears_the_queue_its_rate_says_removed_not_dequeues() -> None:
    fake = await prepared(rt.CLEAR_EVENTS, hold_at={rt.CLEAR_EVENTS: 1})
    app, _, source = restore_app(launcher=FakeRestoreLauncher(fake))
    async with app.run_test(size=(100, 32)) as pilot:
        screen = await resume_prepared(pilot)
        await until(pilot, lambda: source.exhausted)
        assert "dequeues/s" in text_of(screen.queue_panel.body)
        await pilot.press("enter")
        await confirm_gate(pilot, SYNC_ID[:8])
        await until(pilot, lambda: fake.holding == rt.CLEAR_EVENTS)
        await pilot.pause()
        shown = text_of(screen.queue_panel.body)
        assert "removed/s" in shown and "dequeues/s" not in shown
        fake.release()
        await step_done(pilot, screen, rt.CLEAR_EVENTS)
        assert "dequeues/s" in text_of(screen.queue_panel.body)


async def test_esc_with_services_stopped_asks_first_and_says_what_the_run_leaves_behind() -> None:
    fake = await prepared(rt.RESTORE_SYNC)  # stopped, cleared, repository DB swapped
    app, _, _ = restore_app(launcher=FakeRestoreLauncher(fake))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await resume_prepared(pilot)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, LeaveRestoreScreen))
        said = flat(app.screen.query_one("#leave-state"))
        assert "not started again: Sync Service and repository" in said
        assert "was cleared: 240 events removed, 240 of them kept in" in said
        assert "alfresco was replaced by the restored copy" in said
        assert "syncservice" not in said, "the Sync DB was not swapped yet"
        await pilot.press("escape")  # Esc again stays
        await until(pilot, lambda: app.screen is screen)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, LeaveRestoreScreen))
        await pilot.press("y")
        await until(pilot, lambda: isinstance(app.screen, WelcomeScreen))
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, RestoreResumePromptScreen))
        prompt = flat(app.screen.query_one("#resume-run"))
        assert "not started again: Sync Service and repository" in prompt
        assert "alfresco was replaced" in prompt


async def test_esc_before_anything_was_changed_leaves_at_once() -> None:
    app, _, _ = restore_app()
    async with app.run_test(size=(100, 32)) as pilot:
        await open_restore(pilot)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, WelcomeScreen))


def test_what_a_run_leaves_behind_is_read_from_its_steps() -> None:
    states = {rt.STOP_SERVICES: StepState.DONE, rt.START_RECOVER: StepState.DONE}
    results = {rt.STOP_SERVICES: {"stopped": [{"what": "Sync Service"}, {"what": "repository"}]}}
    left = rt.left_state(states, results, {}, {})
    assert left == ["Stopped by this run and not started again: repository."]
    cut = rt.left_state({rt.CLEAR_EVENTS: StepState.FAILED}, {}, {}, {rt.CLEAR_EVENTS: "Clear"})
    assert cut == ["'Clear' did not finish (failed): it may have done part of its work."]
    assert rt.left_state({}, {}, {}, {}) == []
