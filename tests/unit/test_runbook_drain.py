"""The drain criterion (runbook/backup/drain.py), sample by sample, and the waiting loop."""

from __future__ import annotations

import pytest

from syncwizard.clients.results import QueueStats
from syncwizard.runbook.backup.drain import (
    OLDEST_NEWER,
    P0_CONSUMED,
    QUEUE_EMPTY,
    DrainJudge,
    DrainSample,
    DrainSettings,
    DrainStatus,
    QueueSnapshot,
    clause_holding,
    countdown,
    wait_for_drain,
)
from syncwizard.runbook.model import RefusedError

T0 = 1_000_000.0
QUEUE = "Consumer.guid.VirtualTopic.alfresco.repo.events.nodes"
SETTINGS = DrainSettings(timeout=60, interval=2, confirm=5, skew=2, publish_lag=0, stall_after=20)


def stats(pending: int, dequeued: int, consumers: int = 1) -> QueueStats:
    return QueueStats(QUEUE, pending, dequeued + pending, dequeued, 0, consumers)


def sample(at: float, pending: int, dequeued: int, **kwargs: object) -> DrainSample:
    consumers = int(kwargs.pop("consumers", 1))  # type: ignore[call-overload]
    return DrainSample(
        at=at,
        queue=stats(pending, dequeued, consumers),
        events_healthy=kwargs.pop("events_healthy", True),  # type: ignore[arg-type]
        **kwargs,  # type: ignore[arg-type]
    )


BASELINE = QueueSnapshot(
    taken_at=T0 + 2, pending=100, dequeued=5000, enqueued=5100, consumers=1, dlq_from_queue=0
)


def judge(baseline: QueueSnapshot | None = BASELINE) -> DrainJudge:
    return DrainJudge(QUEUE, T0, baseline, SETTINGS, started_at=T0 + 10)


def test_an_empty_queue_counts_only_after_t0_plus_the_skew() -> None:
    assert clause_holding(sample(T0 + 1, 0, 5000), BASELINE, T0, 2) is None
    assert clause_holding(sample(T0 + 3, 0, 5000), BASELINE, T0, 2) == QUEUE_EMPTY


def test_every_event_pending_at_t0_consumed_holds_on_a_busy_queue() -> None:
    # the repository keeps producing: the queue is never empty, yet P0 were consumed and
    # every event still pending is newer than t0 + margin
    newer = int((T0 + 20) * 1000)
    assert (
        clause_holding(sample(T0 + 30, 40, 5099, oldest_pending_ms=newer), BASELINE, T0, 2)
        is None  # the browse saw only new events, but one of the P0 is not consumed yet
    )
    assert (
        clause_holding(sample(T0 + 31, 40, 5100, oldest_pending_ms=newer), BASELINE, T0, 2)
        == P0_CONSUMED
    )


def test_p0_consumed_is_not_drained_while_an_event_older_than_t0_is_pending() -> None:
    # Two consumers: one holds an event from before t0 in its prefetch, unacknowledged (or
    # it is being redelivered) while the other consumes newer ones: DequeueCount - D0
    # passes P0 with that event still pending. The counter alone would call it drained.
    held = int((T0 - 5) * 1000)
    passed = sample(T0 + 60, 3, 5150, oldest_pending_ms=held, consumers=2)
    assert passed.queue is not None and passed.queue.dequeued - BASELINE.dequeued >= 100
    assert clause_holding(passed, BASELINE, T0, 2) is None
    j = judge()
    status = j.judge(passed)
    assert not status.ready and status.consumed == 150 and status.p0 == 100
    note = status.notes[-1]
    assert "is still pending" in note and "unacknowledged" in note
    assert "1970-01-12T13:46:35Z" in note  # the held event's stamp (T0 - 5)
    # consumed at last: then the next pending is newer, and the wait may end
    after = sample(T0 + 70, 3, 5151, oldest_pending_ms=int((T0 + 50) * 1000), consumers=2)
    assert j.judge(after).ready


def test_an_event_sent_late_within_the_publish_lag_counts_as_before_t0() -> None:
    # committed before t0, sent by the repository's asynchronous sender 8 s later: its
    # JMSTimestamp is after t0, but within the margin (publish lag 10 s + skew 0.5 s)
    late = sample(T0 + 30, 1, 5100, oldest_pending_ms=int((T0 + 8) * 1000))
    assert clause_holding(late, BASELINE, T0, 10.5) is None
    assert clause_holding(late, None, T0, 10.5) is None
    assert clause_holding(sample(T0 + 9, 0, 5100), BASELINE, T0, 10.5) is None
    assert clause_holding(sample(T0 + 11, 0, 5100), BASELINE, T0, 10.5) == QUEUE_EMPTY


def test_the_judge_uses_the_measured_margin_over_the_settings() -> None:
    j = DrainJudge(QUEUE, T0, BASELINE, SETTINGS, started_at=T0 + 10, margin=6.5)
    assert j.effective_margin == 6.5
    assert not j.judge(sample(T0 + 6, 0, 5100)).ready
    assert j.judge(sample(T0 + 7, 0, 5100)).ready
    assert judge().effective_margin == 2  # publish_lag 0 + skew 2: no measure given


def test_the_oldest_pending_event_newer_than_t0_holds_without_a_snapshot() -> None:
    old = sample(T0 + 30, 40, 0, oldest_pending_ms=int((T0 + 1) * 1000))
    new = sample(T0 + 30, 40, 0, oldest_pending_ms=int((T0 + 3) * 1000))
    assert clause_holding(old, None, T0, 2) is None
    assert clause_holding(new, None, T0, 2) == OLDEST_NEWER


def test_the_docs_criterion_is_not_used() -> None:
    # "Messages Dequeued == Number Of Pending Messages" holds halfway: not drained
    halfway = sample(T0 + 30, 50, 50)
    assert clause_holding(halfway, QueueSnapshot(T0, 100, 0, 100, 1), T0, 2) is None


def test_drained_needs_two_samples_confirm_seconds_apart_without_a_break() -> None:
    j = judge(baseline=None)  # an external backup: only "queue empty" can hold here
    assert not j.judge(sample(T0 + 10, 0, 5100)).confirmed
    assert not j.judge(sample(T0 + 12, 7, 5100)).ready  # a burst: the streak breaks
    first = j.judge(sample(T0 + 14, 0, 5107))
    assert first.ready and not first.confirmed
    assert not j.judge(sample(T0 + 18, 0, 5107)).confirmed
    done = j.judge(sample(T0 + 19, 0, 5107))
    assert done.confirmed and done.clause == QUEUE_EMPTY
    assert done.headline.startswith("drained (the queue is empty)")
    assert "no count at t0" in done.headline  # no "n of P0" without a snapshot


def test_the_headline_says_n_of_p0_events_consumed() -> None:
    status = judge().judge(sample(T0 + 10, 60, 5040))
    assert status.headline == "40 of 100 events consumed; 60 pending; 1 consumer"
    assert (status.consumed, status.p0) == (40, 100)


def test_no_consumer_blocks_the_drain_and_says_what_to_check() -> None:
    status = judge().judge(sample(T0 + 10, 0, 5100, consumers=0))
    assert status.clause == QUEUE_EMPTY and not status.ready
    assert "no consumer" in status.problems[0] and "messaging.broker" in status.problems[0]


def test_a_missing_queue_blocks_and_explains_that_events_are_dropped() -> None:
    status = judge().judge(DrainSample(at=T0 + 10, queue=None, events_healthy=True))
    assert not status.ready and "does not exist" in status.problems[0]
    assert "virtual topic" in status.problems[0]


def test_unhealthy_events_check_and_new_dead_letters_block() -> None:
    j = judge()
    assert (
        "eventsHealthCheck" in j.judge(sample(T0 + 10, 0, 5100, events_healthy=False)).problems[0]
    )
    dlq = j.judge(sample(T0 + 12, 0, 5100, dlq_from_queue=3))
    assert not dlq.ready and "3 event(s)" in dlq.problems[0] and "ActiveMQ.DLQ" in dlq.problems[0]
    unknown = j.judge(sample(T0 + 14, 0, 5100, events_healthy=None))
    assert unknown.ready  # Sync 2.1's "unknown" does not block


def test_a_system_not_answering_blocks_with_its_message() -> None:
    status = judge().judge(
        DrainSample(at=T0 + 10, queue=stats(0, 5100), errors=("the broker did not answer: x",))
    )
    assert not status.ready and status.problems == ("the broker did not answer: x",)


def test_a_counter_reset_drops_the_p0_clause_and_says_so() -> None:
    j = judge()
    # the broker restarted: DequeueCount starts again from 0, 30 of the backlog still pending
    status = j.judge(sample(T0 + 10, 30, 70))
    assert j.counters_reset and status.p0 is None and status.consumed is None
    assert "DequeueCount fell below its value at t0" in status.notes[0]
    # 100 dequeued since the restart would have satisfied the old clause: not any more
    assert j.judge(sample(T0 + 12, 5, 100)).clause is None
    assert j.judge(sample(T0 + 14, 0, 105)).clause == QUEUE_EMPTY


def test_a_stall_is_noted_when_nothing_is_consumed_for_a_while() -> None:
    j = judge()
    j.judge(sample(T0 + 10, 50, 5050))
    assert not j.judge(sample(T0 + 20, 50, 5050)).notes
    note = j.judge(sample(T0 + 31, 50, 5050)).notes[-1]
    assert "nothing was consumed for 21 s" in note and "Sync Service log" in note


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


async def test_the_wait_times_out_with_guidance_when_no_consumer_is_attached() -> None:
    clock = FakeClock(T0 + 10)

    async def no_consumer() -> DrainSample:
        return sample(clock.now, 12, 5000, consumers=0)

    seen: list[DrainStatus] = []
    with pytest.raises(RefusedError) as caught:
        await wait_for_drain(no_consumer, judge(), seen.append, clock=clock, sleep=clock.sleep)
    assert "did not drain within 60 s" in caught.value.message
    assert "no consumer is attached" in caught.value.message
    assert "resumes at this wait" in caught.value.hint
    assert 25 <= len(seen) <= 32  # every 2 s for 60 s


async def test_the_wait_ends_when_the_consumer_comes_back() -> None:
    clock = FakeClock(T0 + 10)

    async def comes_back() -> DrainSample:
        if clock.now < T0 + 30:
            return sample(clock.now, 100, 5000, consumers=0)
        return sample(clock.now, 0, 5100)

    status = await wait_for_drain(
        comes_back, judge(), lambda s: None, clock=clock, sleep=clock.sleep
    )
    assert status.confirmed and T0 + 35 <= status.at <= T0 + 40


async def test_the_countdown_reports_the_time_left_down_to_zero() -> None:
    clock = FakeClock(0.0)
    ticks: list[float] = []
    await countdown(3.5, ticks.append, clock=clock, sleep=clock.sleep)
    assert ticks == [3.5, 2.5, 1.5, 0.5, 0.0]
