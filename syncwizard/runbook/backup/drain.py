"""When has the Sync Service tracked the repository backup? The drain criterion, as pure
logic plus one waiting loop with injected sampling.

t0 is the repository backup's snapshot time, read on the database server's clock. The
margin after t0 is backup.publish_lag (how long the repository may hold the event of a
committed change in its asynchronous sender) plus the clock skew measured between the
database server, the broker and this host (clocks.py; refused past backup.clock_skew).
P0 (QueueSize) and D0 (DequeueCount) are read at t0 + margin, so the events of changes
committed before t0 but published after it are counted. The queue is drained when it
exists, ConsumerCount >= 1, eventsHealthCheck is healthy, no new ActiveMQ.DLQ message
came from the queue, and one of:
  - QueueSize == 0, sampled after t0 + margin;
  - the oldest pending message (Jolokia browse, JMSTimestamp) is newer than t0 + margin,
    and, with a snapshot at t0, DequeueCount - D0 >= P0 as well.
The counter alone is not enough: it assumes the queue is consumed in order, and several
consumers, prefetch and redeliveries break that (a message held unacknowledged by one
consumer while the others consume newer ones raises DequeueCount past P0 with an event
older than t0 still pending). Two samples at least `confirm` seconds apart must agree.
If DequeueCount drops below D0 the broker restarted (or its statistics were reset): the
counter is no longer required from then on, and the status says so. For an external
backup there is no queue snapshot at t0: the counter is not required either.

Limits: Jolokia's browse() returns at most 400 messages (dispatched but unacknowledged
ones included), so the oldest-pending check looks at the first 400 pending and the
dead-letter check at the first 400 on ActiveMQ.DLQ (a DLQ holding older junk beyond that
hides new arrivals). Purges and expiries also raise DequeueCount; nothing on the broker
tells them from consumption. The repository host's clock (it stamps the events) cannot be
read; the broker's clock stands in for it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from syncwizard.clients.results import QueueStats
from syncwizard.runbook.backup.clocks import iso_ms
from syncwizard.runbook.model import RefusedError


def iso_second(at: float) -> str:
    return iso_ms(at)[:19] + "Z"


QUEUE_EMPTY = "the queue is empty"
P0_CONSUMED = "every event pending at t0 was consumed, none older left"
OLDEST_NEWER = "the oldest pending event is newer than t0"


@dataclass(frozen=True)
class DrainSettings:
    timeout: float = 1800.0  # give up, with guidance, after this long
    interval: float = 2.0  # seconds between two samples
    confirm: float = 5.0  # two drained samples at least this far apart
    skew: float = 2.0  # the clock skew allowed between the hosts (backup.clock_skew)
    publish_lag: float = 10.0  # the repository's sender may hold an event this long
    stall_after: float = 120.0  # pending > 0 and nothing consumed for this long: say so


@dataclass(frozen=True)
class QueueSnapshot:
    """The queue's counters at t0 (P0 = pending, D0 = dequeued)."""

    taken_at: float
    pending: int
    dequeued: int
    enqueued: int
    consumers: int
    dlq_from_queue: int | None = None  # messages in ActiveMQ.DLQ that came from the queue

    @classmethod
    def of(cls, stats: QueueStats, taken_at: float, dlq: int | None) -> QueueSnapshot:
        return cls(taken_at, stats.pending, stats.dequeued, stats.enqueued, stats.consumers, dlq)

    def as_json(self) -> dict[str, Any]:
        return {
            "taken_at": self.taken_at,
            "pending": self.pending,
            "dequeued": self.dequeued,
            "enqueued": self.enqueued,
            "consumers": self.consumers,
            "dlq_from_queue": self.dlq_from_queue,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> QueueSnapshot:
        return cls(
            taken_at=float(data["taken_at"]),
            pending=int(data["pending"]),
            dequeued=int(data["dequeued"]),
            enqueued=int(data["enqueued"]),
            consumers=int(data["consumers"]),
            dlq_from_queue=data.get("dlq_from_queue"),
        )


@dataclass(frozen=True)
class DrainSample:
    """One look at the systems during the wait."""

    at: float
    queue: QueueStats | None  # None: the queue does not exist (or the broker did not answer)
    oldest_pending_ms: int | None = None  # JMSTimestamp of the oldest pending message
    events_healthy: bool | None = None  # eventsHealthCheck; None: not known
    dlq_from_queue: int | None = None
    errors: tuple[str, ...] = ()  # systems that did not answer, with their message


@dataclass(frozen=True)
class DrainStatus:
    """The verdict on one sample: what the wait screen shows."""

    at: float
    elapsed: float
    timeout: float
    clause: str | None  # the clause that holds, None when none does
    ready: bool  # this sample is drained (a clause holds and no problem blocks)
    confirmed: bool  # drained, and agreed by a sample at least `confirm` seconds earlier
    pending: int | None
    consumed: int | None  # DequeueCount - D0 (None without a snapshot or after a reset)
    p0: int | None
    consumers: int | None
    problems: tuple[str, ...] = ()  # what blocks the drain, each with what to check
    notes: tuple[str, ...] = ()  # facts worth saying (counter reset, a stall)

    @property
    def headline(self) -> str:
        if self.consumed is not None and self.p0 is not None:
            shown = min(self.consumed, self.p0)
            text = f"{shown:,} of {self.p0:,} events consumed"
        elif self.pending is not None:
            text = "no count at t0 (the oldest pending event is watched)"
        else:
            text = "queue not readable"
        if self.pending is not None:
            text += f"; {self.pending:,} pending"
        if self.consumers is not None:
            text += f"; {self.consumers} consumer{'s' if self.consumers != 1 else ''}"
        if self.confirmed:
            return f"drained ({self.clause}): {text}"
        if self.ready:
            return f"drained ({self.clause}), confirming: {text}"
        return text

    @property
    def text(self) -> str:
        """The headline, then what blocks the drain and what is worth knowing."""
        return "\n".join([self.headline, *self.problems, *self.notes])

    def as_json(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "elapsed": round(self.elapsed, 1),
            "clause": self.clause,
            "ready": self.ready,
            "confirmed": self.confirmed,
            "pending": self.pending,
            "consumed": self.consumed,
            "p0": self.p0,
            "consumers": self.consumers,
            "problems": list(self.problems),
            "notes": list(self.notes),
        }


def clause_holding(
    sample: DrainSample,
    baseline: QueueSnapshot | None,
    t0: float,
    margin: float,
) -> str | None:
    """The first drain clause that holds for this sample, or None. `margin` is the publish
    lag plus the measured clock skew (ClockCheck.margin)."""
    queue = sample.queue
    if queue is None:
        return None
    if queue.pending == 0 and sample.at >= t0 + margin:
        return QUEUE_EMPTY
    oldest = sample.oldest_pending_ms
    if oldest is None or oldest / 1000 <= t0 + margin:
        return None  # an event from before t0 may still be pending (or it was not browsed)
    if baseline is None:
        return OLDEST_NEWER
    if queue.dequeued - baseline.dequeued >= max(baseline.pending, 0):
        return P0_CONSUMED
    return None  # the browse saw only new events, but fewer than P0 left: some not seen


def blocking_problems(
    sample: DrainSample, baseline: QueueSnapshot | None, queue_name: str
) -> list[str]:
    """What forbids calling the queue drained, each with what to check."""
    problems = list(sample.errors)
    queue = sample.queue
    if queue is None and not sample.errors:
        problems.append(
            f"the queue {queue_name} does not exist: repository events are not kept for the "
            "Sync Service (a virtual topic copies them only into queues that exist). Check that "
            "the Sync Service runs and is subscribed."
        )
    elif queue is not None and queue.consumers < 1:
        problems.append(
            f"no consumer is attached to {queue_name}: the Sync Service is not consuming. "
            "Check that it runs (its log, `syncwizard status`) and that its messaging.broker "
            "settings point at this broker."
        )
    if sample.events_healthy is False:
        problems.append(
            "eventsHealthCheck is unhealthy: the Sync Service lags behind the events "
            "(see its health check and log)."
        )
    if baseline is not None and baseline.dlq_from_queue is not None:
        new_dlq = (sample.dlq_from_queue or 0) - baseline.dlq_from_queue
        if new_dlq > 0:
            problems.append(
                f"{new_dlq} event(s) of {queue_name} went to ActiveMQ.DLQ since t0: the Sync "
                "Service failed to process them. Check its log before trusting this backup."
            )
    return problems


@dataclass
class DrainJudge:
    """Judges successive samples: confirmation, counter resets and stalls."""

    queue_name: str
    t0: float
    baseline: QueueSnapshot | None
    settings: DrainSettings
    started_at: float
    margin: float | None = None  # publish lag + measured skew; settings' without a measure
    counters_reset: bool = False
    _drained_since: float | None = None
    _last_dequeued: int | None = None
    _moved_at: float | None = None
    notes: list[str] = field(default_factory=list)

    def judge(self, sample: DrainSample) -> DrainStatus:
        if (
            self.baseline is not None
            and sample.queue is not None
            and sample.queue.dequeued < self.baseline.dequeued
            and not self.counters_reset
        ):
            self.counters_reset = True
            self.notes.append(
                f"DequeueCount fell below its value at t0 ({sample.queue.dequeued:,} < "
                f"{self.baseline.dequeued:,}): the broker restarted or its statistics were "
                "reset, so 'n of P0 consumed' is no longer required"
            )
        queue = None if self.counters_reset else self.baseline
        clause = clause_holding(sample, queue, self.t0, self.effective_margin)
        problems = blocking_problems(sample, self.baseline, self.queue_name)
        ready = clause is not None and not problems
        if not ready:
            self._drained_since = None
        elif self._drained_since is None:
            self._drained_since = sample.at
        confirmed = ready and sample.at - (self._drained_since or sample.at) >= (
            self.settings.confirm
        )
        stall = self._stall_note(sample) or self._held_note(sample, queue)
        consumed = None
        if queue is not None and sample.queue is not None:
            consumed = sample.queue.dequeued - queue.dequeued
        return DrainStatus(
            at=sample.at,
            elapsed=sample.at - self.started_at,
            timeout=self.settings.timeout,
            clause=clause,
            ready=ready,
            confirmed=confirmed,
            pending=sample.queue.pending if sample.queue else None,
            consumed=consumed,
            p0=queue.pending if queue is not None else None,
            consumers=sample.queue.consumers if sample.queue else None,
            problems=tuple(problems),
            notes=tuple(self.notes + ([stall] if stall else [])),
        )

    @property
    def effective_margin(self) -> float:
        if self.margin is not None:
            return self.margin
        return self.settings.publish_lag + self.settings.skew

    def _held_note(self, sample: DrainSample, baseline: QueueSnapshot | None) -> str | None:
        """Why "P0 of P0 consumed" is not drained: an older event is still pending."""
        oldest, stats = sample.oldest_pending_ms, sample.queue
        if baseline is None or stats is None or oldest is None:
            return None
        if stats.dequeued - baseline.dequeued < baseline.pending:
            return None
        if oldest / 1000 > self.t0 + self.effective_margin:
            return None
        return (
            f"P0 events were dequeued, yet one stamped {iso_second(oldest / 1000)} (before "
            f"t0 + {self.effective_margin:.1f} s) is still pending: a consumer holds it "
            "unacknowledged (prefetch) or it is being redelivered; the wait goes on until "
            "it is consumed"
        )

    def _stall_note(self, sample: DrainSample) -> str | None:
        if sample.queue is None:
            return None
        if self._last_dequeued is None or sample.queue.dequeued != self._last_dequeued:
            self._last_dequeued, self._moved_at = sample.queue.dequeued, sample.at
            return None
        still = sample.at - (self._moved_at or sample.at)
        if sample.queue.pending > 0 and still >= self.settings.stall_after:
            return (
                f"nothing was consumed for {still:.0f} s while {sample.queue.pending:,} events "
                "are pending: check the Sync Service log for errors, its database connection "
                "and eventsHealthCheck"
            )
        return None


def timeout_error(status: DrainStatus, queue_name: str) -> RefusedError:
    """The refusal when the wait times out, with guidance fitting what was seen last."""
    reasons = list(status.problems) or [n for n in status.notes if "nothing was consumed" in n]
    if not reasons:
        pending = f"{status.pending:,}" if status.pending is not None else "some"
        reasons = [
            f"{pending} events are still pending on {queue_name}: the Sync Service consumes "
            "more slowly than the repository produces, or it is busy"
        ]
    return RefusedError(
        f"the queue did not drain within {status.timeout:g} s ({status.headline}). "
        + " ".join(reasons),
        hint="fix the cause, then run `syncwizard backup` again: the run resumes at this wait "
        "(the repository dump is kept). Raise backup.drain_timeout for a busy repository, or "
        'use the doc\'s countdown (backup.wait_mode = "countdown") if the counters cannot be '
        "trusted.",
        system="broker",
    )


Sampler = Callable[[], Awaitable[DrainSample]]


async def wait_for_drain(
    sample: Sampler,
    judge: DrainJudge,
    on_status: Callable[[DrainStatus], None],
    *,
    clock: Callable[[], float] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> DrainStatus:
    """Sample until drained and confirmed; raise RefusedError at the timeout. The clock is
    `time.time` as it is when the wait starts, the one `judge.started_at` was read from."""
    clock = clock or time.time
    settings = judge.settings
    deadline = judge.started_at + settings.timeout
    while True:
        status = judge.judge(await sample())
        on_status(status)
        if status.confirmed:
            return status
        if clock() >= deadline:
            raise timeout_error(status, judge.queue_name)
        await sleep(max(0.0, min(settings.interval, deadline - clock())))


async def countdown(
    seconds: float,
    on_tick: Callable[[float], None],
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    tick: float = 1.0,
) -> None:
    """The doc's simple alternative: wait `seconds`, reporting the time left every tick."""
    end = clock() + seconds
    while (left := end - clock()) > 0:
        on_tick(left)
        await sleep(min(tick, left))
    on_tick(0.0)
