"""The database half of a restore: into a scratch database, verified, then swapped in.

`restore_into_scratch` creates `<live>__restore_<run>` beside the live database (same
owner, encoding, locale), runs pg_restore into it and checks every table of the
manifest holds exactly the manifest's row count; the live database is not touched.
`swap` then ends the sessions and, in ONE transaction, renames the live database aside
(`<live>__before_<run>`) and the scratch one into its place: the live name always holds
either the old database or the fully verified new one. Both are resumable after a
kill -9: a half-restored scratch database is dropped and restored again; a swap that
committed is recognised by the database's oid (which a rename keeps).

The drop-first path (no room for two copies) drops the live database at the START of
the restore (behind its own gate) and keeps no copy of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import psycopg

from syncwizard import units
from syncwizard.clients import dbsettings, lifeline, pgadmin, pgtools
from syncwizard.clients.dbnames import aside_name as aside_name
from syncwizard.clients.dbnames import derived_name as derived_name
from syncwizard.clients.dbnames import run_suffix as run_suffix
from syncwizard.clients.dbnames import scratch_name as scratch_name
from syncwizard.clients.postgres import connect, query_error, system_label, target_parts
from syncwizard.clients.results import Progress, Session
from syncwizard.errors import SyncWizardError
from syncwizard.runbook.model import Outputs, RefusedError, StepContext

Mode = Literal["side_by_side", "drop_first"]
MAX_NAME_BYTES = pgadmin.MAX_NAME_BYTES
_STEPS = {
    "repository_db": ("restore_repository", "swap_repository"),
    "sync_db": ("restore_sync", "swap_sync"),
}


# --- names --------------------------------------------------------------------------------


# (run_suffix, derived_name, scratch_name, aside_name: in clients/dbnames.py, which the
# MySQL/MariaDB restore shares; imported above, and still importable from here.)

# --- the plan -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RestorePlan:
    role: str  # "repository_db" or "sync_db" (the system named in errors)
    roles: tuple[str, ...]  # the databases this dump stands for (both, when shared)
    conninfo: str  # the live database's, from the profile
    passfile: Path | None
    archive: Path  # the dump in the backup set
    fmt: str  # "directory" or "custom"
    jobs: int
    live: str
    scratch: str
    aside: str
    row_counts: Mapping[str, int] = field(hash=False)  # the manifest's, "schema.table" -> rows
    dump_tool_major: int  # the pg_dump that made the archive
    mode: Mode = "side_by_side"
    restore_step: str = ""  # the step ids whose records and results these functions read
    swap_step: str = ""
    # Archives restored after `archive` into the same scratch database: the Sync Service's
    # tables of a database it shares with the repository, dumped after the wait.
    then: tuple[Path, ...] = ()

    @classmethod
    def for_dump(
        cls,
        *,
        role: str,
        conninfo: str,
        passfile: Path | None,
        set_dir: Path,
        dump: Mapping[str, Any],
        run_id: str,
        mode: Mode = "side_by_side",
        jobs: int = 2,
        restore_step: str = "",
        swap_step: str = "",
        then_dumps: Sequence[Mapping[str, Any]] = (),
    ) -> RestorePlan:
        """The plan for one dump of a manifest (`manifest["dumps"][i]`) into the profile's
        database of `role` (the conninfo's dbname: that is the live database), followed by
        `then_dumps` into the same database."""
        live = target_parts(conninfo, role)[2]
        default_restore, default_swap = _STEPS.get(role, ("", ""))
        row_counts = dict(dump.get("row_counts") or {})
        for later in then_dumps:
            row_counts.update(later.get("row_counts") or {})
        return cls(
            role=role,
            roles=tuple(dump.get("roles") or (role,)),
            conninfo=conninfo,
            passfile=passfile,
            archive=set_dir / dump["path"],
            fmt=dump.get("format", "directory"),
            jobs=jobs,
            live=live,
            scratch=scratch_name(live, run_id),
            aside=aside_name(live, run_id),
            row_counts=row_counts,
            dump_tool_major=max(int(d.get("tool_major") or 0) for d in (dump, *then_dumps)),
            mode=mode,
            restore_step=restore_step or default_restore,
            swap_step=swap_step or default_swap,
            then=tuple(set_dir / later["path"] for later in then_dumps),
        )

    @property
    def archives(self) -> tuple[Path, ...]:
        """Every archive restored into the scratch database, in order."""
        return (self.archive, *self.then)

    @property
    def archive_names(self) -> str:
        return " then ".join(archive.name for archive in self.archives)

    @property
    def single_transaction(self) -> bool:
        """Only a directory dump restores in parallel; anything else in one transaction."""
        return self.fmt != "directory" or self.jobs <= 1

    @property
    def total_rows(self) -> int:
        return sum(self.row_counts.values())

    @property
    def label(self) -> str:
        return system_label(self.role)

    def pg_restore_options(self) -> str:
        return "--single-transaction" if self.single_transaction else f"--jobs={self.jobs}"

    def describe(self) -> str:
        server = pgadmin.describe_server(self.conninfo, self.role)
        check = (
            f"check its {len(self.row_counts)} tables hold the manifest's {self.total_rows:,} rows"
        )
        restore = (
            f"pg_restore {self.pg_restore_options()} of {self.archive_names} into a new "
            f"database {self.scratch!r} on {server} (owner, encoding and locale of "
            f"{self.live!r}), {check}"
        )
        if self.mode == "drop_first":
            return (
                f"DROP database {self.live!r} first (no copy of it is kept: the server has "
                f"no room for two), then {restore}; then rename {self.scratch!r} to "
                f"{self.live!r}"
            )
        return (
            f"{restore}; {self.live!r} is not touched until then. After the gate: end the "
            f"sessions on {self.live!r} and, in one transaction, rename it to "
            f"{self.aside!r} and {self.scratch!r} to {self.live!r}"
        )

    def describe_swap(self) -> str:
        if self.mode == "drop_first":
            return f"rename the verified {self.scratch!r} to {self.live!r}"
        return (
            f"end the sessions on {self.live!r}, then in one transaction rename it to "
            f"{self.aside!r} and the verified {self.scratch!r} to {self.live!r}"
        )


# --- helpers ------------------------------------------------------------------------------


def kill_orphan_restore(pid: int, scratch: str) -> bool:
    """Kill a pg_restore left running by a killed syncwizard (its process group), if that
    pid still is a pg_restore into `scratch`. True if one was killed."""
    named = scratch.encode()
    return lifeline.kill_orphan(pid, {"pg_restore"}, lambda args: named in b" ".join(args))


def progress_text(label: str, progress: Progress) -> str:
    if progress.tuples_total:
        share = min(100, 100 * progress.tuples_done // max(progress.tuples_total, 1))
        rows = f"{progress.tuples_done:,} of {progress.tuples_total:,} rows ({share}%)"
    else:
        rows = f"{progress.tuples_done:,} rows"
    where = f", {progress.current_object}" if progress.current_object else ""
    loaded = units.size(progress.bytes_written)
    return f"{label} restore: {progress.phase}, {rows}, {loaded} loaded{where}"


def _size(size: int | None) -> str:
    if size is None:
        return "unknown (no right to connect to it)"
    return units.size(size)


def _info_json(info: pgadmin.DatabaseInfo) -> dict[str, Any]:
    return {
        "name": info.name,
        "oid": info.oid,
        "owner": info.owner,
        "encoding": info.encoding,
        "collate": info.collate,
        "ctype": info.ctype,
        "locale_provider": info.locale_provider,
        "icu_locale": info.icu_locale,
        "tablespace": info.tablespace,
        "size_bytes": info.size_bytes,
    }


def _info_of(data: Mapping[str, Any]) -> pgadmin.DatabaseInfo:
    return pgadmin.DatabaseInfo(**{k: data[k] for k in _info_json_keys()})


def _info_json_keys() -> tuple[str, ...]:
    return tuple(pgadmin.DatabaseInfo.__dataclass_fields__)


async def _row_counts(plan: RestorePlan, conninfo: str) -> dict[str, int | None]:
    """Each manifest table's rows in the scratch database: the server's tally of what
    pg_restore inserted where it agrees with the manifest (free: nothing else wrote
    there), and an exact count(*) for every table where it does not."""
    tallied = await pgadmin.inserted_rows(conninfo, passfile=plan.passfile, system=plan.role)
    counts: dict[str, int | None] = {
        key: rows for key, rows in plan.row_counts.items() if tallied.get(key) == rows
    }
    rest = [key for key in plan.row_counts if key not in counts]
    counts.update(
        await pgadmin.count_rows(conninfo, rest, passfile=plan.passfile, system=plan.role)
    )
    return counts


async def _archive_owners(archive: Path) -> set[str]:
    """The owners named in the archive's table of contents (`pg_restore --list`)."""
    proc = await asyncio.create_subprocess_exec(
        str(pgtools.tool_path("pg_restore")),
        "--list",
        str(archive),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    out, _ = await proc.communicate()
    owners = set()
    for line in out.decode(errors="replace").splitlines():
        if line.startswith(";") or not line.strip() or line.endswith(" "):
            continue
        owners.add(line.rsplit(" ", 1)[-1])
    # pg_database_owner is whoever owns the database the objects land in: us.
    return owners - {"-", "pg_database_owner"}


async def check_owners(plan: RestorePlan) -> None:
    """Refuse, before anything is created or dropped, an archive whose objects belong to
    roles this server lacks or this role may not give objects to.

    Never `--no-owner` for all: the objects would all belong to the restoring role, and
    the application role (the repository's `alfresco`) could lose the access to its own
    tables that ownership gave it."""
    owners: set[str] = set()
    for archive in plan.archives:
        owners |= await _archive_owners(archive)
    if not owners:
        return
    found = await pgadmin.owner_roles(
        plan.conninfo, owners, passfile=plan.passfile, system=plan.role
    )
    user = target_parts(plan.conninfo, plan.role)[3]
    server = pgadmin.describe_server(plan.conninfo, plan.role)
    problems, fixes = [], []
    if found.missing:
        names = ", ".join(repr(name) for name in found.missing)
        problems.append(
            f"the dump's objects belong to role{'s' if len(found.missing) > 1 else ''} "
            f"{names}, which {'do' if len(found.missing) > 1 else 'does'} not exist on "
            f"{server}"
        )
        creates = "; ".join(f"CREATE ROLE {name}" for name in found.missing)
        fixes.append(
            f"create {'them' if len(found.missing) > 1 else 'it'} as a superuser ({creates}; "
            "add LOGIN and a password where an application logs in as it), or restore onto "
            "the server the set was taken from"
        )
    if found.not_ours:
        names = ", ".join(repr(name) for name in found.not_ours)
        problems.append(
            f"user {user!r} may not give objects to {names} (not a member, not a superuser)"
        )
        grants = "; ".join(f"GRANT {name} TO {user}" for name in found.not_ours)
        fixes.append(f"as a superuser: {grants}; or restore as a superuser")
    if problems:
        raise SyncWizardError(
            f"{plan.label}: {'; '.join(problems)}. Restoring would leave those objects "
            f"owned by {user!r} instead, and the roles that own them now could lose access "
            f"to them. Nothing was changed; {plan.live!r} is untouched",
            hint="; ".join(fixes) + "; then run this step again",
            system=plan.role,
        )


async def analyze(plan: RestorePlan, conninfo: str, ctx: StepContext) -> float:
    """ANALYZE the restored database, so it goes live with planner statistics (pg_restore
    writes none; until autovacuum came round, the repository's queries would be planned
    blind). Seconds it took."""
    ctx.progress(f"{plan.label} restore: ANALYZE {plan.scratch} (planner statistics)")
    started = time.monotonic()
    conn = await connect(conninfo, passfile=plan.passfile, system=plan.role)
    try:
        await conn.execute("ANALYZE")
    except psycopg.Error as exc:
        raise query_error(exc, conninfo, system=plan.role) from exc
    finally:
        await conn.close()
    seconds = time.monotonic() - started
    ctx.log(
        f"ANALYZE {plan.scratch}: planner statistics for its {len(plan.row_counts)} tables "
        f"in {seconds:,.1f} s"
    )
    return seconds


def _explain(
    exc: SyncWizardError, plan: RestorePlan, archive: Path, lines: list[str]
) -> SyncWizardError:
    text = " ".join([exc.message, *lines[-20:]])
    if "No space left on device" in text or "could not extend file" in text:
        hint = (
            "the server's disk filled up: free space there, or take the drop-first path "
            "(it drops the current database before restoring)"
        )
    elif match := re.search(r'role "([^"]+)" does not exist', text):
        hint = (
            f"the dump names role {match.group(1)!r}, which this server lacks: create it "
            f"(CREATE ROLE {match.group(1)}) and run this step again"
        )
    else:
        hint = (
            "the dump may be damaged or made for another server: verify the set again, or "
            "choose another set; then run this step again"
        )
    untouched = (
        f"{plan.live!r} is untouched"
        if plan.mode == "side_by_side"
        else f"{plan.live!r} was dropped before (drop-first path): run this step again"
    )
    return SyncWizardError(
        f"{plan.label}: restoring {archive.name} into the scratch database "
        f"{plan.scratch!r} failed: {exc.message}. The scratch database was dropped; {untouched}",
        hint=hint,
        system=plan.role,
    )


async def _drop_scratch_quietly(plan: RestorePlan) -> None:
    with contextlib.suppress(SyncWizardError, OSError):
        await pgadmin.drop_database(
            plan.conninfo, plan.scratch, passfile=plan.passfile, system=plan.role
        )


def _mismatches(plan: RestorePlan, counts: Mapping[str, int | None]) -> list[str]:
    found = []
    for key, expected in sorted(plan.row_counts.items()):
        got = counts.get(key)
        if got is None:
            found.append(f"{key} is missing (the manifest has {expected:,} rows)")
        elif got != expected:
            found.append(f"{key} has {got:,} rows, the manifest {expected:,}")
    return found


# --- 1. restore into the scratch database -------------------------------------------------


async def _clear_leftovers(plan: RestorePlan, ctx: StepContext) -> list[str]:
    """Stop a pg_restore orphaned by a kill -9 and drop the scratch database an earlier
    attempt of this step created. A database of that name this run did not create is
    refused, never dropped."""
    records = ctx.records_of(plan.restore_step)
    child = records.get("child")
    if child and kill_orphan_restore(int(child["pid"]), plan.scratch):
        ctx.log(f"stopped pg_restore (pid {child['pid']}) left running by an earlier attempt")
    existing = await pgadmin.database_info(
        plan.conninfo, plan.scratch, passfile=plan.passfile, system=plan.role
    )
    if existing is None:
        return []
    if records.get("creating_scratch", {}).get("name") != plan.scratch:
        raise SyncWizardError(
            f"{plan.label}: a database named {plan.scratch!r} already exists and this run "
            "did not create it",
            hint=f"look at it; drop it (DROP DATABASE {plan.scratch}) if it is not needed, "
            "then run this step again",
            system=plan.role,
        )
    await pgadmin.drop_database(
        plan.conninfo, plan.scratch, passfile=plan.passfile, system=plan.role
    )
    ctx.log(
        f"dropped {plan.scratch!r} ({_size(existing.size_bytes)}), a half-restored scratch "
        "database left by an interrupted attempt of this step"
    )
    return [plan.scratch]


async def _check_tools(plan: RestorePlan) -> int:
    major = await pgtools.tool_major("pg_restore")
    if major < plan.dump_tool_major:
        path = pgtools.tool_path("pg_restore")
        wanted = plan.dump_tool_major
        raise SyncWizardError(
            f"pg_restore {major} ({path}) cannot read {plan.archive_names}: it was made by "
            f"pg_dump {wanted}",
            hint=f"install postgresql-client-{wanted} (apt-get install postgresql-client-"
            f"{wanted}) or set {pgtools.BINDIR_ENV} to /usr/lib/postgresql/{wanted}/bin",
            system="config",
        )
    return major


async def _live_like(plan: RestorePlan, ctx: StepContext) -> tuple[pgadmin.DatabaseInfo, bool]:
    """The live database's facts (recorded: on the drop-first path it is gone on a resume),
    and whether it exists now."""
    recorded = ctx.records_of(plan.restore_step).get("live")
    info = await pgadmin.database_info(
        plan.conninfo, plan.live, passfile=plan.passfile, system=plan.role
    )
    if info is not None:
        if recorded is None or recorded.get("oid") != info.oid:
            ctx.record("live", _info_json(info))
        settings = await pgadmin.database_settings(
            plan.conninfo, plan.live, passfile=plan.passfile, system=plan.role
        )
        if settings is not None:  # the drop-first swap sets them again from this record
            ctx.record("live_settings", settings.as_json())
        return info, True
    if recorded is not None:
        return _info_of(recorded), False
    # No database of that name at all (a new server): like template1, owned by us.
    template = await pgadmin.database_info(
        plan.conninfo, "template1", passfile=plan.passfile, system=plan.role
    )
    assert template is not None
    user = target_parts(plan.conninfo, plan.role)[3]
    ctx.log(f"{plan.live!r} does not exist on the server: restoring into a new one")
    like = pgadmin.DatabaseInfo(**{**_info_json(template), "name": plan.live, "owner": user})
    return like, False


async def _check_rights(plan: RestorePlan, live_exists: bool) -> None:
    rights = await pgadmin.restore_rights(
        plan.conninfo, plan.live, passfile=plan.passfile, system=plan.role
    )
    problems = rights.problems(plan.live if live_exists else None)
    if problems:
        raise SyncWizardError(
            f"{plan.label}: {'; '.join(problems)}",
            hint="nothing was changed; grant the right (as a superuser) and run this step again",
            system=plan.role,
        )


async def _restore_archive(
    plan: RestorePlan, archive: Path, scratch_conninfo: str, ctx: StepContext, lines: list[str]
) -> None:
    """pg_restore of one archive into the scratch database, its output in the log."""
    restore = pgtools.PgRestore(
        scratch_conninfo,
        archive,
        jobs=plan.jobs,
        single_transaction=plan.single_transaction,
        # The progress's total: only known for a single archive (the manifest's counts).
        expected_rows=(plan.total_rows or None) if not plan.then else None,
        passfile=plan.passfile,
        system=plan.role,
    )
    recorded_child = False

    def on_progress(progress: Progress) -> None:
        nonlocal recorded_child
        if restore.pid is not None and not recorded_child:
            recorded_child = True  # a resume after kill -9 stops an orphaned pg_restore
            ctx.record("child", {"pid": restore.pid, "scratch": plan.scratch})
        for line in progress.lines:
            lines.append(line)
            ctx.log(line)
        ctx.progress(progress_text(plan.label, progress), progress)

    restore.on_progress = on_progress
    try:
        await restore.run()
    except SyncWizardError as exc:
        raise _explain(exc, plan, archive, [*lines, *restore.recent_lines]) from exc


async def restore_into_scratch(plan: RestorePlan, ctx: StepContext) -> Outputs:
    """Restore the archive into the scratch database and verify it against the manifest.

    Outputs: database, scratch, scratch_oid, mode, tables, rows, seconds, owner,
    no_owner, dropped_leftovers, summary. On any failure the scratch database is dropped
    and the live one untouched (on the drop-first path it was dropped before, by design).
    """
    started = time.monotonic()
    dropped = await _clear_leftovers(plan, ctx)
    await _check_tools(plan)
    like, live_exists = await _live_like(plan, ctx)
    await _check_rights(plan, live_exists)
    await check_owners(plan)
    if plan.mode == "drop_first" and live_exists:
        ctx.record("dropping_live", {"name": plan.live, "oid": like.oid})
        await pgadmin.drop_database(
            plan.conninfo, plan.live, passfile=plan.passfile, system=plan.role
        )
        ctx.log(f"dropped {plan.live!r} ({_size(like.size_bytes)}): the drop-first path")
    ctx.record("creating_scratch", {"name": plan.scratch})
    owner = await pgadmin.create_like(
        plan.conninfo, plan.scratch, like, passfile=plan.passfile, system=plan.role
    )
    scratch_info = await pgadmin.database_info(
        plan.conninfo, plan.scratch, passfile=plan.passfile, system=plan.role
    )
    assert scratch_info is not None
    scratch_conninfo = pgadmin.database_conninfo(plan.conninfo, plan.scratch, plan.role)
    lines: list[str] = []
    done = False
    try:
        for archive in plan.archives:
            await _restore_archive(plan, archive, scratch_conninfo, ctx, lines)
        ctx.progress(f"{plan.label} restore: checking the row count of every table")
        counts = await _row_counts(plan, scratch_conninfo)
        if problems := _mismatches(plan, counts):
            shown = "; ".join(problems[:5]) + (
                f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
            )
            raise RefusedError(
                f"{plan.label}: the restored database does not match the manifest: {shown}. "
                f"The scratch database {plan.scratch!r} was dropped; {plan.live!r} is "
                "untouched",
                hint="the set may be damaged: verify it again or choose another set",
                system=plan.role,
            )
        await analyze(plan, scratch_conninfo, ctx)
        done = True
    finally:
        if not done:
            # Shielded: a cancelled step still removes its half database.
            await asyncio.shield(_drop_scratch_quietly(plan))
    seconds = time.monotonic() - started
    ctx.record("restored", {"scratch": plan.scratch, "oid": scratch_info.oid})
    return restored_outputs(
        plan,
        scratch_oid=scratch_info.oid,
        owner=owner,
        no_owner=False,
        dropped_leftovers=dropped,
        seconds=seconds,
        analyzed=True,
    )


def restored_outputs(
    plan: RestorePlan,
    *,
    scratch_oid: int,
    owner: str,
    no_owner: bool,
    dropped_leftovers: list[str],
    seconds: float,
    analyzed: bool = False,
) -> Outputs:
    """What a verified restore into the scratch database reports (and the swap reads)."""
    rows = sum(plan.row_counts.values())
    return {
        "database": plan.live,
        "scratch": plan.scratch,
        "scratch_oid": scratch_oid,
        "mode": plan.mode,
        "tables": len(plan.row_counts),
        "rows": rows,
        "seconds": round(seconds, 2),
        "owner": owner,
        "no_owner": no_owner,
        "dropped_leftovers": dropped_leftovers,
        "analyzed": analyzed,
        "summary": f"restored {plan.archive_names} into {plan.scratch!r}: {rows:,} rows in "
        f"{len(plan.row_counts)} tables, each as the manifest says"
        + (", analyzed" if analyzed else "")
        + f", in {seconds:,.1f} s",
    }


# --- 2. the swap --------------------------------------------------------------------------


def swap_outputs(
    plan: RestorePlan,
    aside: str | None,
    terminated: int,
    reapplied: tuple[str, ...] | list[str] = (),
    not_reapplied: tuple[str, ...] | list[str] = (),
) -> Outputs:
    if aside is None:
        kept = "no copy of the old one was kept"
    else:
        kept = f"the old one is kept as {aside!r} until you drop it"
    settings = ""
    if reapplied:
        settings = f"; its database settings and privileges set again ({len(reapplied)})"
    if not_reapplied:
        settings += f"; NOT set again (run them as a role that may): {'; '.join(not_reapplied)}"
    return {
        "database": plan.live,
        "aside": aside,
        "terminated": terminated,
        "settings_reapplied": list(reapplied),
        "settings_not_reapplied": list(not_reapplied),
        "summary": f"{plan.live!r} is now the restored database ({terminated} session"
        f"{'s' if terminated != 1 else ''} ended){settings}; {kept}",
    }


def _restored_oid(plan: RestorePlan, ctx: StepContext) -> int:
    restored = ctx.results.get(plan.restore_step, {})
    oid = restored.get("scratch_oid")
    if oid is None:
        raise RefusedError(
            f"{plan.label}: there is no verified restore to put in place",
            hint="run the restore step first",
            system=plan.role,
        )
    return int(oid)


async def swap(plan: RestorePlan, ctx: StepContext) -> Outputs:
    """Put the verified scratch database in the live one's place (see swap_into_place).

    Resumable: a swap whose transaction committed (the live name now holds the restored
    database's oid) is not done again and returns the same outputs.
    """
    restored_oid = _restored_oid(plan, ctx)
    records = ctx.records_of(plan.swap_step)
    if swapped := records.get("swapped"):
        await verify_swapped(plan, ctx, swapped)
        return dict(swapped)
    conn = await pgadmin.connect_maintenance(
        plan.conninfo, passfile=plan.passfile, system=plan.role
    )
    try:
        live = await pgadmin.read_database_info(conn, plan.live)
        scratch = await pgadmin.read_database_info(conn, plan.scratch)
        aside = await pgadmin.read_database_info(conn, plan.aside)
    except psycopg.Error as exc:
        raise query_error(exc, plan.conninfo, system=plan.role) from exc
    finally:
        await conn.close()
    if scratch is None and live is not None and live.oid == restored_oid:
        # Committed, and then killed before it was journaled.
        outputs = swap_outputs(plan, plan.aside if aside is not None else None, 0)
        ctx.record("swapped", outputs)
        ctx.log(f"the swap had already committed: {plan.live!r} is the restored database")
        return outputs
    if scratch is None or scratch.oid != restored_oid:
        raise RefusedError(
            f"{plan.label}: the restored database {plan.scratch!r} is gone (or is another "
            f"database now), and {plan.live!r} is not it; nothing was changed",
            hint="start the restore again from a fresh run",
            system=plan.role,
        )
    if plan.mode == "side_by_side" and aside is not None:
        raise SyncWizardError(
            f"{plan.label}: a database named {plan.aside!r} already exists; the current "
            f"{plan.live!r} cannot be renamed to it. Nothing was changed",
            hint=f"drop or rename it (DROP DATABASE {plan.aside}) and run this step again",
            system=plan.role,
        )
    ctx.record("swapping", {"live_oid": live.oid if live else None, "scratch_oid": restored_oid})
    recorded = ctx.records_of(plan.restore_step).get("live_settings")
    result = await pgadmin.swap_into_place(
        plan.conninfo,
        plan.live,
        plan.scratch,
        plan.aside if plan.mode == "side_by_side" else None,
        passfile=plan.passfile,
        system=plan.role,
        settings=dbsettings.DatabaseSettings.from_json(dict(recorded)) if recorded else None,
    )
    for statement in result.reapplied:
        ctx.log(f"set again on the restored {plan.live!r}: {statement}")
    for failed in result.not_reapplied:
        ctx.log(f"NOT set again on the restored {plan.live!r} (run it as one who may): {failed}")
    outputs = swap_outputs(
        plan, result.aside, result.terminated, result.reapplied, result.not_reapplied
    )
    ctx.record("swapped", outputs)
    return outputs


async def verify_swapped(plan: RestorePlan, ctx: StepContext, outputs: Mapping[str, Any]) -> None:
    """The live name holds the restored database (a verification, also on resume)."""
    restored_oid = _restored_oid(plan, ctx)
    live = await pgadmin.database_info(
        plan.conninfo, plan.live, passfile=plan.passfile, system=plan.role
    )
    if live is None or live.oid != restored_oid:
        raise SyncWizardError(
            f"{plan.label}: {plan.live!r} is no longer the restored database",
            hint="something renamed or dropped it since; start the restore again",
            system=plan.role,
        )


async def drop_aside(
    conninfo: str,
    aside: str,
    *,
    passfile: Path | None = None,
    system: str = "",
) -> bool:
    """Drop the old database kept aside by a swap (ending its sessions). True if it existed."""
    return await pgadmin.drop_database(conninfo, aside, passfile=passfile, system=system)


# --- what a gate shows --------------------------------------------------------------------


def _sessions_text(sessions: list[Session]) -> str:
    if not sessions:
        return "nobody"
    shown = [
        f"{s.user or '?'} ({s.application or 'no application name'}, {s.client or '?'}, {s.state})"
        for s in sessions[:5]
    ]
    more = f" and {len(sessions) - 5} more" if len(sessions) > 5 else ""
    count = f"{len(sessions)} session{'s' if len(sessions) != 1 else ''}: "
    return count + "; ".join(shown) + more + " (ended at the swap)"


@dataclass(frozen=True)
class SwapLook:
    """The live database, who is connected to it, and the scratch database, as they are."""

    live: pgadmin.DatabaseInfo | None
    sessions: list[Session]
    scratch: pgadmin.DatabaseInfo | None
    # What the swap sets again on the restored database (SQL), from the live one.
    settings: list[str] = field(default_factory=list)


async def look_before_swap(plan: RestorePlan) -> SwapLook:
    """One look at the server before the swap's gate (or the drop-first restore's)."""
    conn = await pgadmin.connect_maintenance(
        plan.conninfo, passfile=plan.passfile, system=plan.role
    )
    try:
        scratch = await pgadmin.read_database_info(conn, plan.scratch)
        want = await dbsettings.read_settings(conn, plan.live)
        settings = (
            [s.as_string(conn) for s in dbsettings.statements(want, plan.live, scratch.owner)]
            if want is not None and scratch is not None
            else []
        )
        return SwapLook(
            live=await pgadmin.read_database_info(conn, plan.live),
            sessions=await pgadmin.read_sessions(conn, plan.live),
            scratch=scratch,
            settings=settings,
        )
    except psycopg.Error as exc:
        raise query_error(exc, plan.conninfo, system=plan.role) from exc
    finally:
        await conn.close()


def gate_facts(plan: RestorePlan, look: SwapLook) -> tuple[tuple[str, str], ...]:
    """(label, value) rows for the swap's gate (or, on the drop-first path, the restore's):
    the live database, its size, who is connected, and what becomes of it."""
    live, scratch = look.live, look.scratch
    server = pgadmin.describe_server(plan.conninfo, plan.role)
    rows: list[tuple[str, str]] = [
        ("Database", f"{plan.live} on {server}"),
        ("Its size", _size(live.size_bytes) if live else "it does not exist"),
        ("Connected", _sessions_text(look.sessions)),
    ]
    if plan.mode == "drop_first":
        rows.append(("Becomes", "DROPPED: no copy is kept (the server has no room for two)"))
    else:
        rows.append(("Renamed to", f"{plan.aside} (kept until you drop it from the summary)"))
    if scratch is not None:
        rows.append(
            (
                "Replaced by",
                f"{plan.scratch} ({_size(scratch.size_bytes)}, {plan.total_rows:,} rows "
                f"in {len(plan.row_counts)} tables, verified)",
            )
        )
    else:
        restored = f"a restore of {plan.archive_names} ({plan.total_rows:,} rows)"
        rows.append(("Replaced by", restored))
    if look.settings:
        more = len(look.settings) - 2
        rows.append(
            (
                "Set again",
                "; ".join(look.settings[:2]) + (f"; and {more} more" if more > 0 else ""),
            )
        )
    return tuple(rows)
