"""Regenerate screenshots/*.svg from the fake status source (no network, deterministic).

Run: .venv/bin/python scripts/screenshots.py [OUTPUT_DIR]
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing
sys.path.insert(0, str(ROOT / "tests"))  # the test doubles: tests/support

from support.fake_status import (  # noqa: E402
    CreepingClock,
    FakeClock,
    FakeStatusSource,
    demo_reports,
    demo_reports_broker_down,
    demo_settings,
)
from textual.pilot import Pilot  # noqa: E402
from textual.widgets import DataTable, Footer  # noqa: E402
from textual.widgets._footer import FooterKey  # noqa: E402

from syncwizard.errors import SyncWizardError  # noqa: E402
from syncwizard.status import StatusReport  # noqa: E402
from syncwizard.tui.app import SyncWizardApp  # noqa: E402

SIZES = {"120x40": (120, 40), "80x24": (80, 24)}
NO_CONFIG = SyncWizardError(
    "no config file at /home/admin/.config/syncwizard/config.toml",
    hint="run `syncwizard config init` to write a commented template there, "
    "`syncwizard lab up` to practise on a local stack, or point --config / "
    "SYNCWIZARD_CONFIG at your file",
    system="config",
)


async def settle(pilot: Pilot[int], source: FakeStatusSource | None = None) -> None:
    """Wait until the fake has answered its whole script, then until the screen is still."""
    while source is not None and not source.exhausted:
        await pilot.pause(0.02)
    await pilot.pause(0.1)
    await pilot.wait_for_scheduled_animations()


async def shoot(
    path: Path,
    size: tuple[int, int],
    app: SyncWizardApp,
    steps: Callable[[Pilot[int]], Awaitable[None]],
) -> None:
    async with app.run_test(size=size) as pilot:
        await steps(pilot)
        await footer_painted(pilot)
        path.write_text(app.export_screenshot(title=app.title), encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


async def footer_painted(pilot: Pilot[int]) -> None:
    """A screen pushed last composes its footer's keys a refresh later: wait for them."""
    footers = pilot.app.screen.query(Footer)
    for _ in range(500):
        if not footers or all(footer.query(FooterKey) for footer in footers):
            break
        await pilot.pause(0.02)
    await pilot.pause()


def dashboard_app(
    reports: list[StatusReport], clock: FakeClock
) -> tuple[SyncWizardApp, FakeStatusSource]:
    source = FakeStatusSource(reports, clock=clock, lag=1.2)
    app = SyncWizardApp(
        demo_settings(), source_factory=lambda: source, clock=clock, poll_interval=0.01
    )
    return app, source


async def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    fresh_state(Path(tempfile.mkdtemp(prefix="syncwizard-shots-")))  # no run of this machine's
    for name, size in SIZES.items():

        async def welcome(pilot: Pilot[int]) -> None:
            await settle(pilot)

        await shoot(out / f"welcome-{name}.svg", size, SyncWizardApp(demo_settings()), welcome)
        for kind, reports in (
            ("dashboard", demo_reports()),
            ("dashboard-broker-down", demo_reports_broker_down()),
        ):
            app, source = dashboard_app(reports, FakeClock())

            async def dashboard(pilot: Pilot[int], source: FakeStatusSource = source) -> None:
                await pilot.press("s")
                await settle(pilot, source)

            await shoot(out / f"{kind}-{name}.svg", size, app, dashboard)
    await shoot(
        out / "welcome-no-config-80x24.svg", (80, 24), SyncWizardApp(None, NO_CONFIG), settle
    )
    await shoot(out / "min-size-notice.svg", (70, 20), SyncWizardApp(demo_settings()), settle)
    await backup_shots(out)
    await restore_shots(out)
    await practice_shots(out)


# --- the backup wizard (the real runbook over the fake systems of tests/support/fake_backup.py) ---

BACKUP_DIR = Path(tempfile.gettempdir()) / "syncwizard-screenshots" / "backups"


def backup_app(**options: Any) -> tuple[SyncWizardApp, object, FakeStatusSource]:
    from support.fake_backup import RUN_ID, FakeBackup, FakeBackupLauncher, backup_reports

    settings = demo_settings()
    shutil.rmtree(BACKUP_DIR, ignore_errors=True)
    outside = options.pop("outside", None)  # the repository DB's product, backed up outside
    fake = FakeBackup(settings, BACKUP_DIR, run_id=RUN_ID, **options)
    source = FakeStatusSource(backup_reports())
    app = SyncWizardApp(
        settings,
        source_factory=lambda: source,
        clock=FakeClock(),
        poll_interval=0.01,
        backup_launcher=FakeBackupLauncher(fake, outside=outside),
    )
    app.animation_level = "none"
    return app, fake, source


async def until(pilot: Pilot[int], condition: Callable[[], bool]) -> None:
    for _ in range(1000):
        if condition():
            break
        await pilot.pause(0.02)
    else:
        raise RuntimeError(f"the screen never got to {condition}")
    await pilot.pause(0.1)


def fresh_state(home: Path) -> None:
    """An empty state dir under a HOME of our own, so paths read `~/.local/state/...`."""
    state = home / ".local" / "state" / "syncwizard"
    if state.exists():
        import shutil

        shutil.rmtree(state)
    os.environ["SYNCWIZARD_STATE_DIR"] = str(state)


def freeze_journal_times(start: float) -> None:
    """Every run's journal lines dated from `start`, one second apart: a still picture."""
    from syncwizard.runbook.journal import runs_dir

    for journal in runs_dir().glob("*/journal.jsonl"):
        lines = [json.loads(line) for line in journal.read_text().splitlines() if line]
        for number, entry in enumerate(lines):
            entry["at"] = start + number
        journal.write_text("".join(json.dumps(entry) + "\n" for entry in lines))


async def backup_shots(out: Path) -> None:
    from support.fake_status import T0

    from syncwizard.errors import SyncWizardError
    from syncwizard.tui.backup.screen import BackupScreen
    from syncwizard.tui.backup.summary import BackupSummaryScreen
    from syncwizard.tui.screens.confirm_cancel import ConfirmCancelScreen
    from syncwizard.tui.screens.resume_prompt import ResumePromptScreen

    home = Path(tempfile.mkdtemp(prefix="syncwizard-shots-"))
    os.environ["HOME"] = str(home)
    os.environ["TZ"] = "UTC"
    time.tzset()
    real_time = time.time
    time.time = CreepingClock(T0 + 100)  # what the runs record reads the same every time

    def held_at(step: str, then: Callable[[Pilot[int]], Awaitable[None]] | None = None):  # type: ignore[no-untyped-def]
        async def steps(pilot: Pilot[int], fake: object, source: FakeStatusSource) -> None:
            await pilot.press("b")
            await until(pilot, lambda: getattr(fake, "holding", None) == step and source.exhausted)
            if then is not None:
                await then(pilot)

        return steps

    async def ask_cancel(pilot: Pilot[int]) -> None:
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmCancelScreen))

    async def to_summary(pilot: Pilot[int], fake: object, source: FakeStatusSource) -> None:
        await pilot.press("b")
        await until(pilot, lambda: isinstance(pilot.app.screen, BackupSummaryScreen))

    async def to_failure(pilot: Pilot[int], fake: object, source: FakeStatusSource) -> None:
        await pilot.press("b")
        await until(pilot, lambda: _phase(pilot.app) == "failed" and source.exhausted)

    async def to_attest(pilot: Pilot[int], fake: object, source: FakeStatusSource) -> None:
        from syncwizard.tui.backup.attest import AttestScreen

        await pilot.press("b")
        await until(pilot, lambda: isinstance(pilot.app.screen, AttestScreen))
        await pilot.press(*"2026-11-26 03:00", "enter")  # no offset: refused, said why

    def _phase(app: object) -> str:
        stack = getattr(app, "screen_stack", [])
        screen = next((s for s in stack if isinstance(s, BackupScreen)), None)
        return screen.phase if screen is not None else ""

    lost = SyncWizardError(
        "pg_dump: error: query failed: server closed the connection unexpectedly",
        hint="the database server went away mid-dump: check it runs, then resume (r)",
        system="repository_db",
    )
    shots: list[tuple[str, dict[str, object], Callable[..., Awaitable[None]], list[str]]] = [
        (
            "backup-mid-dump",
            {"hold_at": {"repository_db": 3}},
            held_at("repository_db"),
            ["80x24", "120x40"],
        ),
        ("backup-wait", {"hold_at": {"wait_drain": 3}}, held_at("wait_drain"), ["80x24", "120x40"]),
        (
            "backup-wait-no-consumer",
            {"hold_at": {"wait_drain": 3}, "no_consumer": True},
            held_at("wait_drain"),
            ["80x24"],
        ),
        (
            "backup-cancel",
            {"hold_at": {"repository_db": 3}},
            held_at("repository_db", ask_cancel),
            ["80x24", "120x40"],
        ),
        ("backup-failed", {"fail": {"repository_db": lost}}, to_failure, ["80x24", "120x40"]),
        ("backup-summary", {}, to_summary, ["80x24", "120x40"]),
        ("backup-oracle-attest", {"outside": "Oracle"}, to_attest, ["80x24", "120x40"]),
    ]
    for name, options, steps, sizes in shots:
        for size_name in sizes:
            fresh_state(home)
            app, fake, source = backup_app(**options)

            async def run(pilot: Pilot[int], steps=steps, fake=fake, source=source) -> None:  # type: ignore[no-untyped-def]
                await steps(pilot, fake, source)

            await shoot(out / f"{name}-{size_name}.svg", SIZES[size_name], app, run)

    # The resume prompt: a run that stopped at the wait, offered when Backup is chosen again.
    fresh_state(home)
    failed_app, _, failed_source = backup_app(fail={"repository_db": lost})
    async with failed_app.run_test(size=(80, 24)) as pilot:
        await to_failure(pilot, None, failed_source)
    freeze_journal_times(T0)
    app, _, _ = backup_app()

    async def resume_prompt(pilot: Pilot[int]) -> None:
        await pilot.press("b")
        await until(pilot, lambda: isinstance(pilot.app.screen, ResumePromptScreen))

    await shoot(out / "backup-resume-prompt-80x24.svg", (80, 24), app, resume_prompt)
    time.time = real_time


# --- the restore wizard (the real runbook over fake systems: tests/support/fake_restore.py) ---

RESTORE_PASSWORD = "not-a-real-password"  # typed into the masked field; never shown
RESTORE_TOKENS = {
    "stop_services": ("stop",),
    "swap_repository": ("alfresco",),
    "swap_sync": ("syncservice",),
    "start_repository": ("restored",),
    "start_recover": ("recover",),
}


RESTORE_SETS = Path(tempfile.gettempdir()) / "syncwizard-screenshots" / "restore-sets"


def restore_app(**options: object) -> tuple[SyncWizardApp, object, FakeStatusSource]:
    from support.fake_restore import RUN_ID, FakeRestore, FakeRestoreLauncher
    from support.fake_status import T0, report

    settings = demo_settings()
    shutil.rmtree(RESTORE_SETS, ignore_errors=True)
    fake = FakeRestore(settings, RESTORE_SETS, run_id=RUN_ID, **options)  # type: ignore[arg-type]
    reports = [report(T0 + 7200 + n, pending=240, enqueued=50_240, consumers=0) for n in range(6)]
    source = FakeStatusSource(reports)
    app = SyncWizardApp(
        settings,
        source_factory=lambda: source,
        clock=FakeClock(T0 + 7200),
        poll_interval=0.01,
        restore_launcher=FakeRestoreLauncher(fake),
    )
    app.animation_level = "none"
    return app, fake, source


async def restore_to(pilot: Pilot[int], step: str) -> object:
    """Choose Restore and the newest sealed set, then run every step before `step`."""
    from support.fake_status import SYNC_ID

    from syncwizard.tui.restore.credentials import CredentialsScreen
    from syncwizard.tui.restore.screen import RestoreScreen
    from syncwizard.tui.restore.sets import SetChooserScreen
    from syncwizard.tui.screens.gate import GateScreen

    app = pilot.app
    await pilot.press("r")
    await until(pilot, lambda: isinstance(app.screen, SetChooserScreen))
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, RestoreScreen))
    screen = app.screen
    assert isinstance(screen, RestoreScreen)
    await until(pilot, lambda: screen.phase == "ready")
    tokens = {**RESTORE_TOKENS, "clear_events": (SYNC_ID[:8],)}
    while screen.engine is not None and (upcoming := screen.engine.next_step()) is not None:
        if upcoming.id == step:
            break
        await pilot.press("enter")
        if upcoming.id == "start_recover":
            await until(pilot, lambda: isinstance(app.screen, CredentialsScreen))
            await pilot.press(*RESTORE_PASSWORD, "enter")
        for token in tokens.get(upcoming.id, ()):
            await until(pilot, lambda: isinstance(app.screen, GateScreen))
            await pilot.click("#gate-token")
            await pilot.press(*token, "enter")
        await until(
            pilot,
            lambda: (
                screen.phase in ("ready", "finished")
                and screen.sidebar.state_of(upcoming.id).satisfied
            ),
        )
    return screen


async def restore_shots(out: Path) -> None:
    from support.fake_status import SYNC_ID, T0

    from syncwizard.tui.restore.credentials import CredentialsScreen
    from syncwizard.tui.restore.sets import RestoreResumePromptScreen, SetChooserScreen
    from syncwizard.tui.restore.summary import RestoreSummaryScreen
    from syncwizard.tui.screens.gate import GateScreen

    home = Path(tempfile.mkdtemp(prefix="syncwizard-shots-"))
    os.environ["HOME"] = str(home)
    real_time = time.time
    time.time = CreepingClock(T0 + 100)  # what the runs record reads the same every time

    def at(step: str, then: Callable[..., Awaitable[None]] | None = None):  # type: ignore[no-untyped-def]
        async def steps(pilot: Pilot[int], fake: object, source: FakeStatusSource) -> None:
            screen = await restore_to(pilot, step)
            if then is not None:
                await then(pilot, screen, fake)
            await settle(pilot, source)

        return steps

    def held(step: str):  # type: ignore[no-untyped-def]
        async def then(pilot: Pilot[int], screen: object, fake: object) -> None:
            await pilot.press("enter")
            if step == "clear_events":
                await until(pilot, lambda: isinstance(pilot.app.screen, GateScreen))
                await pilot.click("#gate-token")
                await pilot.press(*SYNC_ID[:8], "enter")
            if step == "start_recover":
                await until(pilot, lambda: isinstance(pilot.app.screen, CredentialsScreen))
                await pilot.press(*RESTORE_PASSWORD, "enter")
                await until(pilot, lambda: isinstance(pilot.app.screen, GateScreen))
                await pilot.click("#gate-token")
                await pilot.press(*"recover", "enter")
            await until(pilot, lambda: getattr(fake, "holding", None) == step)

        return then

    async def gate(pilot: Pilot[int], screen: object, fake: object) -> None:
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(pilot.app.screen, GateScreen))
        await pilot.press(*SYNC_ID[:5])

    async def swap_gate(pilot: Pilot[int], screen: object, fake: object) -> None:
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(pilot.app.screen, GateScreen))

    async def credentials(pilot: Pilot[int], screen: object, fake: object) -> None:
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(pilot.app.screen, CredentialsScreen))
        await pilot.press(*RESTORE_PASSWORD)

    async def summary(pilot: Pilot[int], screen: object, fake: object) -> None:
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(pilot.app.screen, RestoreSummaryScreen))

    async def failed(pilot: Pilot[int], screen: object, fake: object) -> None:
        await pilot.press("enter")
        await until(pilot, lambda: getattr(screen, "phase", "") == "failed")

    async def give_up_gate(pilot: Pilot[int], screen: object, fake: object) -> None:
        from textual.widgets import RadioButton

        choice = pilot.app.screen.query_one("#choice-set-clear_events")
        list(choice.query(RadioButton))[-1].value = True
        await pilot.pause()
        getattr(screen, "run_button").focus()  # noqa: B009 (screen is typed object here)
        await swap_gate(pilot, screen, fake)

    async def events_settled(pilot: Pilot[int], screen: object, fake: object) -> None:
        table = getattr(screen, "events_table")  # noqa: B009 (screen is typed object here)
        await until(pilot, lambda: table.settled)
        await pilot.pause()

    async def events_full(pilot: Pilot[int], screen: object, fake: object) -> None:
        await events_settled(pilot, screen, fake)
        await pilot.press("e", "pagedown")

    async def chooser(pilot: Pilot[int], fake: object, source: FakeStatusSource) -> None:
        await pilot.press("r")
        await until(pilot, lambda: isinstance(pilot.app.screen, SetChooserScreen))
        table = pilot.app.screen.query_one(DataTable)
        await until(pilot, lambda: not table._require_update_dimensions)

    no_room = SyncWizardError(
        "pg_restore exited with status 1: could not execute query: ERROR: could not extend "
        'file "base/16384/24576": No space left on device',
        hint="free space on the database server (the scratch copy needs 124 MiB more), then "
        "run the step again: the half-restored scratch database is dropped first",
        system="repository_db",
    )
    both = ["80x24", "120x40"]
    clearing = at("clear_events", held("clear_events"))
    restoring = at("restore_repository", held("restore_repository"))
    watching = at("start_recover", held("start_recover"))
    shots: list[tuple[str, dict[str, object], Callable[..., Awaitable[None]], list[str]]] = [
        ("restore-sets", {}, chooser, both),
        ("restore-first-step", {}, at("verify_set"), both),
        ("restore-stop-gate", {}, at("stop_services", swap_gate), ["80x24"]),
        ("restore-still-arriving", {"producing": True}, at("check_quiet", failed), both),
        ("restore-events-choice", {}, at("clear_events"), both),
        ("restore-clear-gate", {}, at("clear_events", gate), both),
        ("restore-clearing", {"hold_at": {"clear_events": 2}, "events": 2400}, clearing, both),
        ("restore-give-up-gate", {}, at("clear_events", give_up_gate), ["80x24"]),
        ("restore-events-table", {"events": 10_000}, at("restore_repository", events_full),
         ["120x40"]),
        ("restore-restoring", {"hold_at": {"restore_repository": 3}}, restoring, both),
        ("restore-swap-gate", {}, at("swap_repository", swap_gate), both),
        ("restore-credentials", {}, at("start_recover", credentials), both),
        ("restore-recover-watch", {"hold_at": {"start_recover": 3}}, watching, both),
        ("restore-plain-restart", {}, at("plain_restart"), ["120x40"]),
        ("restore-summary", {}, at("report", summary), both),
        ("restore-failed", {"fail": {"restore_repository": no_room}},
         at("restore_repository", failed), both),
        ("restore-repository-start", {}, at("start_repository"), ["80x24"]),
        ("restore-shared-database", {"shared": True}, at("start_repository"), ["120x40"]),
    ]  # fmt: skip
    for name, options, steps, sizes in shots:
        for size_name in sizes:
            fresh_state(home)
            app, fake, source = restore_app(**options)

            async def run(pilot: Pilot[int], steps=steps, fake=fake, source=source) -> None:  # type: ignore[no-untyped-def]
                await steps(pilot, fake, source)

            await shoot(out / f"{name}-{size_name}.svg", SIZES[size_name], app, run)

    # The resume prompt: a restore left at the clear step, offered when Restore is chosen again.
    fresh_state(home)
    left_app, _, _ = restore_app()
    async with left_app.run_test(size=(80, 24)) as pilot:
        await restore_to(pilot, "clear_events")
    freeze_journal_times(T0 + 7200)
    app, _, _ = restore_app()

    async def resume_prompt(pilot: Pilot[int]) -> None:
        await pilot.press("r")
        await until(pilot, lambda: isinstance(pilot.app.screen, RestoreResumePromptScreen))

    await shoot(out / "restore-resume-prompt-80x24.svg", (80, 24), app, resume_prompt)
    time.time = real_time


# --- practice: the real scenarios and graders over tests/support/fake_practice.py's lab ---


async def practice_shots(out: Path) -> None:
    from support.fake_practice import FakeDesk
    from textual.widgets import OptionList

    from syncwizard.tui.practice.debrief import DebriefScreen
    from syncwizard.tui.practice.screen import PracticeScreen

    for size_name, size in SIZES.items():
        for name, ended in (("practice-list", False), ("practice-debrief", True)):
            desk = FakeDesk(gave_up=True)
            app = SyncWizardApp(demo_settings(), practice=desk)
            app.animation_level = "none"

            async def run(
                pilot: Pilot[int],
                app: SyncWizardApp = app,
                ended: bool = ended,
                desk: FakeDesk = desk,
            ) -> None:
                await pilot.press("p")
                await until(pilot, lambda: isinstance(app.screen, PracticeScreen))
                menu = app.screen.query_one("#scenarios", OptionList)
                await until(pilot, lambda: menu.option_count > 0)
                menu.highlighted = menu.get_option_index("weekend-outage")
                if ended:
                    desk.run_ended.set()
                    await pilot.press("enter")
                    await until(pilot, lambda: isinstance(app.screen, DebriefScreen))
                await settle(pilot)

            await shoot(out / f"{name}-{size_name}.svg", size, app, run)
    training_report_shot(out / "training-report.svg")


def training_report_shot(path: Path) -> None:
    """The trainer's report (Markdown) as a terminal shows it, from two graded runs."""
    from rich.console import Console
    from rich.markdown import Markdown
    from support.fake_practice import weekend_restore_run

    from syncwizard.lab.postgres import Drift
    from syncwizard.train import registry
    from syncwizard.train.model import LabFacts
    from syncwizard.train.report import render
    from syncwizard.train.results import Attempt
    from syncwizard.train.scenarios.weekend_outage import WEEKEND_OUTAGE

    attempts = []
    for number, gave_up in enumerate((True, False)):
        run = weekend_restore_run(gave_up=gave_up)
        drift = Drift(missing=3, extra=0) if gave_up else Drift(missing=0, extra=0)
        points = tuple(WEEKEND_OUTAGE.grade(run, LabFacts(drift)))
        run_id = f"restore-20261206T0{3 + number}1500Z"
        attempts.append(
            Attempt(WEEKEND_OUTAGE.id, run_id, 1796527800.0 + number * 3600, 412.0, points)
        )
    console = Console(record=True, width=110, file=io.StringIO())
    console.print(Markdown(render(registry.SCENARIOS, attempts)))
    path.write_text(console.export_svg(title="syncwizard train report"), encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "screenshots"))
