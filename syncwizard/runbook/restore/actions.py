"""The restore steps' coroutines, bound to one run: the set and preflight checks here, the
queue, database and service steps in their own modules (queue_steps, database_steps,
service_steps), and the report at the end."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from syncwizard import systems, units
from syncwizard.clients.postgres import system_label
from syncwizard.clients.results import Subscriber
from syncwizard.config import Profile
from syncwizard.errors import SyncWizardError, combined
from syncwizard.runbook import backupset
from syncwizard.runbook.journal import load_run
from syncwizard.runbook.model import Gate, Outputs, RefusedError, StepContext, StepState
from syncwizard.runbook.report import REPORT_NAME, write_report
from syncwizard.runbook.restore.choices import RestoreChoices
from syncwizard.runbook.restore.clear import ClearSteps
from syncwizard.runbook.restore.database_steps import DatabaseSteps
from syncwizard.runbook.restore.mysql_database import preflight_facts as mysql_preflight_facts
from syncwizard.runbook.restore.orphans import OrphanSteps
from syncwizard.runbook.restore.queue_steps import QueueSteps
from syncwizard.runbook.restore.repository_step import RepositorySteps
from syncwizard.runbook.restore.room import Need, need_of, plan_rooms
from syncwizard.runbook.restore.service_steps import ServiceSteps
from syncwizard.runbook.restore.sets import order_problem
from syncwizard.runbook.restore.state import OfflineContext, RestoreState
from syncwizard.runbook.restore.step_names import GUID_TOKEN_LENGTH, REPORT
from syncwizard.runbook.restore.systems import RestoreSystems

OLD_SET = 24 * 3600.0  # older than this, the preflight says what users lose


class RestoreActions:
    def __init__(
        self,
        profile: Profile,
        systems: RestoreSystems,
        set_dir: Path,
        manifest: dict[str, Any],
        run_dir: Path,
        choices: RestoreChoices,
    ) -> None:
        self.state = RestoreState(
            profile=profile,
            set_dir=set_dir,
            manifest=manifest,
            run_dir=run_dir,
            choices=choices,
            systems=systems,
        )
        self.systems = self.state.systems
        self.set_dir = set_dir
        self.run_dir = run_dir
        self.queue = QueueSteps(self.state)
        self.clear = ClearSteps(self.state)
        self.orphans = OrphanSteps(self.state)
        self.db = DatabaseSteps(self.state)
        self.repository = RepositorySteps(self.state)
        self.service = ServiceSteps(self.state, self.repository)

    def offline_context(self) -> OfflineContext:
        return OfflineContext(self.run_dir.name)

    # --- 1. the set -----------------------------------------------------------------------

    async def verify_set(self, ctx: StepContext) -> Outputs:
        ctx.progress(
            f"checking every file of {self.set_dir} (size, sha256; each dump read: "
            "pg_restore --list, or a SQL dump's rows counted)"
        )
        report = await backupset.verify_set(self.set_dir)
        manifest = report.manifest
        problems = list(report.problems)
        if not problems and (order := order_problem(manifest)):
            problems.append(order)
        if problems:
            raise RefusedError(
                f"the backup set {self.set_dir} cannot be restored: {'; '.join(problems)}",
                hint="nothing was touched; choose another set",
                system="backup_dir",
            )
        dumps = [
            {k: d.get(k) for k in ("path", "roles", "database", "size_bytes", "format")}
            | {"snapshot_at_iso": d.get("snapshot_at_iso"), "rows": sum(d["row_counts"].values())}
            for d in manifest["dumps"]
        ]
        return {
            "set_dir": str(self.set_dir),
            "set_run_id": manifest["run_id"],
            "created_at": manifest["created_at"],
            "sync_id": manifest["sync_id"],
            "shared_database": bool(manifest.get("shared_database")),
            "dumps": dumps,
            "files_checked": report.files_checked,
            "bytes_checked": report.bytes_checked,
            "warnings": report.warnings,
            "summary": f"set {manifest['run_id']} verified: {report.files_checked} files, "
            f"{units.size(report.bytes_checked)}, checksums match",
        }

    # --- 2. preflight ---------------------------------------------------------------------

    def plan_preflight(self, ctx: StepContext) -> str:
        repository = self.state.profile.repository_db
        if repository.engine == "external":
            roles = f"the Sync DB (the repository DB on {repository.vendor} is not read)"
        else:
            roles = "the repository DB" if self.state.shared else "both databases"
        return (
            f"read the health check, find the queue of sync GUID {self.state.set_sync_id} on "
            f"{self.state.profile.broker.jolokia_url} and the topic's other subscribers, open "
            f"a STOMP session at {self.state.profile.broker.stomp} as the clear will, and look "
            f"at {roles}: size, who is connected, the right to create databases, the server's "
            "free space"
        )

    async def preflight(self, ctx: StepContext) -> Outputs:
        problems: list[SyncWizardError] = []
        warnings: list[str] = []
        facts: dict[str, Any] = {"set_sync_id": self.state.set_sync_id}
        ctx.progress("reading the health check")
        facts.update(await self._service_facts(warnings))
        ctx.progress("finding the sync queue")
        try:
            facts.update(await self._queue_facts(facts["sync_id"], warnings))
        except SyncWizardError as exc:
            problems.append(exc)
        ctx.progress("looking at the databases")
        databases: dict[str, Any] = {}
        needs: list[Need] = []
        for role in self.db.roles:
            if getattr(self.state.profile, role).engine == "external":
                continue  # Oracle or SQL Server: restored with the vendor's tools, not read
            try:
                databases[role], need = await self._database_facts(role, warnings)
                needs.append(need)
                if self.state.dump(role) is not None:
                    # A role the dump's objects belong to, missing on the server, found now:
                    # not after production was stopped.
                    await self.systems.check_owners(self.db.plan_for(ctx, role))
            except SyncWizardError as exc:
                problems.append(exc)
        if problems:
            raise combined(problems, "preflight")
        facts["repository_version"] = await self._repository_version(warnings)
        # Room is a server's: both restored copies where both databases share one.
        rooms, room_warnings = plan_rooms(needs)
        warnings.extend(room_warnings)
        for role, room in rooms.items():
            databases[role]["room"] = room
        age = self._set_age()
        if age is not None and age > OLD_SET:
            warnings.append(_age_warning(age, self._t0()))
        if warnings:
            ctx.record("warnings", {"warnings": warnings})
        summary = f"sync GUID {facts['sync_id']}, queue {facts['queue']}" + (
            f" ({facts['pending']} pending, {facts['consumers']} "
            f"consumer{'' if facts['consumers'] == 1 else 's'})"
            if facts.get("queue_exists")
            else " (not on the broker)"
        )
        if warnings:
            summary += f"; {len(warnings)} warning{'s' if len(warnings) > 1 else ''}"
        return {
            **facts,
            "set_age_s": age,
            "databases": databases,
            "room": {role: db["room"] for role, db in databases.items()},
            "shared_database": self.state.shared,
            "warnings": warnings,
            "summary": summary,
        }

    def _t0(self) -> str:
        return str((self.state.manifest.get("t0") or {}).get("at") or "")

    def _set_age(self) -> float | None:
        """Seconds since the set's t0 (the repository's snapshot), None if it does not say."""
        try:
            return time.time() - datetime.fromisoformat(self._t0()).timestamp()
        except ValueError:
            return None

    # --- 3. the stop's gates ---------------------------------------------------------------

    async def stop_gates(self, ctx: StepContext) -> tuple[Gate, ...]:
        """The stop's gate, with the set's age; first, when the set is another
        installation's, the one that names both sync GUIDs, and one per database server
        whose free space cannot be read: nothing is stopped before the admin has seen
        them."""
        stop = await self.queue.stop_gate(ctx)
        if (age := self._set_age()) is not None:
            lost = f"{self._t0()}, {units.duration(age)} ago: what users changed since is lost"
            stop = replace(stop, facts=(*stop.facts, ("restored to", lost)))
        other = self._installation_gate(ctx)
        room = self.db.room_gates(ctx)
        return (*((other,) if other is not None else ()), *room, stop)

    def _installation_gate(self, ctx: StepContext) -> Gate | None:
        found = self.state.found(ctx)
        if not found.get("sync_id_differs"):
            return None
        live, theirs = str(found["sync_id"]), self.state.set_sync_id
        manifest = self.state.manifest
        return Gate(
            title="Restore the backup of another Sync Service?",
            consequences=(
                f"The set was taken from a Sync Service whose sync GUID is {theirs}; the one "
                f"running here reports {live}. A set of another installation (a staging set "
                "restored into production?) puts that installation's repository and Sync "
                "databases in place of these. The queue cleared is this one's; after the "
                f"recover the Sync Service comes back as {theirs}, on a queue of its own, and "
                f"{live}'s queue is left to nobody (remove it in the broker's console)."
            ),
            token=theirs[:GUID_TOKEN_LENGTH],
            facts=(
                ("GUID in the set", theirs),
                ("GUID running here", live),
                ("set", f"{manifest.get('run_id', '?')}, taken {manifest.get('created_at', '?')}"),
                ("queue cleared", self.state.queue(ctx) or "none on the broker"),
            ),
        )

    async def _service_facts(self, warnings: list[str]) -> dict[str, Any]:
        expected = self.state.set_sync_id
        try:
            reports = await self.systems.health_reports()
        except SyncWizardError as exc:
            warnings.append(
                f"the Sync Service health check does not answer ({exc.message}): fine if it is "
                f"stopped already; the set's sync GUID {expected} is used"
            )
            return {"sync_id": expected, "sync_id_differs": False, "service_answers": False}
        live = reports[0].sync_id
        differs = bool(live) and live != expected
        then = (self.state.manifest.get("versions") or {}).get("sync_service")
        now = reports[0].version
        if then and now and then != now:
            warnings.append(
                f"the Sync Service was {then} when the set was taken and is {now} now: a "
                "database of the older version is upgraded (or refused) at its start; check "
                "the Sync Service's release notes before going on"
            )
        if differs:
            warnings.append(
                f"the Sync Service reports sync GUID {live}, but the set was taken with "
                f"{expected}: the set may belong to another installation; a gate naming both "
                "asks before anything is stopped"
            )
        return {
            "sync_id": live or expected,
            "sync_id_differs": differs,
            "sync_version": now,
            "service_answers": True,
            "service_healthy": all(r.healthy for r in reports),
        }

    async def _repository_version(self, warnings: list[str]) -> str | None:
        """The repository's version as its live database records it, and a warning when
        the set's differs (the restored database is then of another version)."""
        try:
            now = await self.systems.repository_version()
        except SyncWizardError:
            return None  # informational: the database steps find a real problem again
        then = (self.state.manifest.get("versions") or {}).get("repository")
        if then and now and then != now:
            warnings.append(
                f"the repository database was written by Alfresco {then} when the set was "
                f"taken and by {now} now: the restored database is of the older version, "
                "which the repository upgrades (or refuses) at its start; check that this "
                "repository may run on it before going on"
            )
        return now

    async def _queue_facts(self, sync_id: str, warnings: list[str]) -> dict[str, Any]:
        self.systems.require_broker_password()
        jolokia = self.systems.jolokia
        known = await jolokia.list_queues()  # the broker must answer: the purge needs it
        topic = self.state.profile.broker.topic
        try:
            queue = await jolokia.find_sync_queue(sync_id, topic)
        except SyncWizardError:
            queue = str(self.state.manifest.get("queue", ""))
            if queue in known:
                raise
            warnings.append(
                f"no queue of sync GUID {sync_id} on the broker: nothing to archive or purge "
                "(it is created again when the Sync Service subscribes)"
            )
            return {
                "queue": queue,
                "topic": self.state.manifest.get("topic"),
                "queue_exists": False,
            }
        stats, _ = await jolokia.read_stats(queue, None)
        topic = topic or self.state.manifest.get("topic") or _topic(queue)
        facts: dict[str, Any] = {
            "queue": queue,
            "topic": topic,
            "queue_exists": True,
            "pending": stats.pending,
            "consumers": stats.consumers,
        }
        # The clear consumes over STOMP: a closed port found after the services are
        # stopped would leave production down, so it is opened once now.
        try:
            await self.systems.probe_clear_channel()
        except SyncWizardError as exc:
            window = self.systems.stomp_window(queue)
            if not await self.systems.stomp_port_closed():
                raise SyncWizardError(
                    f"the clear could not consume the queue's events: {exc.message}",
                    hint=f"{exc.hint}; nothing was stopped",
                    system=exc.system,
                ) from exc
            if not window.configured:
                raise window.refusal() from exc
            facts["stomp_closed"] = True  # the clear opens it for its consuming, and closes it
            warnings.append(window.describe())
        if topic:
            subscribers = await jolokia.topic_subscribers(topic, queue)
            facts["other_subscribers"] = [s.describe() for s in subscribers.others]
            facts["orphans"] = [s.name for s in subscribers.orphans]  # offered after the clear
            if subscribers.orphans:
                warnings.append(_orphans_warning(topic, subscribers.orphans))
        return facts

    def _size_at_backup(self, role: str) -> int:
        dump = self.state.dump(role) or {}
        at_backup = self.state.manifest.get("databases", {}).get(role, {})
        return int(at_backup.get("size_bytes") or dump.get("size_bytes") or 0)

    async def _database_facts(self, role: str, warnings: list[str]) -> tuple[dict[str, Any], Need]:
        if getattr(self.state.profile, role).engine == "mysql":
            return mysql_preflight_facts(
                role,
                await self.systems.mysql_restore_target(role),
                systems.mysql_target(self.state.profile, role),
                self._size_at_backup(role),
                warnings,
            )
        conninfo = getattr(self.state.profile, role).conninfo
        name = systems.database_name(self.state.profile, role)
        target = await self.systems.restore_target(role, name)
        info, rights, lost = target.info, target.rights, target.not_in_dump
        missing = rights.problems(name)
        if info is None:  # nothing to rename: only the right to create databases counts
            missing = missing[:1] if not (rights.superuser or rights.createdb) else []
        if missing:
            raise SyncWizardError(
                f"{system_label(role)}: " + "; ".join(m.split(": ", 1)[0] for m in missing),
                hint="; ".join(m.split(": ", 1)[-1] for m in missing),
                system=role,
            )
        need = need_of(role, conninfo, name, self._size_at_backup(role), target)
        if info is None:
            warnings.append(f"the database {name!r} does not exist: it is created by the restore")
        if lost:
            warnings.append(
                f"{name!r} has settings a pg_dump archive does not carry; the swap sets them "
                f"again on the restored database: {'; '.join(lost)}"
            )
        return {
            "name": name,
            "exists": info is not None,
            "size_bytes": (info.size_bytes or 0) if info else 0,
            "owner": info.owner if info else "",
            "connections": [
                {"pid": s.pid, "user": s.user, "application": s.application, "client": s.client}
                for s in target.sessions
            ],
            "not_in_dump": lost,
        }, need

    # --- the report -----------------------------------------------------------------------

    async def write_report(self, ctx: StepContext) -> Outputs:
        record = load_run(self.run_dir)
        # The report is this step's whole work: it tells the run as it stands once written.
        record.states[REPORT] = StepState.DONE
        record.step_finished[REPORT] = time.time()
        record.results[REPORT] = {"summary": f"this report, {REPORT_NAME} in the run folder"}
        if all(state.satisfied for state in record.states.values()):
            record.outcome = "finished"
        path = write_report(record, self.run_dir / REPORT_NAME)
        return {"report": str(path), "summary": f"report written to {path}"}


def _age_warning(age: float, t0: str) -> str:
    return (
        f"the set was taken {units.duration(age)} ago (t0 {t0}): the repository goes back to "
        "then, and what users created, changed or deleted since is lost from it (desktop "
        "clients keep their local copies; the -Drecover start reconciles the Sync Service "
        "with the restored repository)"
    )


def _orphans_warning(topic: str, orphans: tuple[Subscriber, ...]) -> str:
    names = "; ".join(o.describe() for o in orphans)
    return (
        f"{len(orphans)} queue(s) of topic {topic} have no consumer but hold events: {names}. "
        "Each keeps collecting every event of the topic until the broker's flow control "
        "blocks the repository. After the sync queue, the restore offers to clear each one "
        "into the run's folder, behind its own gate: clear one only when you know its "
        "installation is gone; declining leaves it"
    )


def _topic(queue: str) -> str | None:
    from syncwizard.clients.names import topic_of_queue

    try:
        return topic_of_queue(queue)
    except ValueError:
        return None
