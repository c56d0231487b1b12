"""The live state of every system, polled together: health, broker, databases.

`StatusPoller` keeps one client per system open across polls (one HTTP round
trip for all broker numbers per tick) and never lets one system's failure hide
the others: each failure becomes an entry in `StatusReport.errors`, named by
system. Clients are imported when the poller is built, not when this module is,
so the first screen of the TUI stays light.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from syncwizard.clients.results import DatabaseFacts, HealthReport, QueueStats, TopicStats
from syncwizard.errors import SyncWizardError

if TYPE_CHECKING:
    from syncwizard.config import Profile

SYSTEMS = ("health", "broker", "repository_db", "sync_db")


@dataclass(frozen=True)
class DatabaseStatus:
    role: str  # "repository_db" or "sync_db"
    facts: DatabaseFacts


@dataclass(frozen=True)
class StatusReport:
    """One poll of every system. A system that failed has an entry in `errors`."""

    taken_at: float
    health: tuple[HealthReport, ...] = ()
    queue: QueueStats | None = None
    topic: TopicStats | None = None
    databases: tuple[DatabaseStatus, ...] = ()
    errors: tuple[SyncWizardError, ...] = field(default=())

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
        """The shape of `syncwizard status --json` (DESIGN section 5)."""
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


class StatusPoller:
    """Polls every system of a profile; one instance per dashboard or status run."""

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

    async def poll(self) -> StatusReport:
        health_task = asyncio.ensure_future(self._poll_health())
        db_tasks = {role: asyncio.ensure_future(p.facts()) for role, p in self._databases.items()}
        errors: list[SyncWizardError] = []
        health: tuple[HealthReport, ...] = ()
        try:
            health = await health_task
        except Exception as exc:
            errors.append(_as_error(exc, "health"))
        if health:
            self._sync_id = health[0].sync_id
        queue = topic = None
        try:
            queue, topic = await self._poll_broker()
        except Exception as exc:
            errors.append(_as_error(exc, "broker"))
        databases = []
        for role, task in db_tasks.items():
            try:
                databases.append(DatabaseStatus(role, await task))
            except Exception as exc:
                errors.append(_as_error(exc, role))
        return StatusReport(
            taken_at=time.time(),
            health=health,
            queue=queue,
            topic=topic,
            databases=tuple(databases),
            errors=tuple(errors),
        )

    def follow_queue(self, queue: str, topic: str | None) -> None:
        """Read `queue` (and `topic`) without waiting for the health check to name it."""
        if self._queue is None:
            self._queue, self._topic = queue, topic or self._topic

    async def _poll_health(self) -> tuple[HealthReport, ...]:
        from syncwizard.clients.health import fetch_cluster

        return tuple(await fetch_cluster(self._health))

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
            if self._sync_id is None:
                raise SyncWizardError(
                    "the sync queue is not known yet: it is named after the sync GUID, "
                    "which comes from the health check",
                    hint="make the health check answer (see the health panel)",
                    system="broker",
                )
            self._queue = await self._jolokia.find_sync_queue(self._sync_id, self._topic)
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
