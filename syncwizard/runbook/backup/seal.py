"""Verify and seal a backup set: every dump checked again, then manifest.json written last."""

from __future__ import annotations

import asyncio
import errno
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syncwizard import __version__, units
from syncwizard.clients.service import run_command
from syncwizard.config import Profile
from syncwizard.errors import SyncWizardError
from syncwizard.runbook import backupset
from syncwizard.runbook.backup.snapshot_dump import iso
from syncwizard.runbook.commands import check_command
from syncwizard.runbook.model import Outputs, RefusedError, StepContext


@dataclass(frozen=True)
class BackupResults:
    """The outputs of the finished steps that the seal and the manifest need."""

    preflight: Outputs
    repository: Outputs
    wait: Outputs
    sync: Outputs

    @property
    def dumps(self) -> list[dict[str, Any]]:
        return [out["dump"] for out in (self.repository, self.sync) if out.get("dump")]


def manifest_error(set_dir: Path, partial: Path, exc: OSError) -> SyncWizardError:
    """The manifest could not be written (a full disk, most often): said as such, not as a
    bug, with its unfinished file removed; the dumps stay and the seal can run again."""
    partial.unlink(missing_ok=True)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        what = (
            f"the backup folder {set_dir.parent} is full: the set's manifest could not be written"
        )
        fix = "free space there"
    else:
        what = f"the manifest of {set_dir} could not be written: {exc.strerror or exc}"
        fix = "fix what the error names"
    return SyncWizardError(
        what,
        hint=f"{fix}, then run `syncwizard backup` again: the run resumes at the seal, and "
        "the dumps already written are kept",
        system="backup_dir",
    )


async def seal_set(
    set_dir: Path, profile: Profile, ctx: StepContext, steps: BackupResults
) -> Outputs:
    """Check every dump again (pg_restore --list, sizes, sha256 against what was recorded
    when it was taken), then write manifest.json, last and atomically."""
    dumps = steps.dumps
    partial = set_dir / (backupset.MANIFEST_NAME + backupset.PARTIAL_SUFFIX)
    partial.unlink(missing_ok=True)
    expected = {dump["path"] for dump in dumps} | {backupset.MANIFEST_NAME}
    strangers = sorted(p.name for p in set_dir.iterdir() if p.name not in expected)
    if strangers:
        raise RefusedError(
            f"the backup set folder {set_dir} holds files no step wrote: {', '.join(strangers)}",
            hint="move them away and run `syncwizard backup` again, or start a fresh run",
            system="backup_dir",
        )
    files: list[dict[str, Any]] = []
    for dump in dumps:
        how = "its rows" if dump.get("format") == backupset.SQL_FORMAT else "pg_restore --list"
        ctx.progress(f"checking {dump['path']} ({how}, sha256)")
        entries, problems = await backupset.check_dump(set_dir, dump, dump["files"])
        if entries != dump["toc_entries"]:
            problems.append(backupset.entries_changed(dump, entries, "when it was taken"))
        if dump.get("format") != backupset.SQL_FORMAT:  # a SQL dump's: read with its rows
            problems += await asyncio.to_thread(backupset.check_files, set_dir, dump["files"])
        if problems:
            raise RefusedError(
                f"the backup set does not verify: {'; '.join(problems)}",
                hint="nothing was sealed; start a fresh run (`syncwizard backup --new`)",
                system="backup_dir",
            )
        files += dump["files"]
    content_store = await back_up_content_store(set_dir, profile, ctx, steps)
    manifest = build_manifest(profile, ctx, steps, files, content_store)
    try:
        path = await asyncio.to_thread(backupset.write_manifest, set_dir, manifest)
    except OSError as exc:
        raise manifest_error(set_dir, partial, exc) from exc
    total = sum(entry["size"] for entry in files)
    return {
        "manifest": str(path),
        "backup_set": str(set_dir),
        "files": len(files),
        "bytes": total,
        "summary": f"sealed {set_dir}: {len(files)} files, {units.size(total)}, "
        "manifest.json written",
    }


async def back_up_content_store(
    set_dir: Path, profile: Profile, ctx: StepContext, steps: BackupResults
) -> dict[str, Any]:
    """Run `backup.content_store` (after t0: the dumps are taken), or say none was run.

    The repository's database is only half of it: its nodes point at files in the content
    store. Restored with a content store older than t0, nodes lose their content; newer is
    fine (Alfresco keeps deleted content for days before its cleaner removes it)."""
    command = profile.backup.content_store
    t0 = steps.repository.get("t0_iso")
    if not command:
        ctx.log("no backup.content_store command: the set records no content store backup")
        return {"recorded": False, "after": t0}
    ctx.progress(f"backing up the content store: {command}")
    started = time.time()
    result = await run_command(
        command,
        system="content_store",
        timeout=profile.backup.content_store_timeout,
        extra_env={"SYNCWIZARD_SET_NAME": set_dir.name, "SYNCWIZARD_T0": str(t0)},
    )
    check_command(
        ctx,
        result,
        "the content store command (backup.content_store)",
        hint="look at its output in the log pane; fix it, then run `syncwizard backup` "
        "again: the run resumes at this step, the dumps are kept",
        system="content_store",
    )
    return {
        "recorded": True,
        "command": result.command,
        "after": t0,
        "started_at": iso(started),
        "finished_at": iso(time.time()),
    }


def build_manifest(
    profile: Profile,
    ctx: StepContext,
    steps: BackupResults,
    files: list[dict[str, Any]],
    content_store: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The set's manifest (written last), from the outputs of the finished steps."""
    preflight, repository, wait = steps.preflight, steps.repository, steps.wait
    times = ctx.step_times()
    timings = {
        step: {
            "started_at": iso(start),
            "finished_at": iso(end) if end else iso(time.time()),
            "outcome": ctx.results.get(step, {}).get("summary", ""),
        }
        for step, (start, end) in times.items()
    }
    return {
        "format": backupset.MANIFEST_FORMAT,
        "version": backupset.MANIFEST_VERSION,
        "tool": {"name": "syncwizard", "version": __version__},
        "run_id": ctx.run_id,
        "profile": profile.name,
        "created_at": iso(time.time()),
        "sync_id": preflight["sync_id"],
        "versions": {
            "sync_service": preflight.get("sync_version") or None,
            "repository": preflight.get("repository_version") or None,
        },
        "content_store": content_store or {"recorded": False, "after": repository.get("t0_iso")},
        "health_urls": list(profile.health.urls),
        "queue": preflight["queue"],
        "topic": preflight.get("topic"),
        "shared_database": preflight["shared_database"],
        "shared_reason": preflight.get("shared_reason", ""),
        # Shared: which of its tables the Sync DB dump holds (the repository's holds the rest).
        "sync_objects": preflight.get("sync_objects"),
        "databases": preflight["databases"],
        "tools": preflight.get("tools", {}),
        "t0": {
            "at": repository["t0_iso"],
            "source": "attested external backup"
            if repository.get("external")
            else "start of the wait (shared database)"
            if repository.get("shared")  # a run begun by an earlier syncwizard: one dump
            else "repository dump's snapshot",
        },
        "external_repository_backup": {"snapshot_at": repository["t0_iso"]}
        if repository.get("external")
        else None,
        "queue_snapshots": {
            "t0": repository.get("queue_at_t0"),
            "drained": wait.get("queue_at_drain"),
        },
        "wait": {k: v for k, v in wait.items() if k not in ("queue_at_drain", "summary")},
        "steps": timings,
        "dumps": [{k: v for k, v in d.items() if k != "files"} for d in steps.dumps],
        "files": files,
        "total_bytes": sum(entry["size"] for entry in files),
    }
