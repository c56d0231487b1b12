"""The backup runbook: preflight -> repository DB backup -> wait for the
Sync Service to track it -> Sync DB backup -> verify and seal the set.

`start_backup` begins a new run and `resume_backup` continues one found by
`journal.find_unfinished("backup")`; both return an Engine (see engine.py) whose
`run()` does the rest. The backup set folder is `<backup.dir>/<run id>`.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from syncwizard import __version__, systems, units
from syncwizard.clients import mysql_dump
from syncwizard.config import Profile
from syncwizard.errors import SyncWizardError, combined
from syncwizard.runbook import backupset
from syncwizard.runbook.backup import mysql_db
from syncwizard.runbook.backup.clocks import ClockCheck, ClockReading
from syncwizard.runbook.backup.drain import (
    DrainJudge,
    DrainSample,
    DrainStatus,
    QueueSnapshot,
    countdown,
    wait_for_drain,
)
from syncwizard.runbook.backup.options import BackupOptions, parse_attested_time
from syncwizard.runbook.backup.seal import BackupResults, seal_set
from syncwizard.runbook.backup.snapshot_dump import DumpPlan, Table, iso, kill_orphan
from syncwizard.runbook.backup.snapshot_dump import remove_leftovers as remove_dump_leftovers
from syncwizard.runbook.backup.step_names import (
    EXTERNAL_SUFFIX,
    PREFLIGHT,
    REPOSITORY,
    RUNBOOK,
    SEAL,
    SYNC,
    TITLES,
    WAIT,
)
from syncwizard.runbook.backup.systems import BackupSystems, DatabaseProbeResult
from syncwizard.runbook.engine import Engine
from syncwizard.runbook.journal import (
    Journal,
    RunRecord,
    find_unfinished,
    new_run_id,
    runs_dir,
    secrets_to_mask,
)
from syncwizard.runbook.model import (
    Confirm,
    Observer,
    Outputs,
    RefusedError,
    Runbook,
    Step,
    StepContext,
)
from syncwizard.runbook.profile_lock import ProfileLock

__all__ = ["BackupOptions", "BackupSteps", "parse_attested_time", "resume_backup", "start_backup"]

FREE_SPACE_FACTOR = 1.2
COMPRESSED_SHARE = 0.5  # a compressed dump's size against the tables' size, generously
NOTABLE_SKEW = 1.5  # seconds; below it the skew is mostly the broker's whole-second stamp


class BackupSteps:
    """The five steps, bound to one profile, its systems and one backup set folder."""

    def __init__(
        self,
        profile: Profile,
        broker_password: str | None,
        options: BackupOptions,
        set_dir: Path,
        systems: BackupSystems | None = None,
    ) -> None:
        self.profile = profile
        self.options = options
        self.set_dir = set_dir
        self.systems = systems or BackupSystems(profile, broker_password)

    def runbook(self) -> Runbook:
        external = self.options.external_repository_at is not None
        return Runbook(
            name=RUNBOOK,
            aclose=self.systems.aclose,
            steps=(
                Step(
                    id=PREFLIGHT,
                    title=TITLES[PREFLIGHT],
                    why="Before anything is written: every system answers, the sync GUID and "
                    "its queue are known, the client tools can dump these servers, and the "
                    "backup folder has room. Each problem is named with its fix.",
                    action=self.preflight,
                    verification=self.verify_set_dir,
                    plan=lambda ctx: self._plan_preflight(),
                ),
                Step(
                    id=REPOSITORY,
                    title=TITLES[REPOSITORY] + (EXTERNAL_SUFFIX if external else ""),
                    why="The procedure backs up the repository FIRST, so a restore can remove "
                    "whatever the Sync Service tracked after it. t0 is its snapshot time, by "
                    "the database's clock; the queue is counted at t0 + margin.",
                    action=self.repository_backup,
                    verification=self.verify_dump,
                    depends_on=(PREFLIGHT,),
                    plan=self._plan_repository,
                ),
                Step(
                    id=WAIT,
                    title=TITLES[WAIT],
                    why="Only when the Sync Service has consumed every event produced up to "
                    "t0 does its database reflect the repository backup. The doc's 'Dequeued "
                    "== Pending', or any count alone, is unsound; the sound criterion is shown.",
                    action=self.wait_for_sync,
                    depends_on=(REPOSITORY,),
                    plan=lambda ctx: self._plan_wait(),
                ),
                Step(
                    id=SYNC,
                    title=TITLES[SYNC],
                    why="Taken after the wait, so it holds everything the repository backup "
                    "holds (restore then starts the Sync Service once with -Drecover).",
                    action=self.sync_backup,
                    verification=self.verify_dump,
                    depends_on=(WAIT,),
                    plan=self._plan_sync,
                ),
                Step(
                    id=SEAL,
                    title=TITLES[SEAL],
                    why="each dump read (pg_restore --list; a MySQL/MariaDB dump's rows "
                    "counted), the sha256 of every file, then "
                    "manifest.json, written last: a folder without it is not a backup set.",
                    action=self.seal,
                    verification=self.verify_sealed,
                    depends_on=(REPOSITORY, SYNC),
                    plan=lambda ctx: (
                        f"check and checksum every file of {self.set_dir}, then "
                        f"write {self.set_dir / backupset.MANIFEST_NAME}"
                    ),
                ),
            ),
        )

    # --- plans (what exactly the next action will do) -------------------------------------

    def _is_mysql(self, role: str) -> bool:
        return bool(getattr(self.profile, role).engine == mysql_db.ENGINE)

    def _plan_preflight(self) -> str:
        urls = ", ".join(self.profile.health.urls)
        tools = (
            "mariadb-dump (or mysqldump)"
            if all(self._is_mysql(role) for role in ("repository_db", "sync_db"))
            else "pg_dump and pg_restore"
        )
        repository = self.profile.repository_db
        databases = (
            f"connect to the Sync DB (the repository DB on {repository.vendor} is not "
            "connected to: its backup is attested)"
            if repository.engine == "external"
            else "connect to both databases"
        )
        return (
            f"read the health check ({urls}), find the sync queue on "
            f"{self.profile.broker.jolokia_url}, {databases}, check {tools}, "
            f"and create the backup set folder {self.set_dir}"
        )

    def _describe(self, plan: DumpPlan) -> str:
        if not self._is_mysql(plan.role):
            return plan.describe()
        return (
            f"mariadb-dump --single-transaction (one consistent snapshot; t0 is its start) of "
            f"{systems.mysql_target(self.profile, plan.role).where} into {plan.out_path} "
            f"(written as {plan.out_path.name}.partial and renamed when complete), with every "
            "table's exact row count read from the dump"
        )

    def _plan_repository(self, ctx: StepContext) -> str:
        if self.options.external_repository_at is not None:
            return (
                "record the repository backup taken externally, with its snapshot time "
                f"{iso(self.options.external_repository_at)} as t0"
            )
        return self._describe(self._repository_plan(ctx))

    def _plan_wait(self) -> str:
        if self.options.wait_mode == "countdown":
            return f"wait {self.options.countdown:g} s (the doc's 'couple of minutes')"
        drain = self.options.drain
        twice = f" twice {drain.confirm:g} s apart" if drain.confirm > 0 else ""
        return (
            f"watch the sync queue until the drain criterion holds{twice} "
            f"(at most {drain.timeout:g} s)"
        )

    def _plan_sync(self, ctx: StepContext) -> str:
        return self._describe(self._sync_plan(ctx))

    def _sync_objects(self, ctx: StepContext) -> tuple[tuple[Table, ...], tuple[Table, ...]]:
        """The Sync Service's tables and sequences in the shared database, as preflight
        found them (none when the databases are apart)."""
        found = ctx.results.get(PREFLIGHT, {}).get("sync_objects") or {}
        tables = tuple((schema, name) for schema, name in found.get("tables", []))
        sequences = tuple((schema, name) for schema, name in found.get("sequences", []))
        return tables, sequences

    def _repository_plan(self, ctx: StepContext) -> DumpPlan:
        tables, sequences = self._sync_objects(ctx)
        return self._dump_plan(
            "repository_db", self._dump_name("repository_db"), without=(*tables, *sequences)
        )

    def _dump_name(self, role: str) -> str:
        return role + (mysql_db.SUFFIX if self._is_mysql(role) else ".dump")

    def _sync_plan(self, ctx: StepContext) -> DumpPlan:
        # Shared: the same database, only the Sync Service's tables (their sequences come
        # with them); taken after the wait like a Sync DB of its own.
        return self._dump_plan(
            "sync_db", self._dump_name("sync_db"), only=self._sync_objects(ctx)[0]
        )

    def _dump_plan(
        self,
        role: str,
        name: str,
        *,
        only: tuple[Table, ...] = (),
        without: tuple[Table, ...] = (),
    ) -> DumpPlan:
        settings = getattr(self.profile, role)
        return DumpPlan(
            role=role,
            roles=(role,),
            conninfo=settings.conninfo,
            passfile=Path(settings.passfile).expanduser() if settings.passfile else None,
            out_path=self.set_dir / name,
            fmt=self.options.format,
            jobs=self.options.jobs,
            compress=self.options.compress,
            timeout=settings.timeout,
            lock_timeout=settings.lock_timeout,
            only=only,
            without=without,
        )

    # --- 1. preflight ---------------------------------------------------------------------

    async def preflight(self, ctx: StepContext) -> Outputs:
        problems: list[SyncWizardError] = []
        warnings: list[str] = []
        facts: dict[str, Any] = {}
        ctx.progress("reading the health check and the broker")
        try:
            facts.update(await self.systems.find_sync(warnings))
        except SyncWizardError as exc:
            problems.append(exc)
        ctx.progress("connecting to the databases")
        probes: dict[str, DatabaseProbeResult] = {}
        for role in ("repository_db", "sync_db"):
            if getattr(self.profile, role).engine == "external":
                # Oracle or SQL Server: never connected to; its backup is attested.
                if self.options.external_repository_at is None:
                    problems.append(self._external_unattested(role))
                continue
            try:
                probes[role] = await self.systems.probe_database(role)
            except SyncWizardError as exc:
                problems.append(exc)
        warnings.extend(w for probe in probes.values() for w in probe.warnings)
        shared, why_shared = False, ""
        if len(probes) == 2:
            shared, why_shared = self.systems.shared_database(probes, warnings)
        if shared and self._is_mysql("sync_db"):
            problems.append(
                mysql_db.refuse_shared(
                    systems.mysql_target(self.profile, "repository_db"),
                    systems.mysql_target(self.profile, "sync_db"),
                )
            )
        elif shared:
            try:
                facts["sync_objects"] = await self._shared_sync_objects(probes["sync_db"])
            except SyncWizardError as exc:
                problems.append(exc)
        if "repository_db" in probes:
            try:
                facts["repository_version"] = await self.systems.repository_version()
            except SyncWizardError:
                facts["repository_version"] = None  # informational: the dump needs more
        if probes:
            try:
                facts["tools"] = await self.systems.check_tools(probes)
            except SyncWizardError as exc:
                problems.append(exc)
        external = self.options.external_repository_at
        if external is not None and external > time.time() + self.options.drain.skew:
            problems.append(
                SyncWizardError(
                    f"the attested snapshot time {iso(external)} is in the future",
                    hint="give the start time of the external repository backup",
                    system="config",
                )
            )
        estimate = self._estimate(probes, shared)
        try:
            # Nothing is created while anything else is wrong: the folder is only looked at.
            facts["free_bytes"] = self._prepare_set_dir(estimate, create=not problems)
        except SyncWizardError as exc:
            problems.append(exc)
        if problems:
            raise combined(problems, "preflight")
        if warnings:
            ctx.record("warnings", {"warnings": warnings})
        databases = {role: probe.as_json() for role, probe in probes.items()}
        summary = (
            f"sync id {facts['sync_id']}, queue {facts['queue']} "
            f"({facts['consumers']} consumer{'s' if facts['consumers'] != 1 else ''})"
            + (
                f"; the Sync Service shares the repository database (its "
                f"{len(facts['sync_objects']['tables'])} tables are dumped after the wait)"
                if shared
                else ""
            )
        )
        return {
            **facts,
            "databases": databases,
            "shared_database": shared,
            "shared_reason": why_shared,
            "estimate_bytes": estimate,
            "backup_set": str(self.set_dir),
            "warnings": warnings,
            "summary": summary,
        }

    async def _shared_sync_objects(self, probe: DatabaseProbeResult) -> dict[str, Any]:
        """The Sync Service's tables in the database it shares with the repository: the
        repository's part is dumped at t0 without them, theirs after the wait. Without any,
        the two parts cannot be told apart: refused, naming what to check."""
        found = await self.systems.sync_objects("sync_db")
        if not found["tables"]:
            raise SyncWizardError(
                f"the Sync Service shares the repository database {probe.name!r}, but no "
                "table there is named like the Sync Service's ('%sync%'): syncwizard cannot "
                "dump the repository's tables at t0 and the Sync Service's after the wait, "
                "which the procedure's order needs",
                hint="check that sync_db.conninfo names the database of the Sync Service's "
                "config.yml (sql.db.url); if it does, the Sync Service has not created its "
                "tables yet: start it once, then run the backup",
                system="sync_db",
            )
        return found

    def _estimate(self, probes: Mapping[str, DatabaseProbeResult], shared: bool) -> int:
        roles = ["sync_db"] if shared else ["repository_db", "sync_db"]
        if self.options.external_repository_at is not None and not shared:
            roles = ["sync_db"]
        data = sum(probes[role].data_bytes for role in roles if role in probes)
        share = 1.0 if self.options.compress == "0" else COMPRESSED_SHARE
        return int(data * share)

    def _prepare_set_dir(self, estimate: int, *, create: bool) -> int:
        """Create the set folder (0700) and prove it writable; its disk's free space.
        Without `create`, only look: the nearest existing folder must be writable."""
        root = self.options.backup_dir
        try:
            if create:
                root.mkdir(parents=True, exist_ok=True, mode=0o700)
                self.set_dir.mkdir(mode=0o700, exist_ok=True)
                self.set_dir.chmod(0o700)
                probe = self.set_dir / ".write-test"
                probe.write_bytes(b"syncwizard")
                probe.unlink()
                free = _free_bytes(self.set_dir)
            else:
                existing = next(p for p in (self.set_dir, *self.set_dir.parents) if p.exists())
                if not os.access(existing, os.W_OK | os.X_OK):
                    raise PermissionError(13, "Permission denied", str(existing))
                free = _free_bytes(existing)
        except OSError as exc:
            raise SyncWizardError(
                f"the backup folder {self.set_dir} cannot be written: {exc.strerror or exc}",
                hint="set backup.dir to a folder this user may write (the profile's [backup] "
                "section), or fix its permissions",
                system="backup_dir",
            ) from exc
        needed = int(estimate * FREE_SPACE_FACTOR)
        if free < needed:
            raise SyncWizardError(
                f"the backup folder {root} has {units.size(free)} free; the dumps need about "
                f"{units.size(needed)} ({FREE_SPACE_FACTOR} x the estimated "
                f"{units.size(estimate)})",
                hint="free space there, or set backup.dir to a disk with room",
                system="backup_dir",
            )
        return free

    async def verify_set_dir(self, ctx: StepContext, outputs: Outputs) -> None:
        if not self.set_dir.is_dir():
            raise SyncWizardError(
                f"the backup set folder {self.set_dir} is gone",
                hint="start a fresh run (`syncwizard backup --new`)",
                system="backup_dir",
            )

    def _external_unattested(self, role: str) -> SyncWizardError:
        settings = getattr(self.profile, role)
        return SyncWizardError(
            f"the repository DB is on {settings.vendor} ({settings.conninfo}): syncwizard "
            "cannot dump it, and no backup of it taken with the vendor's tools was given",
            hint="take it with the vendor's tool (the README's 'Oracle and SQL Server' has "
            "the commands), then run `syncwizard backup --external-repository-backup "
            "<its snapshot time, ISO 8601 with offset>`",
            system=role,
        )

    # --- 2. repository DB backup ----------------------------------------------------------

    async def repository_backup(self, ctx: StepContext) -> Outputs:
        preflight = ctx.results[PREFLIGHT]
        queue = preflight["queue"]
        if self.options.external_repository_at is not None:
            t0 = self.options.external_repository_at
            return {
                "external": True,
                "t0": t0,
                "t0_iso": iso(t0),
                "queue_at_t0": None,
                "summary": f"backed up externally; its snapshot time {iso(t0)} is t0",
            }
        # Refused here, before anything is dumped, when the clocks disagree too much.
        clocks = await self.check_clocks(ctx)
        plan = self._repository_plan(ctx)
        self._clear_interrupted_attempt(ctx, REPOSITORY, plan)

        async def at_snapshot(t0: float) -> dict[str, Any] | None:
            return await self._queue_snapshot(queue, t0, margin=clocks.margin)

        dump = await self.systems.dump(plan, ctx, at_snapshot=at_snapshot)
        what = (
            "repository DB (without the Sync Service's tables)"
            if plan.without
            else ("repository DB")
        )
        outputs = await self._dump_outputs(dump, what)
        # t0 by the database server's clock (`clock_timestamp()` read with the snapshot's
        # export): the clock of the commits it holds, not this host's.
        record = ctx.records_of(REPOSITORY).get(f"{plan.role}_snapshot", {})
        if record.get("server_time"):
            t0 = datetime.fromisoformat(str(record["server_time"])).timestamp()
            outputs.update(t0=t0, t0_iso=iso(t0))
        outputs["clocks"] = clocks.as_json()
        return outputs

    async def check_clocks(self, ctx: StepContext) -> ClockCheck:
        """The skew between the repository database server's clock (t0's), the broker's
        (standing in for the repository host's, which stamps the events) and this host's
        (the samples'); RefusedError past backup.clock_skew."""
        broker = await self.systems.broker_clock()
        others: tuple[ClockReading, ...]
        if self.profile.repository_db.engine == "external":
            # Oracle or SQL Server, never connected to: the broker's clock stands in.
            reference, others = broker, (ClockReading.here(),)
        else:
            reference = await self.systems.database_clock("repository_db")
            others = (broker, ClockReading.here())
        check = ClockCheck(
            reference=reference,
            others=others,
            allowed=self.options.drain.skew,
            publish_lag=self.options.drain.publish_lag,
        )
        ctx.record("clocks", check.as_json())
        check.refuse_if_too_skewed()
        return check

    async def _queue_snapshot(
        self, queue: str, t0: float, *, margin: float | None
    ) -> dict[str, Any]:
        """P0 and D0 at t0 (this host's clock). With a `margin`, read that many seconds
        after t0, so the events of changes committed just before the snapshot but published
        after it are counted."""
        if margin is not None:
            await asyncio.sleep(max(0.0, t0 + margin - time.time()))
        try:
            stats, dlq = await self.systems.queue_counters(queue)
        except SyncWizardError as exc:
            return {"error": exc.message}
        if stats is None:
            return {"error": f"the queue {queue} does not exist"}
        return QueueSnapshot.of(stats, time.time(), dlq).as_json()

    def _clear_interrupted_attempt(self, ctx: StepContext, step_id: str, plan: DumpPlan) -> None:
        """Before a dump step runs (again): stop a pg_dump orphaned by a kill -9 of an earlier
        attempt, and remove what that attempt left. A finished step is never re-run."""
        child = ctx.records_of(step_id).get("child")
        if child and child.get("tool") == mysql_dump.CHILD_TOOL:
            mysql_db.kill_orphan(child, systems.mysql_target(self.profile, plan.role))
        elif child:
            kill_orphan(int(child["pid"]), str(child["partial"]))
        for path in remove_dump_leftovers(plan.out_path):
            ctx.log(f"removed {path.name}, left by an interrupted attempt of this step")

    async def _dump_outputs(self, dump: dict[str, Any], what: str) -> Outputs:
        path = self.set_dir / dump["path"]
        backupset.make_private(path)
        if dump.get("format") == backupset.SQL_FORMAT:
            # Read once as the dump's last part (dbengine.read_back): whole, every row
            # counted, hashed in the same pass.
            entry = backupset.FileEntry(dump["path"], dump["size_bytes"], dump.pop("sha256"))
            dump["files"] = [entry.as_json()]
            dump["toc_entries"] = len(dump["row_counts"])
            dump["table_data_entries"] = sum(1 for n in dump["row_counts"].values() if n)
            problems: list[str] = []
        else:
            files = await asyncio.to_thread(backupset.hash_files, self.set_dir, dump["path"])
            dump["files"] = [entry.as_json() for entry in files]
            toc = await backupset.list_archive(path)
            dump["toc_entries"] = toc.entries
            dump["table_data_entries"] = len(toc.table_data)
            problems = backupset.toc_problems(dump["path"], toc, dump["row_counts"])
        if problems:
            raise SyncWizardError(
                "; ".join(problems), hint="take the backup again", system="backup_dir"
            )
        at_snapshot = dump.pop("at_snapshot", None)
        rows = sum(dump["row_counts"].values())
        return {
            "dump": dump,
            "t0": dump["snapshot_at"],
            "t0_iso": dump["snapshot_at_iso"],
            "queue_at_t0": at_snapshot,
            "summary": f"{what}: {units.size(dump['size_bytes'])}, {rows:,} rows in "
            f"{len(dump['row_counts'])} tables, snapshot at {dump['snapshot_at_iso']}",
        }

    async def verify_dump(self, ctx: StepContext, outputs: Outputs) -> None:
        dump = outputs.get("dump")
        if not dump:
            return  # taken externally
        if ctx.rechecking:
            problems = await asyncio.to_thread(backupset.check_files, self.set_dir, dump["files"])
        else:
            problems = [
                f"{entry['path']} is missing"
                for entry in dump["files"]
                if not (self.set_dir / entry["path"]).is_file()
            ]
        if problems:
            raise SyncWizardError(
                f"the dump {dump['path']} changed since it was taken: {'; '.join(problems)}",
                hint="start a fresh run (`syncwizard backup --new`)",
                system="backup_dir",
            )

    # --- 3. wait for the Sync Service -----------------------------------------------------

    async def wait_for_sync(self, ctx: StepContext) -> Outputs:
        queue = ctx.results[PREFLIGHT]["queue"]
        repository = ctx.results[REPOSITORY]
        t0 = float(repository["t0"])
        if self.options.wait_mode == "countdown":
            await countdown(
                self.options.countdown,
                lambda left: ctx.progress(f"the doc's wait: {left:.0f} s left", left),
            )
            return {
                "mode": "countdown",
                "seconds": self.options.countdown,
                "t0": t0,
                "summary": f"waited {self.options.countdown:g} s (the doc's countdown; the "
                "drain criterion was not checked)",
            }
        snapshot = repository.get("queue_at_t0") or {}
        baseline = QueueSnapshot.from_json(snapshot) if "pending" in snapshot else None
        notes = []
        if repository.get("external"):
            notes.append(
                "external backup: no queue snapshot at t0, so only 'queue empty' and 'oldest "
                "pending newer than t0' apply"
            )
        elif baseline is None:
            notes.append(
                f"no queue snapshot at t0 ({snapshot.get('error', 'not taken')}): only 'queue "
                "empty' and 'oldest pending newer than t0' apply"
            )
        # Measured again: the clocks may have moved since t0 (a resume hours later), and an
        # external backup had no measure yet. The wider margin of the two is kept.
        clocks = await self.check_clocks(ctx)
        margin = max(clocks.margin, float(repository.get("clocks", {}).get("margin", 0.0)))
        judge = DrainJudge(
            queue, t0, baseline, self.options.drain, started_at=time.time(), margin=margin
        )
        if clocks.skew > NOTABLE_SKEW:  # said on screen only when it lengthens the wait
            notes.append(clocks.summary())
        judge.notes.extend(notes)
        reset_recorded = False

        def on_status(status: DrainStatus) -> None:
            nonlocal reset_recorded
            if judge.counters_reset and not reset_recorded:
                reset_recorded = True
                ctx.record("counter_reset", {"at": status.at, "note": judge.notes[-1]})
            ctx.progress(status.text, status)

        def sample() -> Awaitable[DrainSample]:
            return self.systems.drain_sample(queue, with_dlq=baseline is not None)

        status = await wait_for_drain(sample, judge, on_status)
        return {
            "mode": "drain",
            "t0": t0,
            "clause": status.clause,
            "drained_at": status.at,
            "drained_at_iso": iso(status.at),
            "queue_at_drain": status.as_json(),
            "counters_reset": judge.counters_reset,
            "margin": margin,
            "clocks": clocks.as_json(),
            "notes": list(status.notes),
            "summary": status.headline,
        }

    # --- 4. Sync DB backup ----------------------------------------------------------------

    async def sync_backup(self, ctx: StepContext) -> Outputs:
        plan = self._sync_plan(ctx)
        self._clear_interrupted_attempt(ctx, SYNC, plan)
        dump = await self.systems.dump(plan, ctx)
        what = "Sync DB (its tables in the shared database)" if plan.only else "Sync DB"
        outputs = await self._dump_outputs(dump, what)
        outputs.pop("queue_at_t0", None)
        return outputs

    # --- 5. verify and seal ---------------------------------------------------------------

    async def seal(self, ctx: StepContext) -> Outputs:
        results = BackupResults(
            *(ctx.results[step] for step in (PREFLIGHT, REPOSITORY, WAIT, SYNC))
        )
        return await seal_set(self.set_dir, self.profile, ctx, results)

    async def verify_sealed(self, ctx: StepContext, outputs: Outputs) -> None:
        report = await backupset.verify_set(self.set_dir)
        if not report.ok:
            raise SyncWizardError(
                f"the sealed set {self.set_dir} does not verify: {'; '.join(report.problems)}",
                hint="take the backup again",
                system="backup_dir",
            )


def _free_bytes(path: Path) -> int:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


# --- starting and resuming runs -----------------------------------------------------------


def hold_profile(profile: Profile, lock: ProfileLock | None = None) -> ProfileLock:
    """The profile's lock for a backup run: `lock` (already held by the caller) shared, or
    taken now. Refused (SyncWizardError, exit 2) while another run holds it, or while a
    restore run of the profile is open: a backup then would copy half-restored databases."""
    held = lock.share() if lock is not None else ProfileLock.take(profile.name, RUNBOOK)
    try:
        restore = find_unfinished("restore", profile=profile.name)
        if restore is not None:
            raise SyncWizardError(
                f"restore run {restore.run_id} of profile {profile.name!r} is open "
                f"({restore.status()}, stopped at step {restore.stopped_at!r}); a backup now "
                "could copy half-restored databases, so this backup did not start",
                hint="finish that restore first: start `syncwizard` and choose Restore, which "
                "offers to resume it or to give it up; then back up",
                system="config",
            )
    except BaseException:
        held.release()
        raise
    return held


def start_backup(
    profile: Profile,
    options: BackupOptions,
    *,
    broker_password: str | None,
    observers: Iterable[Observer] = (),
    confirm: Confirm | None = None,
    lock: ProfileLock | None = None,
    systems: BackupSystems | None = None,
    run_id: str | None = None,
) -> Engine:
    """A new backup run, journaled; `await engine.run()` carries it out. The profile's lock
    (see `hold_profile`) is held until the engine closes. `systems` are the profile's own
    unless given (tests give fakes), and so is the run id (`backup-<UTC time>`)."""
    held = hold_profile(profile, lock)
    base = run_id or new_run_id(RUNBOOK)
    run_id, number = base, 1
    while (runs_dir() / run_id).exists() or (options.backup_dir / run_id).exists():
        number += 1
        run_id = f"{base}-{number}"  # two runs within one second
    set_dir = options.backup_dir / run_id
    journal = Journal.create(
        runs_dir() / run_id, secrets=secrets_to_mask(broker_password), profile_lock=held
    )
    try:
        steps = BackupSteps(profile, broker_password, options, set_dir, systems)
        engine = Engine(steps.runbook(), journal, run_id, observers=observers, confirm=confirm)
        engine.start(
            {
                "profile": profile.name,
                "backup_set": str(set_dir),
                "options": options.as_json(),
                "tool_version": __version__,
                "pid": os.getpid(),
            }
        )
    except BaseException:
        journal.close()  # and with it the profile's lock
        raise
    return engine


async def resume_backup(
    record: RunRecord,
    profile: Profile,
    *,
    broker_password: str | None,
    observers: Iterable[Observer] = (),
    confirm: Confirm | None = None,
    lock: ProfileLock | None = None,
    systems: BackupSystems | None = None,
) -> Engine:
    """The engine of an unfinished run, at the step where it stopped; the profile's lock
    is held as by `start_backup`, and `systems` are as there.

    Raises RefusedError when it cannot be resumed: another profile, or a backup folder
    changed since (a finished dump missing or altered). The caller then offers --new.
    """
    header = record.header
    if header.get("profile") != profile.name:
        raise RefusedError(
            f"run {record.run_id} was started with profile {header.get('profile')!r}, "
            f"not {profile.name!r}",
            hint=f"resume it with --profile {header.get('profile')}, or start a fresh run "
            "with --new",
            system="config",
        )
    options = BackupOptions.from_json(header["options"])
    set_dir = Path(header["backup_set"])
    previous = record.status()  # before we hold its lock: then it would read "running"
    journal = Journal.open(
        record.run_dir,
        secrets=secrets_to_mask(broker_password),
        profile_lock=hold_profile(profile, lock),
    )
    steps = BackupSteps(profile, broker_password, options, set_dir, systems)
    try:
        engine = Engine.resume(
            steps.runbook(), record, journal, observers=observers, confirm=confirm
        )
        await engine.recheck()
        where = record.stopped_at or "the end"
        engine.announce_resume(
            f"resuming run {record.run_id} at step {where!r} (it was {previous})",
            {"from_step": where, "previous": previous, "pid": os.getpid()},
        )
    except BaseException:
        await steps.systems.aclose()
        journal.close()
        raise
    return engine
