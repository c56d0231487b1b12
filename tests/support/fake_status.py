"""A deterministic stand-in for the real poller: scripted reports and a clock you set.

Used by the TUI tests, the snapshot tests and `scripts/screenshots.py`. Nothing
here talks to a network; every timestamp derives from `T0`.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterable, Mapping
from pathlib import Path

from syncwizard.clients.results import (
    DatabaseFacts,
    HealthCheck,
    HealthReport,
    QueueStats,
    Session,
    TopicStats,
)
from syncwizard.config import (
    BrokerSettings,
    DatabaseSettings,
    HealthSettings,
    Profile,
    Settings,
    UiSettings,
)
from syncwizard.errors import SyncWizardError
from syncwizard.status import SYSTEMS, DatabaseStatus, StatusReport, merged

T0 = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC: every fake timestamp counts from here
SYNC_ID = "5f1c2a3e-8b7d-4c6e-9a0f-1b2c3d4e5f60"
HEALTH_URL = "https://127.0.0.1:9090/alfresco/healthcheck"
QUEUE = f"Consumer.{SYNC_ID}.VirtualTopic.alfresco.repo.events.nodes"
TOPIC = "VirtualTopic.alfresco.repo.events.nodes"
CONFIG_PATH = Path("/home/admin/.config/syncwizard/config.toml")


class FakeClock:
    """A clock that only moves when told to; pass it where the app takes `clock=`."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class CreepingClock:
    """For `time.time` in snapshot tests: from `start`, a microsecond more at each call, so
    times recorded by a run (a step's start and end, a seal) read the same every run."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 1e-6
        return self.now


def part_of(report: StatusReport, system: str) -> StatusReport:
    """What `report` says of `system` alone, as a poll of that one system answers."""
    return StatusReport(
        taken_at=report.taken_at,
        health=report.health if system == "health" else (),
        queue=report.queue if system == "broker" else None,
        topic=report.topic if system == "broker" else None,
        databases=tuple(d for d in report.databases if d.role == system),
        errors=tuple(e for e in report.errors if e.system == system),
        covers=frozenset((system,)),
    )


class FakeStatusSource:
    """Answers polls with scripted reports, in order, then waits for more.

    Each system is polled on its own (`poll_system`, as the screens do) and
    walks the script at its own pace: its n-th answer is what the n-th report
    says of it. After the script is used up, a poll waits until `add()`
    supplies another report (or the source is closed), so a screen fed by it
    settles and stays still for a snapshot. With a `clock`, each answer sets it
    to the report's `taken_at` plus `lag`, which makes every age on screen
    deterministic. `delay` makes each poll slow, to check that polls never
    overlap; `delays` makes one system's polls slow (a broker behind a VPN).
    """

    def __init__(
        self,
        reports: Iterable[StatusReport] = (),
        *,
        clock: FakeClock | None = None,
        lag: float = 0.0,
        delay: float = 0.0,
        delays: Mapping[str, float] | None = None,
    ) -> None:
        self.script: list[StatusReport] = list(reports)
        self.clock = clock
        self.lag = lag
        self.delays = {system: delay for system in SYSTEMS} | dict(delays or {})
        self.answered: dict[str, int] = dict.fromkeys(SYSTEMS, 0)  # answers given, by system
        self.active: dict[str, int] = dict.fromkeys(SYSTEMS, 0)  # polls running, by system
        self.max_active = 0  # the most polls of one system ever running at once
        self.closed = False
        self.followed: tuple[str, str | None] | None = None  # the queue it was told to read
        self._more = asyncio.Event()

    def add(self, *reports: StatusReport) -> None:
        self.script.extend(reports)
        self._more.set()

    @property
    def polls(self) -> int:
        """Reports answered for every system."""
        return min(self.answered.values())

    @property
    def exhausted(self) -> bool:
        """Every scripted report has been answered, for every system."""
        return self.polls >= len(self.script)

    def follow_queue(self, queue: str, topic: str | None) -> None:
        self.followed = (queue, topic)

    async def poll(self) -> StatusReport:
        return merged(list(await asyncio.gather(*(self.poll_system(s) for s in SYSTEMS))))

    async def poll_system(self, system: str) -> StatusReport:
        self.active[system] += 1
        self.max_active = max(self.max_active, self.active[system])
        try:
            if self.delays.get(system):
                await asyncio.sleep(self.delays[system])
            while self.answered[system] >= len(self.script):
                self._more.clear()
                await self._more.wait()
            report = self.script[self.answered[system]]
            self.answered[system] += 1
            if self.clock is not None:
                self.clock.now = report.taken_at + self.lag
            return part_of(report, system)
        finally:
            self.active[system] -= 1

    async def aclose(self) -> None:
        self.closed = True


def demo_settings(
    *, profile: str = "lab", other_nodes: tuple[str, ...] = (), ui: UiSettings | None = None
) -> Settings:
    """Settings for a lab-like profile on 127.0.0.1; nothing is read from disk."""
    return Settings(
        config_path=CONFIG_PATH,
        profile=Profile(
            name=profile,
            health=HealthSettings(url=HEALTH_URL, other_nodes=other_nodes),
            broker=BrokerSettings(jolokia_url="http://127.0.0.1:8161/api/jolokia"),
            repository_db=DatabaseSettings("host=127.0.0.1 port=15432 dbname=alfresco"),
            sync_db=DatabaseSettings("host=127.0.0.1 port=15432 dbname=syncservice"),
        ),
        ui=ui or UiSettings(),
        profiles=("prod", "lab"),
    )


def health_report(
    taken_at: float,
    *,
    url: str = HEALTH_URL,
    events_healthy: bool | None = True,
    lag_seconds: float = 0.4,
) -> HealthReport:
    """The eight checks of a Sync Service health answer (alphabetical, as Dropwizard sends)."""
    events_message = f"event lag {lag_seconds:.1f} s (tolerance 5.0 s)"
    checks = (
        HealthCheck("activeMQConnection", True, "connected to tcp://127.0.0.1:61616"),
        HealthCheck("databaseConnection", True, "connected to syncservice"),
        HealthCheck("deadlocks", True, ""),
        HealthCheck("eventsHealthCheck", events_healthy, events_message),
        HealthCheck("minimumClientVersion", True, "1.2"),
        HealthCheck("repositoryConnection", True, "http://127.0.0.1:8080/alfresco"),
        HealthCheck("syncServiceIdCheck", True, SYNC_ID),
        HealthCheck("versionCheck", True, "    5.0.0 (2024-04-10T09:00:00Z)"),
    )
    status = 200 if all(c.healthy for c in checks) else 500
    return HealthReport(url, status, checks, SYNC_ID, fetched_at=taken_at, duration_ms=3.0)


def database(name: str, size_bytes: int, other_sessions: int) -> DatabaseFacts:
    sessions = tuple(
        Session(pid=4100 + n, user=name, application="alfresco", client="127.0.0.1", state="idle")
        for n in range(other_sessions)
    )
    return DatabaseFacts(name, "15.18", 15, size_bytes, sessions)


def report(
    taken_at: float,
    *,
    pending: int = 12,
    enqueued: int = 48_210,
    dequeued: int | None = None,
    consumers: int = 1,
    nodes: tuple[str, ...] = (HEALTH_URL,),
    events_healthy: bool | None = True,
    down: Iterable[SyncWizardError] = (),
) -> StatusReport:
    """A full report; systems named in `down` have their error and no data."""
    errors = tuple(down)
    failed = {error.system for error in errors}
    dequeued = enqueued - pending if dequeued is None else dequeued
    queue = QueueStats(QUEUE, pending, enqueued, dequeued, min(pending, 5), consumers)
    return StatusReport(
        taken_at=taken_at,
        health=()
        if "health" in failed
        else tuple(health_report(taken_at, url=u, events_healthy=events_healthy) for u in nodes),
        queue=None if "broker" in failed else queue,
        topic=None if "broker" in failed else TopicStats(TOPIC, enqueued + 1_302, 1),
        databases=tuple(
            DatabaseStatus(role, facts)
            for role, facts in (
                ("repository_db", database("alfresco", 16_357_785, 2)),
                ("sync_db", database("syncservice", 9_543_270, 1)),
            )
            if role not in failed
        ),
        errors=errors,
    )


def broker_down() -> SyncWizardError:
    return SyncWizardError(
        "cannot reach Jolokia at http://127.0.0.1:8161/api/jolokia: connection refused",
        hint="is the broker running? `syncwizard lab status` says what runs",
        system="broker",
    )


def health_down() -> SyncWizardError:
    return SyncWizardError(
        f"no answer from {HEALTH_URL} within 5 s",
        hint="is the Sync Service running? check its log, then the URL in the profile",
        system="health",
    )


def demo_reports(count: int = 60, *, start: float = T0, rate: int = 50) -> list[StatusReport]:
    """`count` reports one second apart: events flow in at `rate`/s, pending rises and falls."""
    reports = []
    enqueued = 48_210
    for tick in range(count):
        enqueued += rate
        pending = round(40 + 35 * math.sin(tick / 6) + 10 * math.sin(tick / 2.3))
        reports.append(report(start + tick, pending=max(pending, 0), enqueued=enqueued))
    return reports


def demo_reports_broker_down(
    count: int = 60, down_for: int = 12, *, start: float = T0
) -> list[StatusReport]:
    """Like `demo_reports`, but the broker stops answering for the last `down_for` polls."""
    reports = demo_reports(count - down_for, start=start)
    last = count - down_for
    reports += [report(start + last + n, down=[broker_down()]) for n in range(down_for)]
    return reports
