"""What the repository's own database says about the repository: the version of Alfresco
that last applied a schema patch to it (`alf_applied_patch.applied_to_server`, e.g.
"23.2.1 (r4c3e...-b12) - Enterprise"). Read without the repository running, and without
its admin's credentials."""

from __future__ import annotations

from pathlib import Path

from syncwizard.clients.mysql_conn import MySQLTarget, run_sql
from syncwizard.clients.postgres import close_quietly, connect, fetch_all


async def repository_version(
    conninfo: str, *, passfile: Path | None, system: str, timeout: float
) -> str | None:
    """The repository's version as its database records it; None when it records none."""
    conn = await connect(
        conninfo, passfile=passfile, system=system, timeout=timeout, statement_timeout=timeout
    )
    try:
        exists = await fetch_all(
            conn,
            "SELECT to_regclass('alf_applied_patch') IS NOT NULL",
            conninfo=conninfo,
            system=system,
            what="the look for the repository's patch table",
            timeout=timeout,
        )
        if not exists[0][0]:
            return None
        rows = await fetch_all(
            conn,
            "SELECT applied_to_server FROM alf_applied_patch"
            " WHERE applied_to_server IS NOT NULL AND applied_to_server <> ''"
            " ORDER BY applied_on_date DESC NULLS LAST LIMIT 1",
            conninfo=conninfo,
            system=system,
            what="the read of the repository's version",
            timeout=timeout,
        )
    finally:
        await close_quietly(conn)
    return str(rows[0][0]).strip() if rows else None


async def mysql_repository_version(target: MySQLTarget) -> str | None:
    """The same, from a repository database on MySQL/MariaDB."""
    exists = await run_sql(
        target,
        "SELECT COUNT(*) FROM information_schema.TABLES"
        " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'alf_applied_patch';",
        what="the look for the repository's patch table",
    )
    if not exists or not int(exists[0][0] or 0):
        return None
    rows = await run_sql(
        target,
        "SELECT applied_to_server FROM alf_applied_patch"
        " WHERE applied_to_server IS NOT NULL AND applied_to_server <> ''"
        " ORDER BY applied_on_date IS NULL, applied_on_date DESC LIMIT 1;",
        what="the read of the repository's version",
    )
    return str(rows[0][0]).strip() if rows and rows[0][0] else None
