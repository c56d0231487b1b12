"""A table lock that a dump waited too long for: who holds it, and the error saying so.

pg_dump takes an ACCESS SHARE lock on every table it dumps (and our exact row counts
take one per table); only an ACCESS EXCLUSIVE lock, as a migration's ALTER TABLE, a
VACUUM FULL or a LOCK TABLE takes, stands in its way. After the wait's bound we look
the holders up in pg_locks and pg_stat_activity, so the message names the session to
wait for or to end. An ordinary role sees another role's pid, user and application,
not its client or state; a statement is only ever named by its first word (its text
may hold data).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from syncwizard.clients.postgres import (
    close_quietly,
    connect,
    fetch_all,
    setting_name,
    system_label,
    target_parts,
)
from syncwizard.errors import SyncWizardError

SHOWN_HOLDERS = 3

# `relations` are SQL names as pg_dump prints them (`public.alf_node`, `"My"."Table"`).
_HOLDERS = """
SELECT r, l.pid, l.granted, coalesce(a.usename, ''), coalesce(a.application_name, ''),
       coalesce(host(a.client_addr),
                CASE WHEN a.client_port = -1 THEN 'local socket' ELSE '' END, ''),
       coalesce(a.state, ''),
       extract(epoch FROM clock_timestamp() - a.xact_start)::float8,
       coalesce(upper(substring(a.query FROM '^\\s*([A-Za-z]+)')), '')
FROM unnest(%s::text[]) AS r
JOIN pg_locks l ON l.locktype = 'relation' AND l.relation = to_regclass(r)
     AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
     AND l.mode = 'AccessExclusiveLock'
LEFT JOIN pg_stat_activity a ON a.pid = l.pid
ORDER BY l.granted DESC, l.pid
"""
# pg_dump's --lock-wait-timeout is a statement_timeout around its LOCK TABLE statement
# (one table, or several in one statement in newer versions).
_LOCK_STATEMENT = re.compile(r"query was: LOCK TABLE (?P<names>.+?) IN ACCESS SHARE MODE", re.I)
_PLAIN = re.compile(r"[a-z_][a-z0-9_$]*")
_NAME = re.compile(r'(?:"(?:[^"]|"")*"|[^",\s.]+)(?:\.(?:"(?:[^"]|"")*"|[^",\s.]+))?')


@dataclass(frozen=True)
class LockHolder:
    """A session holding (or queued first for) an ACCESS EXCLUSIVE lock on a table."""

    relation: str
    pid: int | None  # None: a prepared transaction holds it
    granted: bool  # False: it waits for the lock itself, and every later request queues behind
    user: str
    application: str
    client: str
    state: str  # "" when this role may not see it
    open_seconds: float | None  # how long its transaction has been open, when visible
    statement: str  # the first word of its current or last statement, when visible

    def describe(self, *, name_table: bool = True) -> str:
        on = f" on {self.relation}" if name_table else ""
        if self.pid is None:
            return f"a prepared transaction holds an ACCESS EXCLUSIVE lock{on} (pg_prepared_xacts)"
        details = [f"user {self.user!r}"] if self.user else []
        if self.application:
            details.append(f"application {self.application!r}")
        if self.client:
            details.append(f"from {self.client}")
        if self.state:
            details.append(self.state)
        if self.open_seconds is not None:
            details.append(f"transaction open for {self.open_seconds:,.0f} s")
        if self.statement:
            details.append(f"last statement {self.statement} ...")
        shown = f" ({', '.join(details)})" if details else ""
        if self.granted:
            return f"session {self.pid}{shown} holds an ACCESS EXCLUSIVE lock{on}"
        return (
            f"session {self.pid}{shown} is queued for an ACCESS EXCLUSIVE lock{on}, and every "
            "later request waits behind it"
        )


class LockWaitError(SyncWizardError):
    """A dump (or its row count) gave up waiting for a table lock another session holds."""

    def __init__(
        self,
        message: str,
        *,
        hint: str,
        system: str,
        relations: tuple[str, ...],
        holders: tuple[LockHolder, ...] | None,
    ) -> None:
        super().__init__(message, hint=hint, system=system)
        self.relations = relations
        self.holders = holders


def sql_name(schema: str, table: str) -> str:
    """`schema.table` as to_regclass reads it, quoted only where a part needs it."""
    return ".".join(
        part if _PLAIN.fullmatch(part) else '"' + part.replace('"', '""') + '"'
        for part in (schema, table)
    )


def lock_wait_relations(lines: Iterable[str]) -> tuple[str, ...]:
    """The tables pg_dump gave up waiting for (its --lock-wait-timeout), from its output;
    empty when it failed for another reason."""
    text = "\n".join(lines)
    if "statement timeout" not in text:
        return ()
    found = _LOCK_STATEMENT.search(text)
    return tuple(_NAME.findall(found.group("names"))) if found else ()


async def lock_holders(
    conninfo: str,
    relations: Sequence[str],
    *,
    passfile: Path | None = None,
    system: str = "",
    timeout: float,
) -> tuple[LockHolder, ...] | None:
    """Who holds or is queued for an ACCESS EXCLUSIVE lock on `relations` (SQL names), over
    a connection of its own, bounded like every other; None if that could not be read."""
    try:
        conn = await connect(
            conninfo, passfile=passfile, system=system, timeout=timeout, statement_timeout=timeout
        )
    except SyncWizardError:
        return None
    try:
        rows = await fetch_all(
            conn,
            _HOLDERS,
            (list(relations),),
            conninfo=conninfo,
            system=system,
            what="the query for the lock's holders",
            timeout=timeout,
        )
    except SyncWizardError:
        return None
    finally:
        await close_quietly(conn)
    return tuple(LockHolder(*row) for row in rows)


def lock_wait_error(
    relations: Sequence[str],
    holders: tuple[LockHolder, ...] | None,
    conninfo: str,
    *,
    system: str,
    waiter: str,
    bound: float,
) -> LockWaitError:
    """The error for `waiter` ("pg_dump", "the exact row count") giving up after `bound`
    seconds, naming the lock's holders (None: they could not be read)."""
    host, port, dbname, _ = target_parts(conninfo, system)
    setting = setting_name(system, "lock_timeout")
    held = list(dict.fromkeys(h.relation for h in holders or ())) or list(relations)
    tables = ", ".join(held[:SHOWN_HOLDERS]) + (" ..." if len(held) > SHOWN_HOLDERS else "")
    message = (
        f"{system_label(system)}: {waiter} waited {bound:g} s (the bound set by {setting}) "
        f"for a lock on table{'s' if len(held) > 1 else ''} {tables} in database {dbname!r} "
        f"on {host}:{port} and gave up: "
    )
    if holders:
        shown = holders[:SHOWN_HOLDERS]
        message += "; ".join(h.describe(name_table=len(held) > 1) for h in shown)
        if len(holders) > SHOWN_HOLDERS:
            message += f"; and {len(holders) - SHOWN_HOLDERS} more"
        pid = next((h.pid for h in holders if h.pid is not None), None)
        end = (
            f"end session {pid} if it is stuck (SELECT pg_terminate_backend({pid}); a "
            "superuser's session needs a superuser)"
            if pid is not None
            else "COMMIT PREPARED or ROLLBACK PREPARED the prepared transaction"
        )
        hint = (
            "a migration or maintenance (ALTER TABLE, VACUUM FULL, REINDEX, LOCK TABLE) holds "
            f"the table: let it finish, or {end}; to wait longer, raise {setting}"
        )
    else:
        message += "another session held an ACCESS EXCLUSIVE lock on it" + (
            " (who could not be read)" if holders is None else " (released since)"
        )
        hint = (
            "a migration or maintenance (ALTER TABLE, VACUUM FULL, REINDEX, LOCK TABLE) held "
            "the table: pg_locks joined with pg_stat_activity shows who, if it is back; let "
            f"it finish or end it; to wait longer, raise {setting}"
        )
    return LockWaitError(
        message, hint=hint, system=system, relations=tuple(relations), holders=holders
    )
