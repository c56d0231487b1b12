"""Regenerate screenshots/*.svg from the fake status source (no network, deterministic).

Run: .venv/bin/python scripts/screenshots.py [OUTPUT_DIR]
"""

from __future__ import annotations

import asyncio
import sys
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


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "screenshots"))
