"""The live status dashboard, driven by the deterministic fake source."""

from __future__ import annotations

import dataclasses
import re

import pytest
from support.fake_status import (
    QUEUE,
    SYNC_ID,
    T0,
    FakeClock,
    FakeStatusSource,
    broker_down,
    demo_settings,
    health_down,
    report,
)
from tui_support import applied, make_app, open_dashboard, text_of, until

from syncwizard.clients.results import DatabaseFacts
from syncwizard.errors import SyncWizardError
from syncwizard.lab.look import what_runs
from syncwizard.status import DatabaseStatus, StatusReport
from syncwizard.train.desk import LabDesk
from syncwizard.tui.screens.dashboard import DashboardScreen
from syncwizard.tui.screens.welcome import WelcomeScreen


async def test_status_on_the_welcome_screen_opens_the_dashboard() -> None:
    app, _ = make_app([report(T0)])
    async with app.run_test(size=(80, 24)) as pilot:
        welcome = app.screen
        assert isinstance(welcome, WelcomeScreen)
        await pilot.press("enter")  # Status is the highlighted choice
        screen = await applied(pilot, 1)
        assert app.screen is screen
        assert SYNC_ID in str(screen.health_panel.border_title)


async def test_numbers_update_as_reports_arrive() -> None:
    app, source = make_app([report(T0, pending=12, enqueued=1_000)])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_dashboard(pilot)
        first = text_of(screen.queue_panel.body)
        assert "12" in first and "1,000" in first
        source.add(report(T0 + 1, pending=345, enqueued=2_468))
        await applied(pilot, 2)
        second = text_of(screen.queue_panel.body)
        assert "345" in second and "2,468" in second
        assert "1,000" not in second


async def test_the_sparkline_gains_a_point_per_poll() -> None:
    app, source = make_app([report(T0 + n, pending=n) for n in range(3)])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_dashboard(pilot, polls=3)
        assert list(screen.queue_panel.sparkline.data or []) == [0.0, 1.0, 2.0]
        source.add(report(T0 + 3, pending=7))
        await applied(pilot, 4)
        assert list(screen.queue_panel.sparkline.data or []) == [0.0, 1.0, 2.0, 7.0]


async def test_the_sparkline_keeps_the_last_sixty_polls() -> None:
    app, _ = make_app([report(T0 + n, pending=n) for n in range(75)])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_dashboard(pilot, polls=75)
        data = list(screen.queue_panel.sparkline.data or [])
        assert len(data) == 60 and data[0] == 15.0 and data[-1] == 74.0


def shown_rate(panel_text: str) -> str:
    found = re.search(r"dequeues/s\s+(\S+)", panel_text)
    assert found, panel_text
    return found.group(1)


async def test_the_dequeue_rate_comes_from_successive_samples_and_survives_a_reset() -> None:
    reports = [
        report(T0, pending=0, enqueued=1_000, dequeued=1_000),
        report(T0 + 1, pending=0, enqueued=1_050, dequeued=1_050),
        report(T0 + 2, pending=0, enqueued=1_100, dequeued=1_100),
    ]
    app, source = make_app(reports)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_dashboard(pilot, polls=3)
        assert shown_rate(text_of(screen.queue_panel.body)) == "50.0"
        # The broker restarted: its counters start again from zero.
        source.add(report(T0 + 3, pending=0, enqueued=20, dequeued=20))
        await applied(pilot, 4)
        after_reset = text_of(screen.queue_panel.body)
        assert shown_rate(after_reset) == "--", "no rate, and certainly no negative one"
        assert "rate restarted" in after_reset
        source.add(report(T0 + 5, pending=0, enqueued=80, dequeued=80))
        await applied(pilot, 5)
        assert shown_rate(text_of(screen.queue_panel.body)) == "30.0"
        assert "rate restarted" not in text_of(screen.queue_panel.body)


async def test_a_system_that_stops_answering_keeps_its_last_values_with_their_age() -> None:
    clock = FakeClock()
    app, source = make_app([report(T0, pending=321)], clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_dashboard(pilot)
        panel = screen.queue_panel
        assert not panel.has_class("-stale")
        source.add(report(T0 + 12, down=[broker_down()]))
        await applied(pilot, 2)
        shown = text_of(panel.body)
        assert "321" in shown, "the last pending count stays on screen"
        assert "cannot reach Jolokia" in shown and "hint: is the broker running?" in shown
        assert panel.has_class("-stale")
        assert "12 s ago" in str(panel.border_subtitle)
        # The other panels are not touched by the broker's failure.
        assert not screen.health_panel.has_class("-stale")
        assert not screen.databases_panel.has_class("-stale")
        # It comes back by itself on the next good poll.
        source.add(report(T0 + 13, pending=7))
        await applied(pilot, 3)
        assert not panel.has_class("-stale")
        shown = text_of(panel.body)
        assert "cannot reach Jolokia" not in shown and "7" in shown


async def test_ages_move_with_the_clock_between_polls() -> None:
    clock = FakeClock()
    app, _ = make_app([report(T0)], clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_dashboard(pilot)
        clock.advance(42)
        screen.redraw()
        assert "42 s ago" in str(screen.queue_panel.border_subtitle)


async def test_a_system_that_never_answered_shows_its_error_without_values() -> None:
    app, _ = make_app([report(T0, down=[health_down()])])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_dashboard(pilot)
        panel = screen.health_panel
        assert panel.has_class("-down") and not panel.has_class("-stale")
        assert "no answer from" in text_of(panel.body)
        assert str(panel.border_subtitle) == "no answer"


async def test_a_database_going_down_marks_only_that_database() -> None:
    down = SyncWizardError("cannot connect to syncservice", hint="start it", system="sync_db")
    app, _ = make_app([report(T0), report(T0 + 1, down=[down])])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_dashboard(pilot, polls=2)
        shown = text_of(screen.databases_panel.body)
        assert "cannot connect to syncservice" in shown
        assert "alfresco" in shown and "syncservice" in shown and "9.1 MiB" in shown
        assert "Sync DB" in str(screen.databases_panel.border_subtitle)
        assert "Repository" not in str(screen.databases_panel.border_subtitle)


async def test_several_nodes_each_get_their_checks() -> None:
    second = "https://sync2.example.org:9090/alfresco/healthcheck"
    settings = demo_settings(other_nodes=(second,))
    app, _ = make_app([report(T0, nodes=(settings.profile.health.url, second))])
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_dashboard(pilot)
        shown = text_of(screen.health_panel.body)
        assert "node 1" in shown and "node 2" in shown and "sync2.example.org" in shown
        assert shown.count("eventsHealthCheck") == 2


async def test_unhealthy_and_unknown_checks_are_said_in_words() -> None:
    app, source = make_app([report(T0, events_healthy=False)])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_dashboard(pilot)
        assert "UNHEALTHY" in text_of(screen.health_panel.body)
        assert "1 not healthy" in str(screen.health_panel.border_subtitle)
        source.add(report(T0 + 1, events_healthy=None))
        await applied(pilot, 2)
        assert "unknown" in text_of(screen.health_panel.body)


async def test_polls_never_overlap_even_when_each_is_slower_than_the_interval() -> None:
    clock = FakeClock()
    source = FakeStatusSource([report(T0 + n) for n in range(8)], clock=clock, delay=0.03)
    app, _ = make_app(source=source, clock=clock, interval=0.001)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_dashboard(pilot, polls=8)
        assert source.max_active == 1, "never two polls of one system at once"


async def test_polling_pauses_while_a_modal_is_open_and_resumes_after() -> None:
    app, source = make_app([report(T0 + n) for n in range(500)], interval=0.05)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_dashboard(pilot, polls=2)
        await pilot.press("f1")
        # A poll already running may finish: wait until none runs and its answer is shown.
        await until(pilot, lambda: not any(source.active.values()))
        await pilot.pause()
        paused_at = screen.model.polls
        await pilot.pause(0.3)
        assert screen.model.polls == paused_at, "no poll while the help is open"
        await pilot.press("escape")
        await applied(pilot, paused_at + 3)


async def test_leaving_the_dashboard_stops_polling_and_closes_the_source() -> None:
    app, source = make_app([report(T0)])
    async with app.run_test(size=(80, 24)) as pilot:
        await open_dashboard(pilot)
        await pilot.press("escape")
        await until(pilot, lambda: source.closed)
        assert isinstance(app.screen, WelcomeScreen)
        polls = source.polls
        source.add(report(T0 + 1), report(T0 + 2))
        await pilot.pause(0.2)
        assert source.polls == polls


async def test_copy_guid_puts_the_sync_guid_on_the_clipboard(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app, _ = make_app([report(T0)])
    copied: list[str] = []
    async with app.run_test(size=(80, 24)) as pilot:
        monkeypatch.setattr(app, "copy_to_clipboard", copied.append)
        await open_dashboard(pilot)
        await pilot.press("c")
        await pilot.pause()
        assert copied == [SYNC_ID]
        assert any(SYNC_ID in str(n.message) for n in app._notifications)


async def test_copy_guid_before_any_answer_says_why_not(monkeypatch: pytest.MonkeyPatch) -> None:
    app, _ = make_app([report(T0, down=[health_down()])])
    copied: list[str] = []
    async with app.run_test(size=(80, 24)) as pilot:
        monkeypatch.setattr(app, "copy_to_clipboard", copied.append)
        await open_dashboard(pilot)
        await pilot.press("c")
        await pilot.pause()
        assert copied == []
        assert any("no sync GUID yet" in str(n.message) for n in app._notifications)


class FailingSource:
    """A source with a bug: every poll raises."""

    def __init__(self) -> None:
        self.polls = 0

    async def poll(self) -> StatusReport:
        return await self.poll_system("health")

    async def poll_system(self, system: str) -> StatusReport:
        self.polls += 1
        raise RuntimeError("boom")

    def follow_queue(self, queue: str, topic: str | None) -> None:
        pass

    async def aclose(self) -> None:
        pass


async def test_an_unexpected_failure_becomes_one_notification_not_a_crash() -> None:
    app, _ = make_app(interval=0.05)
    failing = FailingSource()
    app.source_factory = lambda: failing
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("s")
        await until(pilot, lambda: failing.polls >= 3)
        assert app.is_running
        bugs = [n for n in app._notifications if "RuntimeError: boom" in str(n.message)]
        assert len(bugs) == 1, "a failure repeated by every poll is told once"
        assert "bug in syncwizard" in str(bugs[0].message)


async def test_a_source_that_cannot_start_says_why_on_the_dashboard() -> None:
    app, _ = make_app(interval=0.05)

    def refuse() -> FakeStatusSource:
        raise SyncWizardError(
            "broker.password_file /x is readable by other users (mode 644)",
            hint="run: chmod 600 /x",
            system="config",
        )

    app.source_factory = refuse
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("s")
        await pilot.pause(0.1)
        banner = app.screen.query_one("#banner")
        assert banner.display
        assert "chmod 600" in text_of(banner)


async def test_the_queue_name_is_shortened_in_the_middle_to_fit() -> None:
    app, _ = make_app([report(T0)])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_dashboard(pilot)
        first_line = text_of(screen.queue_panel.body).splitlines()[0].strip()
        assert first_line.startswith(QUEUE[:12]) and first_line.endswith(QUEUE[-10:])
        assert "…" in first_line


async def test_a_poll_that_does_not_come_back_is_said_in_the_title_bar() -> None:
    clock = FakeClock()
    app, _ = make_app([report(T0)], clock=clock, interval=1.0)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_dashboard(pilot)
        # the second polls wait for an answer
        await until(pilot, lambda: screen.polls is not None and len(screen.polls.running) == 4)
        clock.advance(10)
        screen.redraw()
        assert screen.title_bar.where == "Status - health check poll running for 10 s"
        assert "10 s ago" in str(screen.queue_panel.border_subtitle)


async def test_opening_status_again_goes_back_to_the_open_dashboard() -> None:
    app, _ = make_app([report(T0)])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_dashboard(pilot)
        await pilot.press("f1")
        await pilot.pause()
        app.action_open_status()  # as the command palette would
        await pilot.pause()
        assert app.screen is screen
        assert sum(isinstance(s, DashboardScreen) for s in app.screen_stack) == 1


async def test_a_hung_broker_holds_back_no_other_panel() -> None:
    clock = FakeClock()
    source = FakeStatusSource([report(T0)], clock=clock, delays={"broker": 3600.0})
    app, _ = make_app(source=source, clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, DashboardScreen))
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        answers = screen.model.answers
        await until(pilot, lambda: answers["health"] >= 1 and answers["sync_db"] >= 1)
        assert SYNC_ID in str(screen.health_panel.border_title)
        assert "syncservice" in text_of(screen.databases_panel.body)
        assert "asking the broker" in text_of(screen.queue_panel.body)
        source.add(report(T0 + 1, events_healthy=False))
        await until(pilot, lambda: answers["health"] >= 2)
        assert "UNHEALTHY" in text_of(screen.health_panel.body), "later polls come in too"
        assert answers["broker"] == 0 and source.max_active == 1


async def test_while_the_health_check_is_down_every_check_row_says_stale_in_words() -> None:
    app, source = make_app([report(T0)])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_dashboard(pilot)
        source.add(report(T0 + 20, down=[health_down()]))
        await applied(pilot, 2)
        rows = [line for line in text_of(screen.health_panel.body).splitlines() if "Check" in line]
        assert len(rows) == 3 and all(" STALE " in row for row in rows), rows
        assert not any(row.split()[1] == "healthy" for row in rows), "no stale row looks healthy"
        assert "was healthy" in rows[0]


async def test_started_on_status_the_dashboard_opens_first_with_the_wizards_one_key_away() -> None:
    # What `make practice` runs: python -m syncwizard.tui --profile lab
    from syncwizard.tui.restore.sets import SetChooserScreen

    app, _ = make_app([report(T0)])
    app.start = "status"
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await applied(pilot, 1)
        assert app.screen is screen
        shown = {key: active.binding.description for key, active in app.active_bindings.items()}
        assert shown.get("b") == "Backup" and shown.get("r") == "Restore"
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, SetChooserScreen))
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, WelcomeScreen))


def test_the_practice_entry_opens_the_dashboard(monkeypatch: pytest.MonkeyPatch) -> None:
    import syncwizard.tui.__main__ as entry
    import syncwizard.tui.app as app_module

    started: list[tuple[str | None, object, object]] = []

    def run_tui(
        settings: object,
        error: object,
        *,
        start: str | None = None,
        lab_state: object = None,
        practice: object = None,
    ) -> int:
        started.append((start, lab_state, practice))
        return 0

    monkeypatch.setattr(app_module, "run_tui", run_tui)
    assert entry.main(["--profile", "lab"]) == 0
    [(start, lab_state, practice)] = started
    assert (start, lab_state) == ("status", what_runs)  # the lab screen gets the lab's state
    assert isinstance(practice, LabDesk)  # and the welcome screen's Practice its desk


async def test_each_database_is_shown_with_its_product_and_an_oracle_one_as_not_read() -> None:
    oracle = DatabaseFacts("ALFRESCO", "", 0, 0, product="Oracle", read=False)
    mariadb = DatabaseFacts("syncservice", "10.11.19", 10, 311_296, product="MariaDB")
    polled = dataclasses.replace(
        report(T0),
        databases=(DatabaseStatus("repository_db", oracle), DatabaseStatus("sync_db", mariadb)),
    )
    app, _ = make_app([polled])
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_dashboard(pilot)
        shown = text_of(screen.databases_panel.body)
        assert "Oracle not read: vendor's backup" in " ".join(shown.split())
        assert "MariaDB 10.11.19" in shown and "PostgreSQL" not in shown
