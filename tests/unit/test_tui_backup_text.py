"""How the backup's events read in the TUI: progress rows, log lines, durations, paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncwizard.clients.results import Progress
from syncwizard.errors import SyncWizardError
from syncwizard.runbook.backup.drain import DrainStatus
from syncwizard.runbook.model import EventKind, StepEvent, StepState
from syncwizard.tui.runbook_text import ProgressReader, log_line, short_path
from syncwizard.tui.widgets.step_sidebar import duration


def progress_event(message: str, detail: object, step: str = "x") -> StepEvent:
    return StepEvent(
        run_id="r", kind=EventKind.PROGRESS, step_id=step, message=message, detail=detail
    )


def drain(consumed: int | None, p0: int | None, pending: int = 796) -> DrainStatus:
    return DrainStatus(
        at=0.0,
        elapsed=75.0,
        timeout=1800.0,
        clause=None,
        ready=False,
        confirmed=False,
        pending=pending,
        consumed=consumed,
        p0=p0,
        consumers=1,
    )


def test_a_dump_reads_as_rows_of_the_estimate_with_the_table_under_it() -> None:
    progress = Progress("pg_dump", "data", "public.alf_node", 3 * 2**20, 1_204, 5_000, (), 41.0)
    row = ProgressReader().row(progress_event("...", progress))
    assert row.label == "1,204 of ~5,000 rows (data)"
    assert (row.done, row.total) == (1_204, 5_000)
    assert row.detail == "public.alf_node · 3.0 MiB written · pg_dump running 41 s"


def test_a_dump_without_an_estimate_has_no_bar() -> None:
    progress = Progress("pg_dump", "schema", "", 0, 0, None, (), 0.2)
    row = ProgressReader().row(progress_event("...", progress))
    assert row.total is None and row.label == "0 rows (schema)"


def test_the_wait_reads_n_of_p0_events_consumed_beside_its_bar() -> None:
    row = ProgressReader().row(progress_event("...", drain(1_204, 2_000)))
    assert row.label == "1,204 of 2,000 events consumed"
    assert (row.done, row.total) == (1_204, 2_000)
    assert row.detail == "796 pending · 1 consumer · waited 1 min 15 s of at most 30 min"


def test_the_wait_without_a_count_at_t0_has_no_bar() -> None:
    row = ProgressReader().row(progress_event("...", drain(None, None)))
    assert row.total is None
    assert row.label.startswith("no count at t0")


def test_a_countdown_fills_its_bar_from_the_first_value_it_reports() -> None:
    reader = ProgressReader()
    first = reader.row(progress_event("the doc's wait: 120 s left", 120.0))
    later = reader.row(progress_event("the doc's wait: 30 s left", 30.0))
    assert (first.done, first.total) == (0.0, 120.0)
    assert (later.done, later.total) == (90.0, 120.0)


def test_a_failed_step_logs_its_error_and_hint() -> None:
    error = SyncWizardError("the database went away", hint="is PostgreSQL running?")
    event = StepEvent(
        run_id="r", kind=EventKind.STATE, step_id="sync_db", state=StepState.FAILED, error=error
    )
    line = log_line(event, {"sync_db": "Sync DB backup"})
    assert line == "✗ Sync DB backup failed: the database went away\n  hint: is PostgreSQL running?"


def test_the_repository_snapshot_is_logged_as_t0() -> None:
    event = StepEvent(
        run_id="r",
        kind=EventKind.RECORD,
        step_id="repository_db",
        message="repository_db_snapshot",
        data={"snapshot_at_iso": "2026-01-01T00:00:03.000Z"},
    )
    assert log_line(event, {}) == "  snapshot taken at 2026-01-01T00:00:03.000Z (t0)"
    assert log_line(StepEvent(run_id="r", kind=EventKind.LOG, message="x"), {}) is None


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.4, "<1 s"),
        (41, "41 s"),
        (60, "1 min"),
        (185, "3 min 05 s"),
        (3600, "1 h"),
        (3725, "1 h 02 min"),
    ],
)
def test_durations_read_naturally(seconds: float, text: str) -> None:
    assert duration(seconds) == text


def test_paths_under_home_are_shown_from_tilde(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/admin")
    assert short_path(Path("/home/admin/backups/x")) == "~/backups/x"
    assert short_path("/home/administrator/x") == "/home/administrator/x"
    assert short_path("/var/backups") == "/var/backups"
