"""Regenerate screenshots/*.svg from the fake status source (no network, deterministic).

Run: .venv/bin/python scripts/screenshots.py [OUTPUT_DIR]
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from textual.pilot import Pilot  # noqa: E402

from syncwizard.errors import SyncWizardError  # noqa: E402
from syncwizard.tui.app import SyncWizardApp  # noqa: E402
from syncwizard.tui.fake import (  # noqa: E402
    FakeClock,
    FakeStatusSource,
    demo_reports,
    demo_reports_broker_down,
    demo_settings,
)

SIZES = {"120x40": (120, 40), "80x24": (80, 24)}
NO_CONFIG = SyncWizardError(
    "no config file at /home/admin/.config/syncwizard/config.toml",
    hint="run `syncwizard config init` to write a commented template there, "
    "`syncwizard lab up` to practise on a local stack, or point --config / "
    "SYNCWIZARD_CONFIG at your file",
    system="config",
)


async def settle(pilot: Pilot[object], source: FakeStatusSource | None = None) -> None:
    """Wait until the fake has answered its whole script, then until the screen is still."""
    while source is not None and not source.exhausted:
        await pilot.pause(0.02)
    await pilot.pause(0.1)
    await pilot.wait_for_scheduled_animations()


async def shoot(
    path: Path,
    size: tuple[int, int],
    app: SyncWizardApp,
    steps: Callable[[Pilot[object]], Awaitable[None]],
) -> None:
    async with app.run_test(size=size) as pilot:
        await steps(pilot)
        path.write_text(app.export_screenshot(title=app.title), encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def dashboard_app(reports: list, clock: FakeClock) -> tuple[SyncWizardApp, FakeStatusSource]:
    source = FakeStatusSource(reports, clock=clock, lag=1.2)
    app = SyncWizardApp(
        demo_settings(), source_factory=lambda: source, clock=clock, poll_interval=0.01
    )
    return app, source


async def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, size in SIZES.items():

        async def welcome(pilot: Pilot[object]) -> None:
            await settle(pilot)

        await shoot(out / f"welcome-{name}.svg", size, SyncWizardApp(demo_settings()), welcome)
        for kind, reports in (
            ("dashboard", demo_reports()),
            ("dashboard-broker-down", demo_reports_broker_down()),
        ):
            app, source = dashboard_app(reports, FakeClock())

            async def dashboard(pilot: Pilot[object], source: FakeStatusSource = source) -> None:
                await pilot.press("s")
                await settle(pilot, source)

            await shoot(out / f"{kind}-{name}.svg", size, app, dashboard)
    await shoot(
        out / "welcome-no-config-80x24.svg", (80, 24), SyncWizardApp(None, NO_CONFIG), settle
    )
    await shoot(out / "min-size-notice.svg", (70, 20), SyncWizardApp(demo_settings()), settle)
    await backup_shots(out)


# --- the backup wizard (a scripted backup through the real engine; see tui/fake_backup.py) ---


def backup_app(**options: object) -> tuple[SyncWizardApp, object, FakeStatusSource]:
    from syncwizard.tui.fake_backup import RUN_ID, FakeBackup, FakeBackupLauncher, backup_reports

    settings = demo_settings()
    fake = FakeBackup(
        settings, Path("/var/backups/syncwizard"), run_id=RUN_ID, write_files=False, **options
    )
    source = FakeStatusSource(backup_reports())
    app = SyncWizardApp(
        settings,
        source_factory=lambda: source,
        clock=FakeClock(),
        poll_interval=0.01,
        backup_launcher=FakeBackupLauncher(fake),  # type: ignore[arg-type]
    )
    app.animation_level = "none"
    return app, fake, source


async def until(pilot: Pilot[object], condition: Callable[[], bool]) -> None:
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
    from syncwizard.errors import SyncWizardError
    from syncwizard.runbook.drain import DrainStatus, timeout_error
    from syncwizard.tui.fake import QUEUE, T0
    from syncwizard.tui.screens.backup import BackupScreen
    from syncwizard.tui.screens.backup_summary import BackupSummaryScreen
    from syncwizard.tui.screens.confirm_cancel import ConfirmCancelScreen
    from syncwizard.tui.screens.gate import GateScreen
    from syncwizard.tui.screens.resume_prompt import ResumePromptScreen

    home = Path(tempfile.mkdtemp(prefix="syncwizard-shots-"))
    os.environ["HOME"] = str(home)
    os.environ["TZ"] = "UTC"
    time.tzset()

    def held_at(step: str, then: Callable[[Pilot[object]], Awaitable[None]] | None = None):  # type: ignore[no-untyped-def]
        async def steps(pilot: Pilot[object], fake: object, source: FakeStatusSource) -> None:
            await pilot.press("b")
            await until(pilot, lambda: getattr(fake, "holding", None) == step and source.exhausted)
            if then is not None:
                await then(pilot)

        return steps

    async def ask_cancel(pilot: Pilot[object]) -> None:
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmCancelScreen))

    async def to_summary(pilot: Pilot[object], fake: object, source: FakeStatusSource) -> None:
        await pilot.press("b")
        await until(pilot, lambda: isinstance(pilot.app.screen, BackupSummaryScreen))

    async def to_gate(pilot: Pilot[object], fake: object, source: FakeStatusSource) -> None:
        await pilot.press("b")
        await until(pilot, lambda: isinstance(pilot.app.screen, GateScreen) and source.exhausted)
        await pilot.press("tab", *"alfres")

    async def to_failure(pilot: Pilot[object], fake: object, source: FakeStatusSource) -> None:
        await pilot.press("b")
        await until(pilot, lambda: _phase(pilot.app) == "failed" and source.exhausted)

    def _phase(app: object) -> str:
        stack = getattr(app, "screen_stack", [])
        screen = next((s for s in stack if isinstance(s, BackupScreen)), None)
        return screen.phase if screen is not None else ""

    stalled = DrainStatus(
        at=T0 + 1843,
        elapsed=1800.0,
        timeout=1800.0,
        clause=None,
        ready=False,
        confirmed=False,
        pending=796,
        consumed=1_204,
        p0=2_000,
        consumers=1,
        notes=(
            "nothing was consumed for 121 s while 796 events are pending: check the Sync "
            "Service log for errors, its database connection and eventsHealthCheck",
        ),
    )
    timed_out = timeout_error(stalled, QUEUE)
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
        ("backup-failed", {"fail": {"wait_drain": timed_out}}, to_failure, ["80x24", "120x40"]),
        ("backup-summary", {}, to_summary, ["80x24", "120x40"]),
        ("backup-gate", {"gate_on": "sync_db"}, to_gate, ["80x24", "120x40"]),
    ]
    for name, options, steps, sizes in shots:
        for size_name in sizes:
            fresh_state(home)
            app, fake, source = backup_app(**options)

            async def run(pilot: Pilot[object], steps=steps, fake=fake, source=source) -> None:  # type: ignore[no-untyped-def]
                await steps(pilot, fake, source)

            await shoot(out / f"{name}-{size_name}.svg", SIZES[size_name], app, run)

    # The resume prompt: a run that stopped at the wait, offered when Backup is chosen again.
    fresh_state(home)
    failed_app, _, failed_source = backup_app(
        fail={"wait_drain": SyncWizardError("Jolokia did not answer within 5 s", system="broker")}
    )
    async with failed_app.run_test(size=(80, 24)) as pilot:
        await to_failure(pilot, None, failed_source)
    freeze_journal_times(T0)
    app, _, _ = backup_app()

    async def resume_prompt(pilot: Pilot[object]) -> None:
        await pilot.press("b")
        await until(pilot, lambda: isinstance(pilot.app.screen, ResumePromptScreen))

    await shoot(out / "backup-resume-prompt-80x24.svg", (80, 24), app, resume_prompt)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "screenshots"))
