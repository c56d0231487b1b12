"""Room on each database SERVER for a restore, not on each database alone.

A restore puts a verified copy beside every live database before the old one is renamed
aside, and the old ones stay (renamed `<name>__before_<run>`) until the admin drops
them. Where the repository DB and the Sync DB are on one server, both restored copies are
on its disk at once, plus the write-ahead log the restore writes (up to `max_wal_size`
between checkpoints). The preflight adds that up per server; where it does not fit, the
biggest databases are dropped first (each behind its own gate) until it does. Where the
free space cannot be read, the first restore on that server asks the admin to confirm the
room knowingly (a gate), rather than a warning scrolled past.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from syncwizard import units
from syncwizard.clients import pgadmin
from syncwizard.clients.postgres import target_parts

ROOM_FACTOR = 1.2  # a restored copy needs its size plus room for index builds


@dataclass(frozen=True)
class Need:
    """What one database's restore needs of its server, and what the server has."""

    role: str
    name: str
    server: str  # server_key of its conninfo
    copy_bytes: int  # a restored copy: its size at backup times ROOM_FACTOR
    live_bytes: int  # what dropping the live database first frees (0: none, or unknown)
    free_bytes: int | None  # free on the server's data disk; None when it cannot be read
    wal_bytes: int  # the server's max_wal_size (0 when unknown)
    kept_aside: tuple[tuple[str, int | None], ...] = ()  # earlier restores' old copies


def server_key(conninfo: str, role: str = "") -> str:
    """`host:port`; this machine's sockets and loopback names count as one host."""
    host, port = target_parts(conninfo, role)[:2]
    if pgadmin.is_local_server(conninfo, role):
        host = "localhost"
    return f"{host}:{port}"


def need_of(
    role: str,
    conninfo: str,
    name: str,
    size_at_backup: int,
    target: pgadmin.RestoreTarget,
) -> Need:
    live = (target.info.size_bytes or 0) if target.info else 0
    return Need(
        role=role,
        name=name,
        server=server_key(conninfo, role),
        copy_bytes=int(size_at_backup * ROOM_FACTOR),
        live_bytes=live,
        free_bytes=target.free_bytes,
        wal_bytes=target.wal_bytes or 0,
        kept_aside=tuple(target.kept_aside),
    )


def _names(needs: list[Need]) -> str:
    return " and ".join(repr(n.name) for n in needs)


def plan_rooms(needs: Iterable[Need]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Each role's room (free_bytes, needed_bytes of its own copy, mode, server, the
    server's whole need and which roles share it) and the warnings to show."""
    by_server: dict[str, list[Need]] = {}
    for need in needs:
        by_server.setdefault(need.server, []).append(need)
    rooms: dict[str, dict[str, Any]] = {}
    warnings: list[str] = []
    for server, group in by_server.items():
        known = [n.free_bytes for n in group if n.free_bytes is not None]
        free = min(known) if known else None
        wal = max(n.wal_bytes for n in group)
        total = sum(n.copy_bytes for n in group) + wal
        parts = " + ".join(f"{n.name} {units.size(n.copy_bytes)}" for n in group)
        needed_text = f"{units.size(total)} ({parts} + WAL {units.size(wal)})"
        drop_first: list[Need] = []
        if free is None:
            warnings.append(
                f"the free space of the server {server} (holding {_names(group)}) cannot be "
                f"read from here; the restore needs about {needed_text} there beside the "
                "current databases: you confirm the room before anything is stopped"
            )
        elif free < total:
            freed = 0
            for need in sorted(group, key=lambda n: n.live_bytes, reverse=True):
                drop_first.append(need)
                freed += need.live_bytes
                if free + freed >= total:
                    break
            short = free + freed < total
            warnings.append(
                f"the server {server} has {units.size(free)} free; restoring "
                f"{_names(group)} beside the current database{'s' if len(group) > 1 else ''} "
                f"needs about {needed_text}: {_names(drop_first)} would have to be dropped "
                "FIRST (each behind its own gate)"
                + (", and even then it may not fit" if short else "")
                + "; or free space (drop old copies kept aside) and run the preflight again"
            )
        for need in group:
            if aside := list(need.kept_aside):
                shown = ", ".join(
                    f"{name} ({units.size(size) if size is not None else 'size unknown'})"
                    for name, size in aside
                )
                warnings.append(
                    f"old copies of {need.name!r} kept aside by earlier restores take room on "
                    f"{server}: {shown}; drop them if they are no longer needed"
                )
        for need in group:
            rooms[need.role] = {
                "free_bytes": free,
                "needed_bytes": need.copy_bytes,
                "mode": "drop_first" if need in drop_first else "side_by_side",
                "server": server,
                "server_needed_bytes": total,
                "wal_bytes": wal,
                "server_roles": [n.role for n in group],
                "free_known": free is not None,
            }
    return rooms, warnings
