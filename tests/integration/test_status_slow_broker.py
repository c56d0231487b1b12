"""A broker that answers 1.5 s late (a VPN, a busy broker), in front of the real lab's
Jolokia: each system is shown as soon as it answers, and the first look at the broker
takes at most two round trips."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest
from slow_proxy import SlowProxy
from textual.pilot import Pilot

from syncwizard.config import Settings, broker_password, load_settings
from syncwizard.lab.layout import LabLayout
from syncwizard.status import SYSTEMS, StatusPoller
from syncwizard.tui.app import SyncWizardApp
from syncwizard.tui.screens.dashboard import DashboardScreen
from syncwizard.tui.source import poller_factory

pytestmark = pytest.mark.integration

DELAY = 1.5  # seconds each request to Jolokia waits in the proxy


def behind(settings: Settings, proxy: SlowProxy) -> Settings:
    """`settings` with the broker reached through `proxy`."""
    broker = dataclasses.replace(settings.profile.broker, jolokia_url=proxy.url)
    return dataclasses.replace(
        settings, profile=dataclasses.replace(settings.profile, broker=broker)
    )


async def test_the_poller_answers_for_each_system_as_it_comes_and_finds_the_queue_in_two_trips(
    lab: LabLayout, lab_config: Path
) -> None:
    async with SlowProxy(lab.ports.jolokia, DELAY) as proxy:
        settings = behind(load_settings(lab_config, "lab", environ={}), proxy)
        profile = settings.profile
        poller = StatusPoller(profile, broker_password(profile.broker))
        answered: list[str] = []

        async def poll(system: str) -> None:
            report = await poller.poll_system(system)
            assert report.errors == (), report.errors
            answered.append(system)

        try:
            await asyncio.gather(*(poll(system) for system in SYSTEMS))
            first_look = proxy.requests
            again = await poller.poll_system("broker")
        finally:
            await poller.aclose()

    assert answered[-1] == "broker", f"the slow broker answers last: {answered}"
    assert set(answered[:-1]) == {"health", "repository_db", "sync_db"}
    assert first_look <= 2, f"the first look took {first_look} round trips to the broker"
    assert again.queue is not None and proxy.requests == first_look + 1, "then one per tick"


async def until(pilot: Pilot[int], condition: Callable[[], bool], timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {condition}")
        await pilot.pause(0.02)


async def test_the_dashboard_shows_health_and_databases_before_the_slow_broker(
    lab: LabLayout, lab_config: Path
) -> None:
    async with SlowProxy(lab.ports.jolokia, DELAY) as proxy:
        settings = behind(load_settings(lab_config, "lab", environ={}), proxy)
        # A long interval: only the first look is counted, no second tick comes meanwhile.
        app = SyncWizardApp(settings, source_factory=poller_factory(settings), poll_interval=30)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("s")
            await until(pilot, lambda: isinstance(app.screen, DashboardScreen), 10)
            screen = app.screen
            assert isinstance(screen, DashboardScreen)
            model = screen.model

            def others_shown() -> bool:
                return model.health.value is not None and all(
                    db.value is not None for db in model.databases.values()
                )

            await until(pilot, lambda: others_shown() or model.broker.value is not None, 30)
            assert others_shown() and model.broker.value is None, (
                "health and both databases are on screen while the broker is still asked"
            )
            await pilot.pause()
            assert "healthy" in str(screen.health_panel.border_subtitle)
            assert "asking the broker" in screen.queue_panel.body.render().plain
            await until(pilot, lambda: model.broker.value is not None, 30)
            first_look = proxy.requests
            assert model.broker.error is None
            await pilot.pause()
            assert "pending" in screen.queue_panel.body.render().plain

    assert first_look <= 2, f"the first look took {first_look} round trips to the broker"
