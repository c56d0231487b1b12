"""The backup's database parts on MySQL/MariaDB: the facts preflight reads, the server's
clock, and the dump through runbook/dbengine.py's MySQLEngine, in the shape the manifest
keeps for a PostgreSQL dump (plus the flavour; format "sql").

Not yet supported, and refused by preflight with what to do: the Sync Service's tables
inside the repository database (a shared database), and views, triggers or routines,
which a restore beside the live database and a RENAME TABLE swap cannot carry over.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from syncwizard.clients import mysql_dump
from syncwizard.clients.mysql_conn import DUMPERS, MySQLTarget, run_sql, tool_path
from syncwizard.clients.mysql_facts import database_facts, server_facts
from syncwizard.clients.mysql_target import version_warning
from syncwizard.clients.postgres import system_label
from syncwizard.errors import SyncWizardError
from syncwizard.runbook.backup.clocks import ClockReading
from syncwizard.runbook.backup.snapshot_dump import SnapshotHook, full_disk_error, iso
from syncwizard.runbook.backupset import SQL_FORMAT
from syncwizard.runbook.dbengine import MySQLEngine
from syncwizard.runbook.model import StepContext

ENGINE = "mysql"
SUFFIX = ".sql"
_SYNC_LIKE = re.compile(r"sync", re.I)  # the '%sync%' heuristic of the PostgreSQL probe


async def probe(target: MySQLTarget) -> dict[str, Any]:
    """The database's facts for preflight's DatabaseProbeResult; refused when it holds what
    the backup cannot take yet, or does not exist."""
    server = await server_facts(target)
    facts = await database_facts(target)
    if not facts.exists:
        raise SyncWizardError(
            f"there is no database {target.database!r} on {target.where}",
            hint=f"check the database name in {target.system}.conninfo",
            system=target.system,
        )
    extras = [
        f"{len(names)} {kind}{'' if len(names) == 1 else 's'} ({', '.join(names[:3])}"
        + (", ..." if len(names) > 3 else "")
        + ")"
        for kind, names in (
            ("view", facts.views),
            ("trigger", facts.triggers),
            ("routine", facts.routines),
        )
        if names
    ]
    if extras:
        raise SyncWizardError(
            f"the {server.flavour} database {target.database!r} on {target.where} holds "
            f"{', '.join(extras)}: syncwizard does not back them up on MySQL/MariaDB yet "
            "(a restore could not carry them over)",
            hint="back this database up with your own tools and attest it (`syncwizard "
            "backup --external-repository-backup ...` for the repository), or drop what "
            "Alfresco did not create",
            system=target.system,
        )
    # Older than Alfresco supports: backed up all the same, the admin warned before the run.
    old = version_warning(server)
    return {
        "target": target.where,
        "name": facts.name,
        "server_version": server.version,
        "server_major": server.major,
        "flavour": server.flavour,
        "size_bytes": facts.size_bytes,
        "data_bytes": facts.size_bytes,
        "identity": (target.server, target.database),
        "sync_tables": tuple(t for t in facts.table_names if _SYNC_LIKE.search(t)),
        "warnings": (f"{system_label(target.system)} ({target.where}): {old}",) if old else (),
    }


def refuse_shared(repository: MySQLTarget, sync: MySQLTarget) -> SyncWizardError:
    return SyncWizardError(
        f"the Sync Service shares the repository's MySQL/MariaDB database "
        f"({repository.where}): syncwizard cannot back up a shared MySQL/MariaDB database "
        "yet (the repository's tables at t0 and the Sync Service's after the wait)",
        hint="back the repository up with your own tools and attest it with `syncwizard "
        "backup --external-repository-backup <its snapshot time>`; or give the Sync Service a "
        "database of its own",
        system="sync_db",
    )


def check_tools(target: MySQLTarget) -> str:
    """The dump tool this host has (mariadb-dump or mysqldump): its name."""
    return tool_path(DUMPERS).name


async def clock(target: MySQLTarget, role: str) -> ClockReading:
    """The server's clock (`NOW(6)` as seconds since the epoch), bracketed by this host's."""
    import time

    before = time.time()
    rows = await run_sql(target, "SELECT UNIX_TIMESTAMP(NOW(6));", what="the read of its clock")
    after = time.time()
    name = f"the {role.replace('_db', '')} database server's clock"
    return ClockReading(name, float(rows[0][0] or 0), before, after)


async def dump(
    target: MySQLTarget,
    out_path: Path,
    ctx: StepContext,
    *,
    at_snapshot: SnapshotHook | None = None,
) -> dict[str, Any]:
    """mariadb-dump --single-transaction of `target` into `out_path`; what the manifest
    keeps. t0 (snapshot_at) is the tool's start, the exact row counts are the snapshot's,
    read with the sha256 from the finished file."""
    engine = MySQLEngine(target, out_path=out_path, at_snapshot=at_snapshot)
    try:
        out = await engine.dump(ctx)
    except SyncWizardError as exc:
        full = full_disk_error(exc, out_path.parent, system_label(target.system))
        if full is None:
            raise
        raise full from exc
    t0 = float(out["t0"])
    return {
        "path": out_path.name,
        "roles": [target.system],
        "database": target.database,
        "server": target.where,
        "engine": ENGINE,
        "flavour": out["flavour"],
        "server_version": out["server_version"],
        "tool": check_tools(target),
        "format": SQL_FORMAT,
        "snapshot_at": t0,
        "snapshot_at_iso": iso(t0),
        "started_at": t0,
        "finished_at": out["finished_at"],
        "size_bytes": out["size_bytes"],
        "row_counts": out["row_counts"],
        "rows_estimate": out["rows_estimate"],
        "sha256": out["sha256"],  # the file read once after the tool: rows and sha256
        "at_snapshot": out["at_snapshot"],
    }


def kill_orphan(child: Mapping[str, Any], target: MySQLTarget) -> bool:
    return mysql_dump.kill_orphan(int(child["pid"]), target.database)
