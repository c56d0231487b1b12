"""The backup wizard in the TUI, driven through the real Engine and journal by scripted steps.

The steps are the real backup runbook's (titles, explanations, plans), with
quick fake actions that emit what the real ones emit (see tests/support/fake_backup.py).
Each test has its own state dir (tests/conftest.py), so journals do not mix.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from backup_support import backup_app, backup_screen, has_backup_screen, held_at, open_backup
from support.fake_backup import FakeBackup, FakeBackupLauncher
from support.fake_status import SYNC_ID, T0, FakeClock, FakeStatusSource, demo_settings
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Button, DataTable, Input, OptionList
from tui_support import text_of, until

from syncwizard.config import (
    BackupSettings,
    BrokerSettings,
    DatabaseSettings,
    HealthSettings,
    Profile,
)
from syncwizard.errors import SyncWizardError
from syncwizard.runbook.backup.step_names import PREFLIGHT, REPOSITORY, SEAL, SYNC, WAIT
from syncwizard.runbook.journal import find_unfinished, load_run, runs_dir
from syncwizard.runbook.model import Gate, StepState
from syncwizard.tui.app import SyncWizardApp
from syncwizard.tui.backup.attest import AttestScreen
from syncwizard.tui.backup.launcher import BackupLauncher
from syncwizard.tui.backup.screen import BackupScreen
from syncwizard.tui.backup.summary import BackupSummaryScreen, verdict
from syncwizard.tui.screens.confirm_cancel import ConfirmCancelScreen
from syncwizard.tui.screens.gate import GateScreen
from syncwizard.tui.screens.resume_prompt import ResumePromptScreen
from syncwizard.tui.screens.welcome import WelcomeScreen

ALL_STEPS = [PREFLIGHT, REPOSITORY, WAIT, SYNC, SEAL]


def states(screen: BackupScreen) -> dict[str, StepState]:
    return {step_id: line.state for step_id, line in screen.sidebar.steps.items()}


def flat(widget: Widget) -> str:
    """A widget's text with its line wrapping undone."""
    return " ".join(text_of(widget).split())


def log_text(screen: BackupScreen) -> str:
    return "\n".join(screen.log_pane.lines)


def backup_choice(app: SyncWizardApp) -> str:
    """The welcome screen's Backup choice, as it reads."""
    return str(app.screen.query_one("#menu", OptionList).get_option("backup").prompt)


def finished(app: SyncWizardApp) -> bool:
    return isinstance(app.screen, BackupSummaryScreen)


async def test_the_sidebar_follows_the_steps_and_the_body_explains_the_running_one(
    tmp_path: Path,
) -> None:
    app, fake, _ = backup_app(tmp_path / "backups", hold_at={REPOSITORY: 3})
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_backup(pilot)
        await held_at(pilot, fake, REPOSITORY)
        assert states(screen) == {
            PREFLIGHT: StepState.DONE,
            REPOSITORY: StepState.RUNNING,
            WAIT: StepState.PENDING,
            SYNC: StepState.PENDING,
            SEAL: StepState.PENDING,
        }
        assert "Step 2 of 5: Repository DB backup" in flat(screen.head)
        assert "backs up the repository FIRST" in flat(screen.why)
        plan = flat(screen.plan)
        assert "pg_dump --format=directory --jobs=2" in plan and "repository_db.dump" in plan
        sidebar = text_of(screen.sidebar)
        assert "running" in sidebar and "done in" in sidebar and "pending" in sidebar
        log = log_text(screen)
        assert "► Preflight" in log and "► Repository DB backup" in log
        assert 'pg_dump: dumping contents of table "public.alf_node"' in log
        assert "(t0)" in log, "the repository dump's snapshot time is said as t0"
        fake.release()
        await until(pilot, lambda: finished(app))
        assert set(states(screen).values()) == {StepState.DONE}


async def test_the_progress_bar_moves_with_the_dump_and_names_the_table(tmp_path: Path) -> None:
    app, fake, _ = backup_app(tmp_path / "backups", hold_at={REPOSITORY: (1, 4)})
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_backup(pilot)
        await held_at(pilot, fake, REPOSITORY)
        early = screen.log_pane.progress_fraction
        assert early is not None and screen.log_pane.bar.display
        assert "public.alf_access_control_entry" in screen.log_pane.progress_detail
        fake.release()
        await until(pilot, lambda: "public.alf_child_assoc" in screen.log_pane.progress_detail)
        late = screen.log_pane.progress_fraction
        assert late is not None and late > early + 0.5
        assert "of ~5,812,330 rows" in screen.log_pane.progress_label
        fake.release()


async def test_the_wait_shows_n_of_p0_events_consumed_with_what_blocks_it(tmp_path: Path) -> None:
    app, fake, _ = backup_app(tmp_path / "backups", hold_at={WAIT: 3}, no_consumer=True)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_backup(pilot)
        await held_at(pilot, fake, WAIT)
        live = flat(screen.live)
        assert "0 of 2,150 events consumed; 2,600 pending; 0 consumers" in live
        assert "no consumer is attached" in live and "Check that it runs" in live
        assert screen.log_pane.progress_fraction == 0
        fake.release()


async def test_esc_asks_first_and_no_lets_the_backup_go_on(tmp_path: Path) -> None:
    app, fake, _ = backup_app(tmp_path / "backups", hold_at={REPOSITORY: 3})
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_backup(pilot)
        await held_at(pilot, fake, REPOSITORY)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ConfirmCancelScreen))
        question = flat(app.screen.query_one("#confirm-consequences"))
        assert "running dump is stopped and its partial files removed" in question
        assert app.focused is not None and app.focused.id == "keep-going"
        await pilot.press("escape")  # Esc on the question means no
        await until(pilot, lambda: app.screen is screen)
        await pilot.press("ctrl+c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmCancelScreen))
        await pilot.press("n")
        await until(pilot, lambda: app.screen is screen)
        assert fake.holding == REPOSITORY and fake.cancelled == []
        assert states(screen)[REPOSITORY] == StepState.RUNNING
        fake.release()
        await until(pilot, lambda: finished(app))


async def test_yes_cancels_the_step_removes_its_partial_files_and_journals_it(
    tmp_path: Path,
) -> None:
    app, fake, _ = backup_app(tmp_path / "backups", hold_at={REPOSITORY: 3})
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_backup(pilot)
        await held_at(pilot, fake, REPOSITORY)
        set_dir = tmp_path / "backups" / screen.engine.run_id  # type: ignore[union-attr]
        assert (set_dir / "repository_db.dump.partial").is_dir()
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ConfirmCancelScreen))
        await pilot.press("y")
        await until(pilot, lambda: screen.phase == "cancelled")
        assert fake.cancelled == [REPOSITORY]
        assert states(screen)[REPOSITORY] == StepState.CANCELLED
        assert states(screen)[PREFLIGHT] == StepState.DONE
        assert not list(set_dir.glob("*.partial")), "the partial dump is removed"
        assert "Cancelled" in flat(screen.live) and "r resumes" in flat(screen.live)
        record = load_run(screen.run_dir)  # type: ignore[arg-type]
        assert record.outcome == "cancelled" and record.states[REPOSITORY] == StepState.CANCELLED
        assert screen.check_action("resume_run", ()) is True
        assert screen.check_action("cancel_backup", ()) is False
        await pilot.press("escape")  # nothing runs now: Esc goes back
        await until(pilot, lambda: isinstance(app.screen, WelcomeScreen))
        await until(pilot, lambda: "unfinished run" in backup_choice(app))


async def test_quitting_mid_run_asks_then_cancels_cleanly_before_leaving(tmp_path: Path) -> None:
    app, fake, _ = backup_app(tmp_path / "backups", hold_at={REPOSITORY: 3})
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_backup(pilot)
        await held_at(pilot, fake, REPOSITORY)
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmCancelScreen))
        assert "quit" in flat(app.screen.query_one("#confirm-question"))
        await pilot.press("y")
        await until(pilot, lambda: not app.is_running)
    assert fake.cancelled == [REPOSITORY]
    assert load_run(screen.run_dir).outcome == "cancelled"  # type: ignore[arg-type]


async def test_a_failing_step_shows_its_error_and_hint_and_resume_finishes_without_redoing(
    tmp_path: Path,
) -> None:
    silent = SyncWizardError("Jolokia did not answer within 5 s", system="broker")
    app, fake, _ = backup_app(tmp_path / "backups", fail={WAIT: silent}, drain_timeout=2.0)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_backup(pilot)
        await until(pilot, lambda: screen.phase == "failed")
        assert states(screen)[WAIT] == StepState.FAILED
        assert "FAILED" in text_of(screen.sidebar)
        live = flat(screen.live)
        assert "the queue did not drain within 2 s" in live
        assert "the broker did not answer: Jolokia did not answer within 5 s" in live
        assert "hint: fix the cause, then run `syncwizard backup` again" in live
        assert "Wait for the Sync Service to track it failed" in log_text(screen)
        assert screen.check_action("resume_run", ()) is True
        del fake.fail[WAIT]
        await pilot.press("r")
        await until(pilot, lambda: finished(app))
        assert fake.calls == [PREFLIGHT, REPOSITORY, WAIT, WAIT, SYNC, SEAL]
        assert load_run(screen.run_dir).outcome == "finished"  # type: ignore[arg-type]


async def test_the_summary_shows_the_sealed_set_and_copies_its_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _, _ = backup_app(tmp_path / "backups")
    copied: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        monkeypatch.setattr(app, "copy_to_clipboard", copied.append)
        screen = await open_backup(pilot)
        await until(pilot, lambda: finished(app))
        summary = app.screen
        assert isinstance(summary, BackupSummaryScreen)
        set_dir = tmp_path / "backups" / screen.engine.run_id  # type: ignore[union-attr]
        assert (set_dir / "manifest.json").is_file()
        facts = flat(summary.query_one("#summary-set"))
        assert set_dir.name in facts and SYNC_ID in facts
        assert "10 files" in facts and "repository_db.dump" in facts and "sync_db.dump" in facts
        assert "every event pending at t0 was consumed" in facts
        files = summary.query_one("#summary-files", DataTable)
        assert files.row_count == 10
        first = [str(cell) for cell in files.get_row_at(0)]
        assert first[0] == "repository_db.dump/3362.dat.gz" and len(first[2]) == 17  # 16 hex + …
        await pilot.press("c")
        assert copied == [str(set_dir)]
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)
        assert screen.check_action("show_summary", ()) is True
        await pilot.press("s")
        await until(pilot, lambda: finished(app))
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, WelcomeScreen))
        assert "unfinished" not in backup_choice(app)


async def _no_gate(gate: Gate) -> bool:
    return False


async def make_failed_run(tmp_path: Path) -> None:
    failing = FakeBackup(
        demo_settings(),
        tmp_path / "backups",
        fail={WAIT: SyncWizardError("Jolokia did not answer", system="broker")},
        drain_timeout=1.0,
    )
    engine = await FakeBackupLauncher(failing).start([], _no_gate)
    try:
        outcome = await engine.run()
    finally:
        await engine.aclose()
    assert outcome.status == "failed" and outcome.step_id == WAIT


async def test_an_unfinished_run_is_offered_and_resumed_where_it_stopped(tmp_path: Path) -> None:
    await make_failed_run(tmp_path)
    record = find_unfinished("backup")
    assert record is not None
    app, fake, _ = backup_app(tmp_path / "backups")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "unfinished run" in backup_choice(app))
        await pilot.press("b")
        await until(pilot, lambda: isinstance(app.screen, ResumePromptScreen))
        prompt = flat(app.screen.query_one("#resume-run"))
        assert record.run_id in prompt
        assert "step 3 of 5: Wait for the Sync Service to track it" in prompt
        assert "Preflight, Repository DB backup" in prompt
        assert "Jolokia did not answer" in prompt
        assert app.focused is not None and app.focused.id == "resume"
        await pilot.press("r")
        await until(pilot, lambda: has_backup_screen(app))
        screen = backup_screen(app)
        await until(pilot, lambda: finished(app))
        assert fake.calls == [WAIT, SYNC, SEAL], "finished steps are never redone"
        assert screen.run_dir == record.run_dir
        assert "resuming run" in log_text(screen)
    assert find_unfinished("backup") is None


async def test_start_afresh_abandons_the_unfinished_run_and_cancel_changes_nothing(
    tmp_path: Path,
) -> None:
    await make_failed_run(tmp_path)
    record = find_unfinished("backup")
    assert record is not None
    app, fake, _ = backup_app(tmp_path / "backups")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("b")
        await until(pilot, lambda: isinstance(app.screen, ResumePromptScreen))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, WelcomeScreen))
        assert find_unfinished("backup") is not None and fake.calls == []
        await pilot.press("b")
        await until(pilot, lambda: isinstance(app.screen, ResumePromptScreen))
        await pilot.press("a")
        await until(pilot, lambda: finished(app))
        assert fake.calls == [PREFLIGHT, REPOSITORY, WAIT, SYNC, SEAL]
        assert backup_screen(app).run_dir != record.run_dir
    assert load_run(record.run_dir).outcome == "abandoned"
    assert len(list(runs_dir().iterdir())) == 2


async def test_a_run_that_cannot_start_says_why_and_esc_goes_back(tmp_path: Path) -> None:
    class Broken(FakeBackupLauncher):
        async def start(self, observers, confirm, external_repository_at=None):  # type: ignore[no-untyped-def]
            raise SyncWizardError(
                "cannot read the broker password file /etc/syncwizard/broker.pw",
                hint="make it readable by this user (mode 0600)",
                system="config",
            )

    launcher = Broken(FakeBackup(demo_settings(), tmp_path / "backups"))
    app, _, _ = backup_app(tmp_path / "backups", launcher=launcher)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_backup(pilot)
        await until(pilot, lambda: screen.phase == "cannot_start")
        live = flat(screen.live)
        assert "broker password file" in live and "hint: make it readable" in live
        assert screen.check_action("resume_run", ()) is False
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, WelcomeScreen))


async def test_full_log_toggles_the_log_onto_the_whole_screen(tmp_path: Path) -> None:
    app, fake, _ = backup_app(tmp_path / "backups", hold_at={REPOSITORY: 3})
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_backup(pilot)
        await held_at(pilot, fake, REPOSITORY)
        small = screen.log_pane.region.height
        await pilot.press("f")
        await pilot.pause()
        assert not screen.query_one("#backup-main").display
        assert screen.log_pane.region.height > small + 10
        await pilot.press("f")
        await pilot.pause()
        assert screen.query_one("#backup-main").display
        fake.release()


async def test_a_gates_facts_are_shown_as_they_are_not_as_markup() -> None:
    command = "[ -x /opt/sync/start.sh ] && /opt/sync/start.sh [b]quiet[/b]"
    gate = Gate(
        title="Stop?",
        consequences="it stops",
        token="stop",
        facts=(("command", command), ("oldest event", "ID:mq-1-3:5:-1:1:1")),
    )
    app = SyncWizardApp(demo_settings())
    async with app.run_test(size=(100, 30)) as pilot:
        app.push_screen(GateScreen(gate))
        await until(pilot, lambda: isinstance(app.screen, GateScreen))
        facts = flat(app.screen.query_one("#gate-facts"))
    assert command in facts and "ID:mq-1-3:5:-1:1:1" in facts


async def test_the_gate_button_stays_disabled_until_the_token_matches() -> None:
    gate = Gate(title="Drop alfresco?", consequences="every table is dropped", token="alfresco")
    answers: list[bool | None] = []
    app = SyncWizardApp(demo_settings())
    async with app.run_test(size=(80, 24)) as pilot:
        app.push_screen(GateScreen(gate), answers.append)
        await until(pilot, lambda: isinstance(app.screen, GateScreen))
        screen = app.screen
        confirm = screen.query_one("#gate-confirm", Button)
        assert confirm.disabled and confirm.variant == "error"
        assert app.focused is screen.query_one("#gate-token")
        await pilot.press("enter")  # an empty token submits nothing
        assert answers == [] and app.screen is screen
        await pilot.press(*"alfresc")
        assert confirm.disabled
        await pilot.press("enter")  # a wrong token submits nothing
        assert answers == [] and app.screen is screen
        await pilot.press("o")
        await pilot.pause()
        assert screen.query_one(Input).value == "alfresco" and not confirm.disabled
        await pilot.press("x")
        await pilot.pause()
        assert confirm.disabled, "one character too many disables it again"
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is not screen)
        assert answers == [False]


async def test_the_real_backup_runbook_behind_the_screen_names_every_preflight_problem(
    tmp_path: Path,
) -> None:
    """runbook/backup/runbook.py through BackupLauncher, against systems that refuse every
    connection: the preflight fails on screen with each problem named, nothing is created."""
    nowhere = "127.0.0.1:1"
    profile = Profile(
        name="nowhere",
        health=HealthSettings(url=f"https://{nowhere}/alfresco/healthcheck", timeout=2),
        broker=BrokerSettings(jolokia_url=f"http://{nowhere}/api/jolokia", timeout=2),
        repository_db=DatabaseSettings("host=127.0.0.1 port=1 dbname=alfresco connect_timeout=2"),
        sync_db=DatabaseSettings("host=127.0.0.1 port=1 dbname=syncservice connect_timeout=2"),
        backup=BackupSettings(dir=str(tmp_path / "backups")),
    )
    settings = dataclasses.replace(demo_settings(), profile=profile)
    source = FakeStatusSource([])
    app = SyncWizardApp(settings, source_factory=lambda: source, clock=FakeClock(T0))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_backup(pilot)
        await until(pilot, lambda: screen.phase == "failed", timeout=30)
        assert states(screen)[PREFLIGHT] == StepState.FAILED
        assert states(screen)[REPOSITORY] == StepState.PENDING
        live = flat(screen.live)
        assert "preflight found" in live and nowhere in live and "hint:" in live
    assert not (tmp_path / "backups").exists(), "nothing is created when the preflight fails"
    record = find_unfinished("backup")
    assert record is not None and record.outcome == "failed"
    titles = await BackupLauncher(profile).step_titles(record)
    assert list(titles) == ALL_STEPS and titles[WAIT] == "Wait for the Sync Service to track it"


def oracle_app(tmp_path: Path) -> tuple[SyncWizardApp, FakeBackupLauncher]:
    """The scripted backup for a profile whose repository DB is on Oracle."""
    fake = FakeBackup(demo_settings(), tmp_path / "backups")
    launcher = FakeBackupLauncher(fake, outside="Oracle")
    app, _, _ = backup_app(tmp_path / "backups", launcher=launcher)
    return app, launcher


async def asked_the_time(pilot: Pilot[int]) -> AttestScreen:
    """Backup chosen on the welcome screen, the snapshot time asked."""
    await pilot.press("b")
    await until(pilot, lambda: isinstance(pilot.app.screen, AttestScreen))
    attest = pilot.app.screen
    assert isinstance(attest, AttestScreen)
    return attest


async def test_an_oracle_repository_asks_its_backups_snapshot_time_and_refuses_a_bad_one(
    tmp_path: Path,
) -> None:
    app, launcher = oracle_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        attest = await asked_the_time(pilot)
        assert "syncwizard does not dump Oracle" in flat(attest.query_one("#attest-why"))
        await pilot.press(*"yesterday", "enter")
        await pilot.pause(0.05)
        assert isinstance(app.screen, AttestScreen), "a time without its offset is refused"
        assert "is not a time with its UTC offset" in flat(attest.problem)
        attest.time_input.value = "2026-01-01T02:00:00+01:00"
        await pilot.press("enter")
        await until(pilot, lambda: finished(app))
    assert launcher.attested == [1767229200.0]
    (run_dir,) = runs_dir().iterdir()
    assert load_run(run_dir).header["options"]["external_repository_at"] == 1767229200.0


async def test_cancelling_the_snapshot_time_starts_nothing(tmp_path: Path) -> None:
    app, launcher = oracle_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await asked_the_time(pilot)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, BackupScreen))
        await pilot.pause(0.1)
    assert launcher.attested == []
    assert find_unfinished("backup") is None
    assert not runs_dir().exists() or not list(runs_dir().iterdir())


@pytest.mark.parametrize(
    ("formats", "said"),
    [
        (["directory", "directory"], "checked with pg_restore."),
        (["sql", "sql"], "read back whole, rows as counted."),
        (["sql", "directory"], "pg_dump's checked with pg_restore, the SQL dumps read back whole."),
    ],
    ids=["PostgreSQL", "MariaDB", "both"],
)
def test_the_sealed_verdict_names_what_checked_each_kind_of_dump(
    formats: list[str], said: str
) -> None:
    """A MariaDB set is never said to be checked with pg_restore (it is read back)."""
    manifest = {"dumps": [{"format": f} for f in formats]}
    assert verdict(manifest) == f"Sealed: every dump listed, checksummed and {said}"
