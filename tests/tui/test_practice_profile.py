"""Practice with a scenario that changes the lab profile (cluster-guid-mismatch writes a
second node into health.other_nodes): the wizard started from the Practice screen runs
with the profile as the scenario wrote it, not as the app read it at its start."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from support.fake_practice import FakeDesk
from support.fake_status import HEALTH_URL, demo_settings
from textual.widgets import Button, OptionList
from tui_support import make_app, until

from syncwizard.config_file import write_profile
from syncwizard.practice import SetUp
from syncwizard.tui.practice.screen import PracticeScreen

ODD_NODE = "https://127.0.0.1:9091/alfresco/healthcheck"


class ClusterDesk(FakeDesk):
    async def set_up(self, scenario_id: str) -> SetUp:
        done = await super().set_up(scenario_id)
        change = f"profile 'lab': health.other_nodes = ['{ODD_NODE}']"
        return replace(done, lines=(*done.lines, change), profile_changes=(change,))


async def test_start_reads_the_profile_the_scenario_wrote(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    write_profile(
        config,
        "lab",
        {
            "health": {"url": HEALTH_URL, "other_nodes": [ODD_NODE]},
            "broker": {"jolokia_url": "http://127.0.0.1:8161/api/jolokia"},
            "repository_db": {"conninfo": "host=127.0.0.1 port=15432 dbname=alfresco"},
            "sync_db": {"conninfo": "host=127.0.0.1 port=15432 dbname=syncservice"},
        },
    )
    app, _ = make_app(settings=replace(demo_settings(profile="lab"), config_path=config))
    app.practice = ClusterDesk()
    started: list[str] = []
    async with app.run_test(size=(80, 24)) as pilot:
        app.action_open_backup = lambda: started.append("backup")  # type: ignore[method-assign]
        assert app.settings is not None and not app.settings.profile.health.other_nodes
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, PracticeScreen))
        screen = app.screen
        await until(pilot, lambda: screen.query_one("#scenarios", OptionList).option_count > 0)
        menu = screen.query_one("#scenarios", OptionList)
        menu.highlighted = menu.get_option_index("cluster-guid-mismatch")
        await pilot.press("enter")
        start = screen.query_one("#start-run", Button)
        await until(pilot, lambda: start.display)
        await pilot.click("#start-run")
        await until(pilot, lambda: started == ["backup"])
        assert app.settings.profile.health.other_nodes == (ODD_NODE,)
