"""What the dashboard remembers between polls, and how numbers read on screen (no Textual)."""

from __future__ import annotations

import pytest
from support.fake_status import QUEUE, T0, broker_down, report

from syncwizard.clients.results import QueueStats
from syncwizard.errors import SyncWizardError
from syncwizard.status import StatusReport
from syncwizard.tui import formatting
from syncwizard.tui.model import DashboardModel, DequeueRate, Observed


def test_the_rate_spans_successive_samples() -> None:
    rate = DequeueRate()
    rate.add(T0, 100)
    assert rate.per_second is None, "one sample is no rate"
    rate.add(T0 + 2, 180)
    assert rate.per_second == pytest.approx(40.0)


def test_a_counter_that_drops_restarts_the_rate_instead_of_going_negative() -> None:
    rate = DequeueRate()
    rate.add(T0, 5_000)
    rate.add(T0 + 1, 5_050)
    rate.add(T0 + 2, 10)  # broker restarted
    assert rate.per_second is None
    assert rate.reset_at == T0 + 2
    rate.add(T0 + 4, 70)
    assert rate.per_second == pytest.approx(30.0)


def test_the_rate_forgets_samples_older_than_its_window() -> None:
    rate = DequeueRate(window=10)
    rate.add(T0, 0)
    rate.add(T0 + 1, 1_000)  # a burst long ago
    for second in range(2, 30):
        rate.add(T0 + second, 1_000 + (second - 1) * 5)
    assert rate.per_second == pytest.approx(5.0)


def test_a_sample_not_newer_than_the_last_is_ignored() -> None:
    rate = DequeueRate()
    rate.add(T0, 0)
    rate.add(T0 + 1, 10)
    rate.add(T0 + 1, 999)
    assert rate.per_second == pytest.approx(10.0)


def test_observed_keeps_the_last_value_when_the_system_fails() -> None:
    observed: Observed[int] = Observed()
    observed.update(7, T0, None)
    error = SyncWizardError("down", system="broker")
    observed.update(None, T0 + 5, error)
    assert observed.value == 7 and observed.taken_at == T0
    assert observed.stale and observed.error is error
    assert observed.age(T0 + 12) == 12
    observed.update(8, T0 + 13, None)
    assert not observed.stale and observed.value == 8


def test_the_model_tracks_pending_history_and_the_rate() -> None:
    model = DashboardModel(history=3)
    for second in range(5):
        model.apply(report(T0 + second, pending=second, enqueued=100 + 10 * second))
    assert list(model.pending) == [2, 3, 4]
    assert model.dequeue_rate.per_second == pytest.approx(9.0)
    assert model.polls == 5


def test_the_model_keeps_broker_numbers_while_the_broker_is_down() -> None:
    model = DashboardModel()
    model.apply(report(T0, pending=9))
    model.apply(report(T0 + 1, down=[broker_down()]))
    assert model.broker.stale
    assert model.broker.value is not None and model.broker.value.queue.pending == 9
    assert list(model.pending) == [9], "no point is invented while the broker is down"
    assert not model.health.stale and model.health.error is None


def test_another_queue_starts_a_new_history() -> None:
    model = DashboardModel()
    model.apply(report(T0, pending=5))
    moved = QueueStats(QUEUE.replace("Consumer.", "Consumer.x"), 1, 1, 0, 0, 1)
    model.apply(StatusReport(taken_at=T0 + 1, queue=moved))
    assert list(model.pending) == [1]
    assert model.dequeue_rate.per_second is None


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(None, "never"), (0.4, "just now"), (12.9, "12 s ago"), (300, "5 min ago"), (9000, "2 h ago")],
)
def test_ages_read_naturally(seconds: float | None, shown: str) -> None:
    assert formatting.age(seconds) == shown


@pytest.mark.parametrize(
    ("size", "shown"),
    [(512, "512 bytes"), (16_357_785, "15.6 MiB"), (3 * 1024**3, "3.0 GiB")],
)
def test_sizes_read_like_pg_size_pretty(size: int, shown: str) -> None:
    assert formatting.size(size) == shown


def test_counts_rates_and_long_names() -> None:
    assert formatting.count(1234567) == "1,234,567"
    assert formatting.rate(None) == "--"
    assert formatting.rate(49.96) == "50.0"
    short = formatting.middle_ellipsis(QUEUE, 30)
    assert len(short) == 30 and short.startswith("Consumer.") and short.endswith("nodes")
    assert formatting.middle_ellipsis("short", 30) == "short"
