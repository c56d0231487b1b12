"""The outside systems as the restore runbook sees them: the backup runbook's view (health,
broker, databases) plus the service commands, the repository's readiness, the events still
arriving, the queue's clearing into the run's archive, and the database server's side of
a restore (restore/database.py: into a scratch database, the swap, the old copy's drop).

The steps reach the outside world only through this object, so the TUI tests and the
screenshots run the real runbook over fake systems (tests/support/fake_restore.py)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Literal

import psycopg

from syncwizard import systems
from syncwizard.clients import mysql_target, pgadmin
from syncwizard.clients.event_consumer import ClearCounts, ClearResult, consume_into_archive
from syncwizard.clients.health import fetch_cluster
from syncwizard.clients.jolokia import destination_mbean, entry_value, is_missing_mbean
from syncwizard.clients.postgres import APPLICATION_NAME, query_error
from syncwizard.clients.repository import ReadyAnswer, repository_ready
from syncwizard.clients.results import HealthReport, Session
from syncwizard.clients.service import ServiceControl, ServiceProcess, find_service_process
from syncwizard.clients.stomp_session import StompTarget, probe, stomp_address
from syncwizard.config import Profile, RepositorySettings, ServiceSettings
from syncwizard.errors import SyncWizardError
from syncwizard.runbook.backup.systems import BackupSystems
from syncwizard.runbook.model import Outputs, StepContext
from syncwizard.runbook.restore import database, mysql_database
from syncwizard.runbook.restore.database import RestorePlan, SwapLook
from syncwizard.runbook.restore.mysql_database import MySQLPlan, MySQLSwapLook
from syncwizard.runbook.restore.stomp_window import StompWindow

ARRIVAL_LOOK = 1.0  # seconds between two looks at the enqueue counters


def service_control(name: str, settings: ServiceSettings | RepositorySettings) -> ServiceControl:
    """The stop/start templates of `sync_service` or `repository` (which has no recover)."""
    recover = settings.start_with_recover if isinstance(settings, ServiceSettings) else None
    return ServiceControl(
        name,
        stop=settings.stop,
        start=settings.start,
        start_with_recover=recover,
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

    async def recover_node_reports(self) -> list[HealthReport]:
        """The health of the node the recover starts (`health.url`) alone: the other nodes
        of a cluster start normally once it is healthy."""
        return [await self.health[0].fetch()]

    async def health_answers(self) -> list[tuple[str, str]]:
        """Every configured health URL (node 1 first) that answers, with what it said; an
        unhealthy answer (HTTP 500 with the checks) is an answer too."""
        answers: list[tuple[str, str]] = []
        for client in self.health:
            try:
                report = await client.fetch()
            except SyncWizardError:
                continue
            failing = [c.name for c in report.checks if not c.healthy]
            said = "healthy" if not failing else f"unhealthy: {', '.join(failing)}"
            answers.append((client.url, f"HTTP {report.http_status}, {said}"))
        return answers

    async def producers_on(self, topic: str) -> int | None:
        """ProducerCount of the topic; None when it does not exist. Only producers bound to
        the topic count: an anonymous producer (one that names its destination per message)
        shows on no destination, so the quiet check still watches what arrives."""
        jolokia = self.jolokia
        payload = {
            "type": "read",
            "mbean": destination_mbean(await jolokia.broker_name(), "Topic", topic),
            "attribute": "ProducerCount",
        }
        answer = (await jolokia.bulk([payload]))[0]
        if is_missing_mbean(answer):
            return None
        return int(entry_value(jolokia.url, answer, f"reading topic {topic}") or 0)

    async def repository_sessions(self) -> list[Session]:
        """Client sessions on the repository's database, other than this wizard's own
        (application_name 'syncwizard'; on MySQL/MariaDB the asking session)."""
        settings = self.profile.repository_db
        if settings.engine == "external":
            return []  # Oracle or SQL Server: never connected to (its stop is confirmed)
        if settings.engine == "mysql":
            target = systems.mysql_target(self.profile, "repository_db")
            return await mysql_target.read_sessions(target, target.database)
        name = systems.database_name(self.profile, "repository_db")
        conn = await pgadmin.connect_maintenance(
            settings.conninfo, passfile=systems.expand(settings.passfile), system="repository_db"
        )
        try:
            sessions = await pgadmin.read_sessions(conn, name)
        except psycopg.Error as exc:
            raise query_error(exc, settings.conninfo, system="repository_db") from exc
        finally:
            await conn.close()
        return [s for s in sessions if s.application != APPLICATION_NAME]

    def service_process(self) -> ServiceProcess | Literal[False] | None:
        """The Sync Service's local process (sync_service.pid_file / process_pattern); None
        when it is not running, False when the profile gives no way to find it."""
        settings = self.profile.sync_service
        return find_service_process(settings.pid_file, settings.process_pattern)

    async def queue_exists(self, queue: str) -> bool:
        return queue in await self.jolokia.list_queues()

    async def consumers_on(self, queue: str) -> int | None:
        """ConsumerCount of the queue; None when it does not exist."""
        stats = await self.queue_stats(queue)
        return None if stats is None else stats.consumers

    async def pending_on(self, queue: str) -> int | None:
        stats = await self.queue_stats(queue)
        return None if stats is None else stats.pending

    async def enqueued(self, queue: str, topic: str | None) -> tuple[int, int]:
        """EnqueueCount of the queue and of the topic feeding it (0 when it does not exist)."""
        stats, topic_stats = await self.jolokia.read_stats(queue, topic)
        return stats.enqueued, topic_stats.enqueued if topic_stats else 0

    async def arrivals(
        self, queue: str, topic: str | None, window: float, on_look: Callable[[int], None]
    ) -> int:
        """How many events arrived at the queue (or its topic: the events it had no queue
        for) in the next `window` seconds; `on_look(arrived so far)` after each look."""
        first = await self.enqueued(queue, topic)
        deadline = time.monotonic() + window
        arrived = 0
        while (left := deadline - time.monotonic()) > 0:
            await asyncio.sleep(min(ARRIVAL_LOOK, left))
            now = await self.enqueued(queue, topic)
            arrived = max(0, now[0] - first[0], now[1] - first[1])
            on_look(arrived)
        return arrived

    async def clear_into_archive(
        self,
        queue: str,
        path: Path,
        *,
        until: Callable[[ClearCounts], Awaitable[bool]],
        on_progress: Callable[[ClearCounts], None],
    ) -> ClearResult:
        """Consume the queue's events into the archive at `path` (each acknowledged once
        durable) until `until` says so."""
        broker = self.profile.broker
        target = StompTarget(broker.stomp, broker.user, self.require_broker_password())
        return await consume_into_archive(target, queue, path, until=until, on_progress=on_progress)

    async def probe_clear_channel(self) -> None:
        """Open and close a STOMP session as the clear will: a closed port or a refused
        user is found before anything is stopped, not after."""
        broker = self.profile.broker
        target = StompTarget(broker.stomp, broker.user, self.require_broker_password())
        await asyncio.to_thread(probe, target)

    async def stomp_port_closed(self) -> bool:
        """Whether nothing listens on the STOMP address at all (a broker shipped without
        STOMP), as opposed to a STOMP connector that refuses the user."""
        host, port, _tls = stomp_address(self.profile.broker.stomp)
        try:
            _reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port), self.profile.broker.timeout
            )
        except ConnectionRefusedError:
            return True
        except (OSError, TimeoutError):
            return False  # unreachable or silent: the probe's own error says more
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return False

    def stomp_window(self, queue: str) -> StompWindow:
        """A loopback STOMP connector opened around the clear (stomp_window.py)."""

        async def pending() -> int | None:
            return await self.pending_on(queue)

        async def non_persistent() -> list[str]:
            return await self.jolokia.non_persistent_ids(queue)

        return StompWindow(self.profile.broker, self.probe_clear_channel, pending, non_persistent)

    async def purge(self, queue: str, *, settle: float = 10.0) -> None:
        """Purge the queue (events given up) and wait until it reports nothing pending."""
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

    async def repository_ready(self) -> ReadyAnswer | None:
        """One look at `repository.ready_url`; None when the profile names none."""
        settings = self.profile.repository
        if not settings.ready_url:
            return None
        return await repository_ready(
            settings.ready_url, ca_bundle=systems.expand(settings.ca_bundle), timeout=5.0
        )

    async def delete_topic_and_queue(self, queue: str, topic: str | None) -> dict[str, bool]:
        """Remove the queue, then its topic; which of them are gone afterwards."""
        if await self.queue_exists(queue):
            await self.jolokia.remove_queue(queue)
        if topic and topic in await self.jolokia.list_topics():
            await self.jolokia.remove_topic(topic)
        queues = await self.jolokia.list_queues()
        topics = await self.jolokia.list_topics() if topic else []
        return {"queue_gone": queue not in queues, "topic_gone": topic not in topics}

    # --- the database server --------------------------------------------------------------

    async def restore_target(self, role: str, name: str) -> pgadmin.RestoreTarget:
        """What the preflight reads about database `name` of `role` and its server."""
        settings = getattr(self.profile, role)
        return await pgadmin.restore_target(
            settings.conninfo, name, passfile=systems.expand(settings.passfile), system=role
        )

    async def mysql_restore_target(self, role: str) -> mysql_target.MySQLRestoreTarget:
        """What the preflight reads about `role`'s MySQL/MariaDB database and its server."""
        return await mysql_target.restore_target(systems.mysql_target(self.profile, role))

    async def check_owners(self, plan: RestorePlan | MySQLPlan) -> None:
        """Refuse an archive whose owner roles the server lacks (database.check_owners; a
        MySQL/MariaDB dump of tables names no owner)."""
        if isinstance(plan, RestorePlan):
            await database.check_owners(plan)

    async def restore_into_scratch(
        self, plan: RestorePlan | MySQLPlan, ctx: StepContext
    ) -> Outputs:
        if isinstance(plan, MySQLPlan):
            return await mysql_database.restore_into_scratch(plan, ctx)
        return await database.restore_into_scratch(plan, ctx)

    async def look_before_swap(self, plan: RestorePlan | MySQLPlan) -> SwapLook | MySQLSwapLook:
        if isinstance(plan, MySQLPlan):
            return await mysql_database.look_before_swap(plan)
        return await database.look_before_swap(plan)

    async def swap(self, plan: RestorePlan | MySQLPlan, ctx: StepContext) -> Outputs:
        if isinstance(plan, MySQLPlan):
            return await mysql_database.swap(plan, ctx)
        return await database.swap(plan, ctx)

    async def verify_swapped(
        self, plan: RestorePlan | MySQLPlan, ctx: StepContext, outputs: Outputs
    ) -> None:
        if isinstance(plan, MySQLPlan):
            await mysql_database.verify_swapped(plan, ctx)
        else:
            await database.verify_swapped(plan, ctx, outputs)

    async def drop_aside(self, role: str, aside: str) -> bool:
        """Drop the old database a swap of `role` kept aside as `aside`."""
        settings = getattr(self.profile, role)
        if settings.engine == "mysql":
            return await mysql_database.drop_aside(systems.mysql_target(self.profile, role), aside)
        return await database.drop_aside(
            settings.conninfo, aside, passfile=systems.expand(settings.passfile), system=role
        )
