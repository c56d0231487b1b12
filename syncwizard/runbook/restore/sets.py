"""The backup sets a restore may start from: listed for the chooser, checked before use.

`list_sets` only reads manifests (fast; the chooser calls it); the restore's first
step runs `backupset.verify_set`, which reads every byte. A set can be chosen when
it is sealed (has a manifest) and its Sync DB dump was taken after its repository
dump: the procedure's order, without which `-Drecover` has to undo more than it can.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from syncwizard.errors import SyncWizardError
from syncwizard.runbook import backupset

if TYPE_CHECKING:
    from syncwizard.config import Profile

REPOSITORY, SYNC = "repository_db", "sync_db"


@dataclass(frozen=True)
class SetListing:
    """One folder of the backup directory, as the chooser shows it."""

    path: Path
    run_id: str
    created_at: str = ""  # ISO time the set was sealed
    sync_id: str = ""
    tool_version: str = ""
    total_bytes: int = 0
    dumps: list[dict[str, Any]] = field(default_factory=list)
    shared_database: bool = False
    problem: str = ""  # why it cannot be chosen; "" when it can

    @property
    def sealed(self) -> bool:
        return bool(self.created_at)

    @property
    def choosable(self) -> bool:
        return not self.problem


def dump_for(manifest: dict[str, Any], role: str) -> dict[str, Any] | None:
    """The dump that stands for `role` in a set (the shared dump stands for both)."""
    return next((d for d in manifest.get("dumps", []) if role in d.get("roles", [])), None)


def order_problem(manifest: dict[str, Any]) -> str:
    """Why the set breaks the procedure's order, or "".

    The repository's snapshot time is t0 (its dump's start, or the attested time of an
    external backup); the Sync DB dump must have started after it. Also where the Sync
    Service shares the repository database: its tables are dumped apart, after the wait.
    """
    sync = dump_for(manifest, SYNC)
    if manifest.get("shared_database") and sync is dump_for(manifest, REPOSITORY):
        return ""  # one dump of the shared database (sets of earlier versions): one moment
    if sync is None:
        return "the set holds no Sync DB dump"
    repository = dump_for(manifest, REPOSITORY)
    if repository is None and not manifest.get("external_repository_backup"):
        return "the set holds no repository DB dump and no attested external one"
    t0 = repository["snapshot_at_iso"] if repository else manifest["t0"]["at"]
    if str(sync.get("snapshot_at_iso", "")) <= str(t0):
        return (
            f"its Sync DB dump ({sync.get('snapshot_at_iso')}) was not taken after the "
            f"repository backup ({t0})"
        )
    return ""


def engine_problems(profile: Profile, dumps: Iterable[Mapping[str, Any]]) -> list[str]:
    """Each dump of a set that `profile`'s database of its role cannot take: a
    mariadb-dump .sql file restores onto MySQL/MariaDB only, a pg_dump archive onto
    PostgreSQL only (and neither onto an Oracle or SQL Server database)."""
    problems = []
    for dump in dumps:
        made_by = "mysql" if dump.get("format") == backupset.SQL_FORMAT else "postgresql"
        for role in dump.get("roles") or []:
            if role not in (REPOSITORY, SYNC):
                continue
            settings = getattr(profile, role)
            if settings.engine != made_by:
                made = "a MySQL/MariaDB dump" if made_by == "mysql" else "a PostgreSQL archive"
                problems.append(
                    f"{dump.get('path')} is {made}, and profile {profile.name!r} has "
                    f"{role} on {settings.vendor}"
                )
    return problems


def listing_of(set_dir: Path, manifest: dict[str, Any]) -> SetListing:
    tool = manifest.get("tool", {})
    return SetListing(
        path=set_dir,
        run_id=str(manifest.get("run_id", set_dir.name)),
        created_at=str(manifest.get("created_at", "")),
        sync_id=str(manifest.get("sync_id", "")),
        tool_version=str(tool.get("version", "")) if isinstance(tool, dict) else "",
        total_bytes=int(manifest.get("total_bytes", 0)),
        dumps=[
            {k: d.get(k) for k in ("path", "roles", "database", "size_bytes", "format")}
            | {"snapshot_at_iso": d.get("snapshot_at_iso")}
            for d in manifest.get("dumps", [])
        ],
        shared_database=bool(manifest.get("shared_database")),
        problem=order_problem(manifest),
    )


def _read_listing(set_dir: Path) -> SetListing:
    try:
        manifest = backupset.read_manifest(set_dir)
    except SyncWizardError as exc:
        return SetListing(path=set_dir, run_id=set_dir.name, problem=exc.message)
    try:
        return listing_of(set_dir, manifest)
    except (KeyError, TypeError, ValueError) as exc:
        return SetListing(
            path=set_dir, run_id=set_dir.name, problem=f"its manifest is incomplete ({exc})"
        )


def _list_sets_blocking(backup_dir: Path) -> list[SetListing]:
    if not backup_dir.is_dir():
        return []
    listings = [_read_listing(p) for p in backup_dir.iterdir() if p.is_dir()]
    return sorted(listings, key=lambda s: (s.created_at or "", s.run_id), reverse=True)


def for_profile(listing: SetListing, profile: Profile | None) -> SetListing:
    """The listing, unusable where its dumps are of another engine than `profile`'s."""
    if profile is None or listing.problem:
        return listing
    if problems := engine_problems(profile, listing.dumps):
        sql = any(d.get("format") == backupset.SQL_FORMAT for d in listing.dumps)
        made = "MySQL/MariaDB" if sql else "PostgreSQL"
        # The first words fit the chooser's status column.
        return replace(listing, problem=f"{made} dumps, not this profile's: " + "; ".join(problems))
    return listing


async def list_sets(backup_dir: Path, profile: Profile | None = None) -> list[SetListing]:
    """Every folder of `backup_dir`, newest first; the unusable ones (for `profile`, when
    given) say why."""
    listings = await asyncio.to_thread(_list_sets_blocking, backup_dir)
    return [for_profile(listing, profile) for listing in listings]


def resolve_set(backup_dir: Path, chosen: str | None, profile: Profile | None = None) -> Path:
    """A set folder from a path or a run id under `backup_dir`; None = the newest usable
    (by `profile`, when given)."""
    if chosen:
        path = Path(chosen).expanduser()
        if path.is_dir():
            return path
        if (backup_dir / chosen).is_dir():
            return backup_dir / chosen
        raise SyncWizardError(
            f"no backup set {chosen!r}: it is neither a folder nor a set in {backup_dir}",
            hint="give a set folder, or a run id that `ls` shows in the backup folder",
            system="config",
        )
    usable = [
        s for s in (for_profile(s, profile) for s in _list_sets_blocking(backup_dir)) if s.choosable
    ]
    if not usable:
        raise SyncWizardError(
            f"no sealed backup set in {backup_dir}",
            hint="take one with `syncwizard backup`, or give the set's folder",
            system="config",
        )
    return usable[0].path
