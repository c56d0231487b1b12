"""The outside systems as the restore runbook sees them: the backup runbook's view (health,
broker, databases) plus the service commands, the pending events and the queue's fate."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from syncwizard.clients.event_archive import QueueArchive, archive_queue
from syncwizard.clients.health import fetch_cluster
from syncwizard.clients.results import HealthReport
from syncwizard.clients.service import ServiceControl
from syncwizard.config import Profile, ServiceSettings
from syncwizard.errors import SyncWizardError
from syncwizard.runbook.backup_systems import BackupSystems


def service_control(name: str, settings: ServiceSettings) -> ServiceControl:
    return ServiceControl(
        name,
        stop=settings.stop,
        start=settings.start,
        start_with_recover=settings.start_with_recover,
        timeout=settings.timeout,
    )


class RestoreSystems(BackupSystems):
    def __init__(self, profile: Profile, broker_password: str | None) -> None:
        super().__init__(profile, broker_password)
        self.sync_service = service_control("sync_service", profile.sync_service)
        self.repository = service_control("repository", profile.repository)

    def require_broker_password(self) -> str:
        if self.broker_password is None:
            broker = self.profile.broker
            raise SyncWizardError(
                f"no broker password: the Jolokia user {broker.user!r} needs one to read, "
                "archive and purge the queue",
                hint=f"export {broker.password_env}=... or set broker.password_file",
                system="broker",
            )
        return self.broker_password

    async def health_reports(self) -> list[HealthReport]:
        return await fetch_cluster(self.health)

    async def queue_exists(self, queue: str) -> bool:
        return queue in await self.jolokia.list_queues()

    async def consumers_on(self, queue: str) -> int | None:
        """ConsumerCount of the queue; None when it does not exist."""
        stats, _ = await self.queue_counters(queue)
        return None if stats is None else stats.consumers

    async def pending_on(self, queue: str) -> int | None:
        stats, _ = await self.queue_counters(queue)
        return None if stats is None else stats.pending

    async def wait_for_consumers_gone(self, queue: str, timeout: float) -> int | None:
        """Wait until no consumer is attached (a stopped service lets go of its session);
        the last count seen."""
        deadline = time.monotonic() + timeout
        while True:
            count = await self.consumers_on(queue)
            if not count or time.monotonic() >= deadline:
                return count
            await asyncio.sleep(1.0)

    async def archive(
        self, queue: str, path: Path, on_progress: Callable[[int], None]
    ) -> QueueArchive:
        """Every pending event of `queue` into `path`, counted against QueueSize."""
        broker = self.profile.broker
        return await archive_queue(
            self.jolokia,
            broker.stomp,
            broker.user,
            self.require_broker_password(),
            queue,
            path,
            on_progress=on_progress,
        )

    async def purge(self, queue: str, *, settle: float = 10.0) -> int:
        """Purge the queue and wait until it reports nothing pending; what was pending."""
        before = await self.pending_on(queue) or 0
        await self.jolokia.purge(queue)
        deadline = time.monotonic() + settle
        while (pending := await self.pending_on(queue)) and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        if pending:
            raise SyncWizardError(
                f"queue {queue} still reports {pending} pending after the purge",
                hint="a producer is still sending (stop the repository) or consumers hold "
                "messages in flight (stop the Sync Service); then run this step again",
                system="broker",
            )
        return before

    async def delete_topic_and_queue(self, queue: str, topic: str | None) -> dict[str, bool]:
        """Remove the queue, then its topic; which of them are gone afterwards."""
        if await self.queue_exists(queue):
            await self.jolokia.remove_queue(queue)
        if topic and topic in await self.jolokia.list_topics():
            await self.jolokia.remove_topic(topic)
        queues = await self.jolokia.list_queues()
        topics = await self.jolokia.list_topics() if topic else []
        return {"queue_gone": queue not in queues, "topic_gone": topic not in topics}
