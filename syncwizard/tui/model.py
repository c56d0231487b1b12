"""What the dashboard knows between polls: last good values, their age, history, rates.

No Textual here: the dashboard feeds each `StatusReport` to `DashboardModel.apply`
and renders what it holds. A report may cover one system only (each system is
polled on its own); the others are left as they are. A system whose latest poll
failed keeps its last value (and when it was taken) next to the error, so its
panel can show both.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Generic, TypeVar

from syncwizard.clients.results import DatabaseFacts, HealthReport, QueueStats, TopicStats
from syncwizard.errors import SyncWizardError
from syncwizard.status import SYSTEMS, StatusReport

T = TypeVar("T")

DATABASE_ROLES = ("repository_db", "sync_db")
PENDING_HISTORY = 60  # polls of pending kept for the sparkline


@dataclass
class Observed(Generic[T]):
    """The last value one system gave, when it was taken, and the error of the latest poll."""

    value: T | None = None
    taken_at: float | None = None
    error: SyncWizardError | None = None

    def update(self, value: T | None, taken_at: float, error: SyncWizardError | None) -> None:
        if value is not None:
            self.value, self.taken_at = value, taken_at
        self.error = error

    @property
    def stale(self) -> bool:
        """The system stopped answering; what we show is its last answer."""
        return self.error is not None and self.value is not None

    def age(self, now: float) -> float | None:
        return None if self.taken_at is None else max(0.0, now - self.taken_at)


@dataclass(frozen=True)
class BrokerNumbers:
    queue: QueueStats
    topic: TopicStats | None


class DequeueRate:
    """Messages dequeued per second, from successive `DequeueCount` samples.

    The rate spans the samples of the last `window` seconds, so one slow poll
    does not make it jump. `DequeueCount` is cumulative since the broker
    started: when it drops (broker restart, queue removed and recreated) the
    samples before the drop are useless, so the rate starts again from the new
    value instead of going negative.
    """

    def __init__(self, window: float = 10.0) -> None:
        self.window = window
        self._samples: deque[tuple[float, int]] = deque()
        self.reset_at: float | None = None  # when the counter last went backwards

    def add(self, taken_at: float, dequeued: int) -> None:
        if self._samples:
            last_at, last_count = self._samples[-1]
            if taken_at <= last_at:
                return
            if dequeued < last_count:
                self._samples.clear()
                self.reset_at = taken_at
        self._samples.append((taken_at, dequeued))
        while len(self._samples) > 2 and taken_at - self._samples[0][0] > self.window:
            self._samples.popleft()

    def restart(self) -> None:
        """Forget every sample (another queue is being watched now)."""
        self._samples.clear()
        self.reset_at = None

    @property
    def per_second(self) -> float | None:
        if len(self._samples) < 2:
            return None
        (first_at, first_count), (last_at, last_count) = self._samples[0], self._samples[-1]
        return (last_count - first_count) / (last_at - first_at)


class DashboardModel:
    """Everything the dashboard shows, updated one report at a time."""

    def __init__(self, history: int = PENDING_HISTORY) -> None:
        self.health: Observed[tuple[HealthReport, ...]] = Observed()
        self.broker: Observed[BrokerNumbers] = Observed()
        self.databases: dict[str, Observed[DatabaseFacts]] = {
            role: Observed() for role in DATABASE_ROLES
        }
        self.pending: deque[int] = deque(maxlen=history)
        self.dequeue_rate = DequeueRate()
        self.answers: dict[str, int] = dict.fromkeys(SYSTEMS, 0)  # polls applied, by system

    @property
    def polls(self) -> int:
        """How many polls every system has had applied (the slowest system's count)."""
        return min(self.answers.values())

    @property
    def sync_id(self) -> str | None:
        reports = self.health.value
        return reports[0].sync_id if reports else None

    def apply(self, report: StatusReport) -> None:
        """Take in what `report` says of the systems it covers; the others stay as they are."""
        at, covers = report.taken_at, report.covers
        for system in covers & self.answers.keys():
            self.answers[system] += 1
        if "health" in covers:
            self.health.update(report.health or None, at, report.error_for("health"))
        if "broker" in covers:
            self._apply_broker(report, at)
        for role, observed in self.databases.items():
            if role in covers:
                observed.update(report.database(role), at, report.error_for(role))

    def _apply_broker(self, report: StatusReport, at: float) -> None:
        numbers = None if report.queue is None else BrokerNumbers(report.queue, report.topic)
        previous = self.broker.value
        self.broker.update(numbers, at, report.error_for("broker"))
        if numbers is not None:
            if previous is not None and previous.queue.name != numbers.queue.name:
                self.pending.clear()
                self.dequeue_rate.restart()
            self.pending.append(numbers.queue.pending)
            self.dequeue_rate.add(at, numbers.queue.dequeued)
