"""The outside systems as the backup runbook sees them: the sync GUID and queue, database
facts (and whether the Sync Service shares the repository's database), the client
tools, and one look at the queue for the drain wait.

Each database is PostgreSQL or MySQL/MariaDB, chosen by its conninfo (config.py); the
MySQL/MariaDB parts are in mysql_db.py.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import psycopg

from syncwizard import systems
from syncwizard.clients.health import fetch_cluster
from syncwizard.clients.names import topic_of_queue
from syncwizard.clients.pgtools import check_tool_version
from syncwizard.clients.postgres import (
    close_quietly,
    connect,
    describe_target,
    fetch_all,
    target_parts,
)
from syncwizard.clients.repository_schema import mysql_repository_version, repository_version
from syncwizard.clients.results import QueueStats
from syncwizard.config import Profile
from syncwizard.errors import SyncWizardError
from syncwizard.runbook.backup import mysql_db
from syncwizard.runbook.backup.clocks import ClockReading
from syncwizard.runbook.backup.drain import DrainSample
from syncwizard.runbook.backup.snapshot_dump import DumpPlan, SnapshotHook, dump_in_snapshot
from syncwizard.runbook.model import StepContext

EVENTS_CHECK = "eventsHealthCheck"

# No function here takes a lock on a table (pg_table_size would): preflight must not hang
# behind a migration's ACCESS EXCLUSIVE lock. Table sizes come from pg_class.relpages.
_FACTS = """
SELECT current_database(), current_setting('server_version'),
       current_setting('server_version_num')::int, pg_database_size(current_database()),
       current_setting('port'), pg_postmaster_start_time()::text,
       (SELECT coalesce(sum(c.relpages + coalesce(t.relpages, 0)), 0)::bigint
               * current_setting('block_size')::bigint
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_class t ON t.oid = c.reltoastrelid
        WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND n.nspname NOT LIKE 'pg\\_toast%'),
       (SELECT coalesce(json_agg(n.nspname || '.' || c.relname ORDER BY 1), '[]')
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r' AND c.relname ILIKE '%sync%'
          AND n.nspname NOT IN ('pg_catalog', 'information_schema'))
"""


# The Sync Service's objects in a database it shares with the repository: no public source
# names its tables, so they are those named like it (the docs' own size query filters on
# '%sync%'), with the sequences they own (pg_dump would otherwise dump a serial's sequence
# with the repository's part, which then names a table that part lacks).
_SYNC_OBJECTS = """
SELECT n.nspname, c.relname, c.relkind = 'S'
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'S') AND c.relname ILIKE '%sync%'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
UNION
SELECT sn.nspname, s.relname, true
FROM pg_depend d
JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
JOIN pg_namespace sn ON sn.oid = s.relnamespace
JOIN pg_class t ON t.oid = d.refobjid
WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
  AND d.deptype IN ('a', 'i') AND t.relkind IN ('r', 'p') AND t.relname ILIKE '%sync%'
ORDER BY 3, 1, 2
"""


@dataclass(frozen=True)
class DatabaseProbeResult:
    role: str
    target: str  # "database 'alfresco' on host:port as user 'alfresco'"
    name: str
    server_version: str
    server_major: int
    size_bytes: int
    data_bytes: int  # the tables without their indexes (relpages): what a dump holds, roughly
    identity: tuple[str, str, str]  # (postmaster start time, port, database): one database
    sync_tables: tuple[str, ...]  # tables named like the Sync Service's ("%sync%")
    flavour: str = "postgresql"  # or "mariadb", "mysql"
    warnings: tuple[str, ...] = ()  # for preflight's warnings (a server older than supported)

    def as_json(self) -> dict[str, Any]:
        found = {
            "name": self.name,
            "server": self.target,
            "server_version": self.server_version,
            "server_major": self.server_major,
            "size_bytes": self.size_bytes,
            "data_bytes": self.data_bytes,
        }
        if self.flavour != "postgresql":
            found.update(engine=mysql_db.ENGINE, flavour=self.flavour)
        return found


def shared_database(
    repository_conninfo: str,
    sync_conninfo: str,
    probes: dict[str, DatabaseProbeResult],
    warnings: list[str],
) -> tuple[bool, str]:
    """Whether the Sync Service keeps its tables in the repository database (compose's layout), and
    why: the same server and database in both conninfos (or the same database reached two
    ways), or the Sync Service's tables inside the repository database and not in the other."""
    repo, sync = probes["repository_db"], probes["sync_db"]
    if target_parts(repository_conninfo)[:3] == target_parts(sync_conninfo)[:3] or (
        repo.identity == sync.identity
    ):
        return True, (f"both profiles reach database {repo.name!r} on the same server")
    if repo.sync_tables and not sync.sync_tables:
        return True, (
            f"the repository database holds the Sync Service's tables "
            f"({', '.join(repo.sync_tables[:3])}) and the Sync DB holds none"
        )
    if repo.sync_tables:
        warnings.append(
            f"the repository database holds tables named like the Sync Service's "
            f"({', '.join(repo.sync_tables[:3])}); both databases are dumped. If the Sync "
            "Service uses the repository database, point sync_db.conninfo at it."
        )
    return False, ""


class BackupSystems:
    def __init__(self, profile: Profile, broker_password: str | None) -> None:
        self.profile = profile
        self.broker_password = broker_password
        self.health = systems.health_clients(profile)
        self.jolokia = systems.jolokia_client(profile, broker_password)

    def is_mysql(self, role: str) -> bool:
        """Whether `role`'s database is MySQL/MariaDB (its conninfo a mysql:// URL)."""
        return bool(getattr(self.profile, role).engine == mysql_db.ENGINE)

    async def aclose(self) -> None:
        for client in self.health:
            await client.aclose()
        await self.jolokia.aclose()

    # --- preflight ------------------------------------------------------------------------

    async def find_sync(self, warnings: list[str]) -> dict[str, Any]:
        """The sync GUID (the same on every node) and its queue on the broker."""
        reports = await fetch_cluster(self.health)
        sync_id = reports[0].sync_id
        if not sync_id:
            check = reports[0].check("syncServiceIdCheck")
            raise SyncWizardError(
                f"the health check at {reports[0].url} names no sync GUID "
                f"(syncServiceIdCheck: {check.message if check else 'missing'})",
                hint="the Sync Service is not healthy yet: look at its health check and log",
                system="health",
            )
        unhealthy = [
            f"{check.name} on {report.url}"
            for report in reports
            for check in report.checks
            if check.healthy is False
        ]
        if unhealthy:
            warnings.append(
                f"unhealthy checks: {', '.join(unhealthy)} (the wait needs eventsHealthCheck "
                "healthy)"
            )
        if self.broker_password is None:
            broker = self.profile.broker
            raise SyncWizardError(
                f"no broker password: the Jolokia user {broker.user!r} needs one to read the queue",
                hint=f"export {broker.password_env}=... or set broker.password_file",
                system="broker",
            )
        topic = self.profile.broker.topic
        queue = await self.jolokia.find_sync_queue(sync_id, topic)
        stats, _ = await self.jolokia.read_stats(queue, None)
        if stats.consumers < 1:
            warnings.append(
                f"no consumer on {queue} right now: the wait for the Sync Service needs one"
            )
        return {
            "sync_id": sync_id,
            "sync_version": reports[0].version,
            "nodes": [report.url for report in reports],
            "queue": queue,
            "topic": topic or topic_of_queue(queue),
            "consumers": stats.consumers,
            "pending": stats.pending,
        }

    async def _connect(self, role: str) -> psycopg.AsyncConnection[Any]:
        """A session on `role`'s database, every wait bounded by its `timeout`."""
        settings = getattr(self.profile, role)
        return await connect(
            settings.conninfo,
            passfile=systems.expand(settings.passfile),
            system=role,
            timeout=settings.timeout,
            statement_timeout=settings.timeout,
        )

    async def probe_database(self, role: str) -> DatabaseProbeResult:
        """The database's facts, each wait bounded by its `timeout`: the connection, and the
        answer to the facts query (the server ends it at statement_timeout; a server or
        network gone silent is given up at the bound)."""
        settings = getattr(self.profile, role)
        if self.is_mysql(role):
            found = await mysql_db.probe(systems.mysql_target(self.profile, role))
            server, database = found["identity"]
            return DatabaseProbeResult(
                role=role,
                target=found["target"],
                name=found["name"],
                server_version=found["server_version"],
                server_major=found["server_major"],
                size_bytes=found["size_bytes"],
                data_bytes=found["data_bytes"],
                identity=(server, "", database),
                sync_tables=found["sync_tables"],
                flavour=found["flavour"],
                warnings=tuple(found["warnings"]),
            )
        conn = await self._connect(role)
        try:
            (row,) = await fetch_all(
                conn,
                _FACTS,
                conninfo=settings.conninfo,
                system=role,
                what="the query for its facts (version, size, tables)",
                timeout=settings.timeout,
            )
        finally:
            await close_quietly(conn)
        name, version, version_num, size, port, started, data, sync_tables = row
        if not data:  # never vacuumed nor analyzed: relpages says 0, the files say more
            data = size
        return DatabaseProbeResult(
            role=role,
            target=describe_target(settings.conninfo, role),
            name=name,
            server_version=version.split()[0],
            server_major=version_num // 10000,
            size_bytes=int(size),
            data_bytes=int(data),
            identity=(str(started), str(port), name),
            sync_tables=tuple(sync_tables),
        )

    async def repository_version(self) -> str | None:
        """What the repository database says the repository's version is (the manifest
        keeps it; a restore warns when it changed)."""
        settings = self.profile.repository_db
        if settings.engine == "mysql":
            return await mysql_repository_version(
                systems.mysql_target(self.profile, "repository_db")
            )
        if settings.engine != "postgresql":
            return None  # Oracle or SQL Server: never connected to
        return await repository_version(
            settings.conninfo,
            passfile=systems.expand(settings.passfile),
            system="repository_db",
            timeout=settings.timeout,
        )

    async def sync_objects(self, role: str) -> dict[str, list[list[str]]]:
        """The Sync Service's tables and sequences in `role`'s database (see _SYNC_OBJECTS),
        as the journal keeps them: {"tables": [[schema, name], ...], "sequences": [...]}."""
        settings = getattr(self.profile, role)
        conn = await self._connect(role)
        try:
            rows = await fetch_all(
                conn,
                _SYNC_OBJECTS,
                conninfo=settings.conninfo,
                system=role,
                what="the query for the Sync Service's tables",
                timeout=settings.timeout,
            )
        finally:
            await close_quietly(conn)
        found: dict[str, list[list[str]]] = {"tables": [], "sequences": []}
        for schema, name, is_sequence in rows:
            found["sequences" if is_sequence else "tables"].append([schema, name])
        return found

    def shared_database(
        self, probes: dict[str, DatabaseProbeResult], warnings: list[str]
    ) -> tuple[bool, str]:
        mysql = [self.is_mysql(role) for role in ("repository_db", "sync_db")]
        if any(mysql):
            repo, sync = probes["repository_db"], probes["sync_db"]
            if all(mysql) and repo.identity == sync.identity:
                return True, f"both profiles reach database {repo.name!r} on the same server"
            return False, ""
        return shared_database(
            self.profile.repository_db.conninfo, self.profile.sync_db.conninfo, probes, warnings
        )

    async def check_tools(self, probes: dict[str, DatabaseProbeResult]) -> dict[str, Any]:
        """pg_dump and pg_restore must be each server's major version or newer; a
        MySQL/MariaDB database needs mariadb-dump or mysqldump (and the client)."""
        majors: dict[str, Any] = {}
        postgres = {role: p for role, p in probes.items() if not self.is_mysql(role)}
        for tool in ("pg_dump", "pg_restore") if postgres else ():
            for probe in postgres.values():
                majors[tool] = await check_tool_version(tool, probe.server_major, system=probe.role)
        for role in probes:
            if self.is_mysql(role):
                majors[f"{role}_dump_tool"] = mysql_db.check_tools(
                    systems.mysql_target(self.profile, role)
                )
        return majors

    # --- the clocks -----------------------------------------------------------------------

    async def database_clock(self, role: str) -> ClockReading:
        """The database server's clock (`clock_timestamp()`), bracketed by this host's."""
        settings = getattr(self.profile, role)
        if self.is_mysql(role):
            return await mysql_db.clock(systems.mysql_target(self.profile, role), role)
        conn = await self._connect(role)
        try:
            before = time.time()
            ((server_time,),) = await fetch_all(
                conn,
                "SELECT clock_timestamp()",
                conninfo=settings.conninfo,
                system=role,
                what="the read of its clock",
                timeout=settings.timeout,
            )
            after = time.time()
        finally:
            await close_quietly(conn)
        name = f"the {role.replace('_db', '')} database server's clock"
        return ClockReading(name, server_time.timestamp(), before, after)

    async def broker_clock(self) -> ClockReading:
        """The broker's clock, in whole seconds (Jolokia's answer stamp)."""
        before, stamp, after = await self.jolokia.broker_clock()
        return ClockReading(
            f"the broker's clock (Jolokia at {self.jolokia.url})",
            float(stamp),
            before,
            after,
            resolution=1.0,
        )

    # --- the queue ------------------------------------------------------------------------

    async def queue_stats(self, queue: str) -> QueueStats | None:
        """The queue's counters in one round trip; None when it does not exist."""
        try:
            stats, _ = await self.jolokia.read_stats(queue, None)
        except SyncWizardError:
            if queue not in await self.jolokia.list_queues():
                return None
            raise
        return stats

    async def queue_counters(self, queue: str) -> tuple[QueueStats | None, int | None]:
        """The queue's counters (None if it does not exist) and its dead letters."""
        stats = await self.queue_stats(queue)
        if stats is None:
            return None, None
        return stats, await self.jolokia.dead_letters_from(queue)

    async def drain_sample(self, queue: str, *, with_dlq: bool) -> DrainSample:
        errors: list[str] = []
        stats: QueueStats | None = None
        oldest: int | None = None
        dlq: int | None = None
        try:
            stats, _ = await self.jolokia.read_stats(queue, None)
            if stats.pending > 0:
                oldest = await self.jolokia.oldest_pending_timestamp(queue)
            if with_dlq:
                dlq = await self.jolokia.dead_letters_from(queue)
        except SyncWizardError as exc:
            try:
                exists = queue in await self.jolokia.list_queues()
            except SyncWizardError:
                exists = True
            if exists:
                errors.append(f"the broker did not answer: {exc.message}")
        events: bool | None = None
        try:
            reports = await fetch_cluster(self.health)
            found = [r.check(EVENTS_CHECK) for r in reports]
            verdicts = [check.healthy for check in found if check is not None]
            if False in verdicts:
                events = False
            elif verdicts and all(verdicts):
                events = True  # "unknown" (Sync 2.1) or a missing check leaves it None
        except SyncWizardError as exc:
            errors.append(f"the Sync Service health check did not answer: {exc.message}")
        return DrainSample(
            at=time.time(),
            queue=stats,
            oldest_pending_ms=oldest,
            events_healthy=events,
            dlq_from_queue=dlq,
            errors=tuple(errors),
        )

    async def dump(
        self, plan: DumpPlan, ctx: StepContext, *, at_snapshot: SnapshotHook | None = None
    ) -> dict[str, Any]:
        """`plan`'s database dumped inside a snapshot of our own (snapshot_dump.py); on
        MySQL/MariaDB by mariadb-dump --single-transaction (mysql_db.py)."""
        if self.is_mysql(plan.role):
            target = systems.mysql_target(self.profile, plan.role)
            return await mysql_db.dump(target, plan.out_path, ctx, at_snapshot=at_snapshot)
        return await dump_in_snapshot(plan, ctx, at_snapshot=at_snapshot)
