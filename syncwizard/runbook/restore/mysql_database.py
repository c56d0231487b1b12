"""The database half of a restore on MySQL/MariaDB, in the shape restore/database.py has
for PostgreSQL: the plan, the restore into `<live>__restore_<run>` verified table by
table, the swap by one RENAME TABLE statement (the old tables kept in
`<live>__before_<run>`), its verification, what the swap's gate shows, and the facts the
preflight reads. The work is the MySQL/MariaDB clients' (mysql_restore, mysql_swap,
mysql_target) through runbook/dbengine.py's MySQLEngine.

MySQL has no database owner, and a dump of tables carries none: there are no owner roles
to check. Views, triggers and routines, which RENAME TABLE cannot move, are refused by
the preflight (the backup refuses them too, so a set never holds them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syncwizard import units
from syncwizard.clients import mysql_target
from syncwizard.clients.mysql_conn import MySQLTarget
from syncwizard.clients.mysql_facts import DatabaseFacts, database_facts
from syncwizard.clients.mysql_restore import Mode, MySQLRestorePlan, drop_database
from syncwizard.clients.postgres import system_label
from syncwizard.clients.results import Session
from syncwizard.errors import SyncWizardError
from syncwizard.runbook.dbengine import MySQLEngine
from syncwizard.runbook.model import Outputs, StepContext
from syncwizard.runbook.restore.room import ROOM_FACTOR, Need

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


@dataclass(frozen=True)
class MySQLPlan:
    """One .sql dump of a manifest into the profile's MySQL/MariaDB database of `role`."""

    role: str
    inner: MySQLRestorePlan
    restore_step: str
    swap_step: str

    @classmethod
    def for_dump(
        cls,
        *,
        role: str,
        target: MySQLTarget,
        set_dir: Path,
        dump: Mapping[str, Any],
        run_id: str,
        mode: Mode = "side_by_side",
        restore_step: str,
        swap_step: str,
    ) -> MySQLPlan:
        inner = MySQLRestorePlan.for_run(
            target, set_dir / dump["path"], dict(dump.get("row_counts") or {}), run_id, mode
        )
        return cls(role=role, inner=inner, restore_step=restore_step, swap_step=swap_step)

    @property
    def target(self) -> MySQLTarget:
        return self.inner.target

    @property
    def roles(self) -> tuple[str, ...]:
        return (self.role,)

    @property
    def live(self) -> str:
        return self.inner.live

    @property
    def scratch(self) -> str:
        return self.inner.scratch

    @property
    def aside(self) -> str:
        return self.inner.aside

    @property
    def mode(self) -> Mode:
        return self.inner.mode

    @property
    def row_counts(self) -> Mapping[str, int]:
        return self.inner.row_counts

    @property
    def total_rows(self) -> int:
        return sum(self.row_counts.values())

    @property
    def archive_names(self) -> str:
        return self.inner.dump.name

    @property
    def label(self) -> str:
        return system_label(self.role)

    @property
    def server(self) -> str:
        return self.target.server

    def engine(self) -> MySQLEngine:
        return MySQLEngine(
            self.target,
            restore_plan=self.inner,
            restore_step=self.restore_step,
            swap_step=self.swap_step,
        )

    def describe(self) -> str:
        load = (
            f"load {self.archive_names} with the mariadb client into a new database "
            f"{self.scratch!r} on {self.server} (character set and collation of "
            f"{self.live!r}), check its {len(self.row_counts)} tables hold the manifest's "
            f"{self.total_rows:,} rows"
        )
        if self.mode == "drop_first":
            return (
                f"DROP every table of {self.live!r} first (no copy is kept: the server has "
                f"no room for two), then {load}; then {self.describe_swap()}"
            )
        return f"{load}; {self.live!r} is not touched until then. After the gate: " + (
            self.describe_swap()
        )

    def describe_swap(self) -> str:
        if self.mode == "drop_first":
            return f"move the verified tables of {self.scratch!r} into {self.live!r}"
        return (
            f"end the sessions on {self.live!r}, then in one RENAME TABLE statement move "
            f"its tables into {self.aside!r} and the verified ones of {self.scratch!r} "
            f"into {self.live!r}"
        )


# --- the steps' work -------------------------------------------------------------------------


async def restore_into_scratch(plan: MySQLPlan, ctx: StepContext) -> Outputs:
    """Load the dump into the scratch database and check every table's rows; outputs in
    the shape of a PostgreSQL restore's (the report and the swap read them alike)."""
    outputs = await plan.engine().restore_beside(ctx)
    return {
        **outputs,
        "tables": len(outputs.get("tables") or []),
        "owner": "",
        "no_owner": False,
        "analyzed": False,
    }


async def swap(plan: MySQLPlan, ctx: StepContext) -> Outputs:
    outputs = await plan.engine().swap(ctx)
    return {"settings_reapplied": [], "settings_not_reapplied": [], **outputs}


async def verify_swapped(plan: MySQLPlan, ctx: StepContext) -> None:
    """Right after the swap: every table holds the dump's rows. When a resume checks it
    again, the repository may have written since, so only the place of the tables is
    checked: all of the restored tables in the live database, the scratch one gone."""
    if not ctx.rechecking:
        await plan.engine().verify(ctx)
        return
    live = await database_facts(plan.target)
    scratch = await database_facts(plan.target, plan.scratch)
    missing = sorted(set(plan.row_counts) - set(live.table_names))
    if missing or scratch.tables:
        raise SyncWizardError(
            f"{plan.label}: {plan.live!r} is no longer the restored database"
            + (f" ({', '.join(missing[:5])} missing)" if missing else "")
            + (f"; {plan.scratch!r} still holds tables" if scratch.tables else ""),
            hint="something moved or dropped its tables since; start the restore again",
            system=plan.role,
        )


async def drop_aside(target: MySQLTarget, aside: str) -> bool:
    """Drop the database a swap kept the old tables in. True if it existed."""
    if not (await database_facts(target, aside)).exists:
        return False
    await drop_database(target, aside)
    return True


# --- what the swap's gate shows ------------------------------------------------------------


@dataclass(frozen=True)
class MySQLSwapLook:
    live: DatabaseFacts
    sessions: list[Session]
    scratch: DatabaseFacts


async def look_before_swap(plan: MySQLPlan) -> MySQLSwapLook:
    return MySQLSwapLook(
        live=await database_facts(plan.target),
        sessions=await mysql_target.read_sessions(plan.target, plan.live),
        scratch=await database_facts(plan.target, plan.scratch),
    )


def _sessions_text(sessions: list[Session]) -> str:
    if not sessions:
        return "nobody"
    shown = [f"{s.user or '?'} ({s.client or '?'}, {s.state or 'idle'})" for s in sessions[:5]]
    more = f" and {len(sessions) - 5} more" if len(sessions) > 5 else ""
    count = f"{len(sessions)} session{'s' if len(sessions) != 1 else ''}: "
    return count + "; ".join(shown) + more + " (ended at the swap)"


def gate_facts(plan: MySQLPlan, look: MySQLSwapLook) -> tuple[tuple[str, str], ...]:
    live, scratch = look.live, look.scratch
    rows: list[tuple[str, str]] = [
        ("Database", f"{plan.live} on {plan.server}"),
        (
            "Its size",
            f"{units.size(live.size_bytes)} in {len(live.tables)} tables"
            if live.exists
            else "it does not exist",
        ),
        ("Connected", _sessions_text(look.sessions)),
    ]
    if plan.mode == "drop_first":
        rows.append(("Becomes", "EMPTIED: no copy is kept (the server has no room for two)"))
    else:
        rows.append(("Moved to", f"{plan.aside} (its tables kept until you drop it)"))
    restored = f"{plan.total_rows:,} rows in {len(plan.row_counts)} tables"
    if scratch.tables:
        rows.append(
            (
                "Replaced by",
                f"the tables of {plan.scratch} ({units.size(scratch.size_bytes)}, "
                f"{restored}, verified)",
            )
        )
    else:
        rows.append(("Replaced by", f"a restore of {plan.archive_names} ({restored})"))
    return tuple(rows)


# --- the preflight ---------------------------------------------------------------------------


def server_key(target: MySQLTarget) -> str:
    """`host:port`; this machine's socket and loopback names count as one host."""
    if target.socket or target.host in LOCAL_HOSTS:
        return f"localhost:{target.socket or target.port}"
    return f"{target.host}:{target.port}"


def preflight_facts(
    role: str,
    found: mysql_target.MySQLRestoreTarget,
    target: MySQLTarget,
    size_at_backup: int,
    warnings: list[str],
) -> tuple[dict[str, Any], Need]:
    """What the preflight shows of `role`'s database, and its need of its server; refused
    (before anything is stopped) when the restore could not be done there."""
    facts = found.facts
    name = target.database
    label = system_label(role)
    if not facts.exists:
        raise SyncWizardError(
            f"{label}: there is no database {name!r} on {target.where}; a MySQL/MariaDB "
            "restore loads its tables into an existing database",
            hint=f"create it empty with the character set Alfresco uses (CREATE DATABASE "
            f"`{name}` CHARACTER SET utf8mb4), then run the restore again",
            system=role,
        )
    if missing := found.rights.problems(name):
        raise SyncWizardError(
            f"{label}: " + "; ".join(m.split(": ", 1)[0] for m in missing),
            hint="; ".join(m.split(": ", 1)[-1] for m in missing),
            system=role,
        )
    unmovable = [*facts.views, *facts.triggers, *facts.routines]
    if unmovable:
        raise SyncWizardError(
            f"{label}: {name!r} holds views, triggers or routines ({', '.join(unmovable[:3])}), "
            "which the swap (one RENAME TABLE statement) cannot move; nothing was done",
            hint="restore this database with your own tools, or drop what Alfresco did not "
            "create and run the restore again",
            system=role,
        )
    if found.version_warning:
        warnings.append(f"{label}: {found.version_warning}")
    # With the binary log on, the load is written there too (about the data's size), and
    # replicas receive it: counted like PostgreSQL's WAL in the server's room.
    binlog = size_at_backup if found.binary_log else 0
    if found.binary_log:
        warnings.append(
            f"{label}: the server writes a binary log: the restore adds about "
            f"{units.size(binlog)} to it (counted in the room it needs), and replicas "
            "replay the restore too"
        )
    need = Need(
        role=role,
        name=name,
        server=server_key(target),
        copy_bytes=int(size_at_backup * ROOM_FACTOR),
        live_bytes=facts.size_bytes,
        free_bytes=found.free_bytes,
        wal_bytes=binlog,
        kept_aside=tuple(found.kept_aside),
    )
    return {
        "name": name,
        "exists": True,
        "size_bytes": facts.size_bytes,
        "owner": "",
        "engine": found.server.flavour,
        "server_version": found.server.version,
        "connections": [
            {"pid": s.pid, "user": s.user, "application": s.application, "client": s.client}
            for s in found.sessions
        ],
        "not_in_dump": [],
    }, need
