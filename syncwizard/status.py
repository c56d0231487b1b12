"""The live state of every system: health, broker, databases, each polled on its own.

`StatusPoller` keeps one client per system open across polls (one HTTP round
trip for all broker numbers per tick) and never lets one system's failure hide
the others: each failure becomes an entry in `StatusReport.errors`, named by
system. `poll_system` polls one system, so a screen can show each system as soon
as it answers (a slow broker never holds back the health check or the
databases); `poll` polls them all at once, for `syncwizard status`. Clients are
imported when the poller is built, not when this module is, so the first screen
of the TUI stays light.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from syncwizard.clients.results import DatabaseFacts, HealthReport, QueueStats, TopicStats
from syncwizard.errors import SyncWizardError

if TYPE_CHECKING:
    from syncwizard.config import Profile

SYSTEMS = ("health", "broker", "repository_db", "sync_db")
ALL_SYSTEMS = frozenset(SYSTEMS)
# How long the first broker poll waits for the health check to name the sync queue.
SYNC_ID_WAIT = 30.0


@dataclass(frozen=True)
class DatabaseStatus:
    role: str  # "repository_db" or "sync_db"
    facts: DatabaseFacts


@dataclass(frozen=True)
class StatusReport:
    """One poll of the systems in `covers` (every system unless said otherwise).

    A system that failed has an entry in `errors`; a system not covered was not
    asked, so it says nothing about that system.
    """

    taken_at: float
    health: tuple[HealthReport, ...] = ()
    queue: QueueStats | None = None
    topic: TopicStats | None = None
    databases: tuple[DatabaseStatus, ...] = ()
    errors: tuple[SyncWizardError, ...] = field(default=())
    covers: frozenset[str] = ALL_SYSTEMS

    @property
    def sync_id(self) -> str | None:
        return self.health[0].sync_id if self.health else None

    def error_for(self, system: str) -> SyncWizardError | None:
        return next((e for e in self.errors if e.system == system), None)

    def database(self, role: str) -> DatabaseFacts | None:
        return next((d.facts for d in self.databases if d.role == role), None)

    @property
    def healthy(self) -> bool:
        """Every system answered, every check is healthy, and a consumer is on the queue."""
        return (
            not self.errors
            and bool(self.health)
            and all(report.healthy for report in self.health)
            and self.queue is not None
            and self.queue.consumers >= 1
        )

    def as_json(self) -> dict[str, Any]:
        """The shape of `syncwizard status --json` (README, "Commands")."""
        first = self.health[0] if self.health else None
        return {
            "healthy": self.healthy,
            "taken_at": self.taken_at,
            "sync_id": self.sync_id,
            "health": {
                check.name: {"healthy": check.healthy, "message": check.message}
                for check in (first.checks if first else ())
            },
            "nodes": [
                {"url": r.url, "http_status": r.http_status, "healthy": r.healthy}
                for r in self.health
            ],
            "queue": None
            if self.queue is None
            else {
                "name": self.queue.name,
                "pending": self.queue.pending,
                "enqueued": self.queue.enqueued,
                "dequeued": self.queue.dequeued,
                "in_flight": self.queue.in_flight,
                "consumers": self.queue.consumers,
            },
            "topic": None
            if self.topic is None
            else {"name": self.topic.name, "enqueued": self.topic.enqueued},
            "databases": {
                d.role: {
                    "name": d.facts.name,
                    "size_bytes": d.facts.size_bytes,
                    "connections": d.facts.connections,
                    "server_version": d.facts.server_version,
                }
                for d in self.databases
            },
            "errors": [error.as_dict() for error in self.errors],
        }


def _as_error(exc: BaseException, system: str) -> SyncWizardError:
    if isinstance(exc, SyncWizardError):
        if not exc.system:
            exc.system = system
        return exc
    return SyncWizardError(
        f"{system}: unexpected {type(exc).__name__}: {exc}",
        hint="this is a bug in syncwizard; please report it with the log",
        system=system,
    )


def merged(parts: list[StatusReport]) -> StatusReport:
    """One report of the systems `parts` cover between them (each part one system)."""
    return StatusReport(
        taken_at=max((part.taken_at for part in parts), default=time.time()),
        health=next((part.health for part in parts if part.health), ()),
        queue=next((part.queue for part in parts if part.queue is not None), None),
        topic=next((part.topic for part in parts if part.topic is not None), None),
        databases=tuple(d for part in parts for d in part.databases),
        errors=tuple(e for part in parts for e in part.errors),
        covers=frozenset().union(*(part.covers for part in parts)),
    )


class StatusPoller:
    """Polls every system of a profile; one instance per dashboard or status run.

    The broker's queue is named after the sync GUID, which the health check
    gives: the first broker poll waits (at most SYNC_ID_WAIT s) for the first
    health poll to end, unless `follow_queue` named the queue.
    """

    def __init__(self, profile: Profile, broker_password: str | None) -> None:
        from syncwizard import systems

        self.profile = profile
        self._health = systems.health_clients(profile)
        self._jolokia = systems.jolokia_client(profile, broker_password)
        self._has_broker_password = broker_password is not None
        self._databases = {
            role: systems.database_probe(profile, role) for role in ("repository_db", "sync_db")
        }
        self._sync_id: str | None = None
        self._queue: str | None = None
        self._topic: str | None = profile.broker.topic
        self._health_polled = asyncio.Event()  # set once a health poll has ended

    async def poll(self) -> StatusReport:
        """Every system at once (the broker after the health check names its queue)."""
        return merged(list(await asyncio.gather(*(self.poll_system(s) for s in SYSTEMS))))

    async def poll_system(self, system: str) -> StatusReport:
        """One poll of `system` (one of SYSTEMS); its failure is in the report's errors."""
        errors: tuple[SyncWizardError, ...] = ()
        health: tuple[HealthReport, ...] = ()
        queue = topic = None
        databases: tuple[DatabaseStatus, ...] = ()
        try:
            if system == "health":
                health = await self._poll_health()
            elif system == "broker":
                queue, topic = await self._poll_broker()
            elif system in self._databases:
                databases = (DatabaseStatus(system, await self._databases[system].facts()),)
            else:
                raise ValueError(f"no system {system!r}; the systems are {', '.join(SYSTEMS)}")
        except Exception as exc:
            errors = (_as_error(exc, system),)
        return StatusReport(
            taken_at=time.time(),
            health=health,
            queue=queue,
            topic=topic,
            databases=databases,
            errors=errors,
            covers=frozenset((system,)),
        )

    def follow_queue(self, queue: str, topic: str | None) -> None:
        """Read `queue` (and `topic`) without waiting for the health check to name it."""
        if self._queue is None:
            self._queue, self._topic = queue, topic or self._topic

    async def _poll_health(self) -> tuple[HealthReport, ...]:
        from syncwizard.clients.health import fetch_cluster

        try:
            health = tuple(await fetch_cluster(self._health))
            if health:
                self._sync_id = health[0].sync_id
            return health
        finally:
            self._health_polled.set()

    async def _sync_id_or_wait(self) -> str | None:
        """The sync GUID; before the first health poll has ended, wait for it."""
        if self._sync_id is None and not self._health_polled.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._health_polled.wait(), SYNC_ID_WAIT)
        return self._sync_id

    async def _poll_broker(self) -> tuple[QueueStats, TopicStats | None]:
        from syncwizard.clients.names import topic_of_queue

        if not self._has_broker_password:
            raise SyncWizardError(
                "no broker password: the Jolokia user "
                f"{self.profile.broker.user!r} needs one to read the queue",
                hint=f"export {self.profile.broker.password_env}=... or set broker.password_file",
                system="broker",
            )
        if self._queue is None:
            sync_id = await self._sync_id_or_wait()
            if self._queue is None:  # followed meanwhile?
                if sync_id is None:
                    raise SyncWizardError(
                        "the sync queue is not known yet: it is named after the sync GUID, "
                        "which comes from the health check",
                        hint="make the health check answer (see the health panel)",
                        system="broker",
                    )
                self._queue = await self._jolokia.find_sync_queue(sync_id, self._topic)
                self._topic = self._topic or topic_of_queue(self._queue)
        try:
            return await self._jolokia.read_stats(self._queue, self._topic)
        except SyncWizardError:
            # The queue may have been removed or renamed: look for it again next tick.
            self._queue, self._topic = None, self.profile.broker.topic
            raise

    async def aclose(self) -> None:
        closers: list[Any] = [c.aclose() for c in self._health]
        closers.append(self._jolokia.aclose())
        closers.extend(p.aclose() for p in self._databases.values())
        await asyncio.gather(*closers, return_exceptions=True)
