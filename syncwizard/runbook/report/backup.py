"""The backup's sections: the set, t0 and the drain, the dumps and their checksums."""

from __future__ import annotations

from typing import Any

from syncwizard.runbook.backup import step_names as steps
from syncwizard.runbook.report.markdown import (
    bullets,
    code,
    count,
    plural,
    size,
    table,
    text,
    took,
    warning_lines,
    when,
)
from syncwizard.runbook.report.view import RunView


def backup_sections(view: RunView) -> list[str]:
    """The set (folder, seal, sync id, queue), t0 and the drain, the dumps."""
    preflight, repository = view.out(steps.PREFLIGHT), view.out(steps.REPOSITORY)
    wait, sync, seal = view.out(steps.WAIT), view.out(steps.SYNC), view.out(steps.SEAL)
    set_dir = seal.get("backup_set") or view.header.get("backup_set")
    lines = ["## Backup set", ""]
    shared = ""
    if preflight.get("shared_database"):
        tables = len((preflight.get("sync_objects") or {}).get("tables") or [])
        shared = (
            f"yes: the repository's tables dumped at t0, the Sync Service's {tables} after the wait"
            if tables
            else "yes: one dump covers both"
        ) + (f" ({text(preflight['shared_reason'])})" if preflight.get("shared_reason") else "")
    manifest = ""
    if seal.get("manifest"):
        manifest = f"{code(seal['manifest'])} ({count(seal.get('files'))} files, "
        manifest += f"{size(seal.get('bytes'))})"
    lines += bullets(
        [
            ("Set folder", code(set_dir) if set_dir else ""),
            ("Sealed", manifest or ("not sealed" if set_dir else "")),
            ("Sync id", code(preflight["sync_id"]) if preflight.get("sync_id") else ""),
            ("Queue", code(preflight["queue"]) if preflight.get("queue") else ""),
            ("Topic", code(preflight["topic"]) if preflight.get("topic") else ""),
            ("Sync Service shares the repository DB", shared),
        ]
    )
    lines += warning_lines(preflight.get("warnings") or view.recorded(steps.PREFLIGHT, "warnings"))
    lines.append("")
    lines += _t0_and_drain(repository, wait)
    dumps = [out["dump"] for out in (repository, sync) if isinstance(out.get("dump"), dict)]
    lines += _dumps(dumps)
    return lines


def _t0_and_drain(repository: dict[str, Any], wait: dict[str, Any]) -> list[str]:
    if not repository and not wait:
        return []
    source = (
        "attested: the repository was backed up externally"
        if repository.get("external")
        else "the start of the wait (shared database)"
        if repository.get("shared")
        else "the repository dump's snapshot"
    )
    t0 = repository.get("t0_iso") or repository.get("t0")
    queue = repository.get("queue_at_t0") or {}
    at_t0 = ""
    if "pending" in queue:
        at_t0 = (
            f"{count(queue.get('pending'))} pending, {count(queue.get('dequeued'))} dequeued, "
            f"{plural(queue.get('consumers'), 'consumer')}"
        )
    elif queue.get("error"):
        at_t0 = f"not read: {text(queue['error'])}"
    drain = ""
    if wait.get("mode") == "countdown":
        drain = f"waited {took(wait.get('seconds'))} (the doc's countdown; not checked)"
    elif wait.get("mode") == "drain":
        drain = f"drained at {when(wait.get('drained_at'))}: {text(wait.get('clause', ''))}"
        at_drain = wait.get("queue_at_drain") or {}
        if "elapsed" in at_drain:
            drain += f", after {took(at_drain['elapsed'])}"
    lines = ["### t0 and the drain", ""]
    lines += bullets(
        [
            ("t0", f"{when(t0)} ({source})" if t0 else ""),
            ("Queue at t0", at_t0),
            ("Drain", drain),
            ("Counters reset", "yes: the broker restarted" if wait.get("counters_reset") else ""),
        ]
    )
    lines += [f"- {text(note)}" for note in wait.get("notes", [])]
    return [*lines, ""]


def _dumps(dumps: list[dict[str, Any]]) -> list[str]:
    if not dumps:
        return []
    rows = []
    checksums = []
    for dump in dumps:
        row_counts = dump.get("row_counts") or {}
        rows.append(
            (
                code(dump.get("path", "")),
                code(dump.get("database", "")),
                text(dump.get("format", "")),
                size(dump.get("size_bytes")),
                count(sum(row_counts.values())) if row_counts else "",
                count(len(row_counts)) if row_counts else "",
                when(dump.get("snapshot_at_iso") or dump.get("snapshot_at")),
            )
        )
        checksums += [
            (code(f.get("path", "")), count(f.get("size")), code(f.get("sha256", "")))
            for f in dump.get("files", [])
        ]
    headers = ("Dump", "Database", "Format", "Size", "Rows", "Tables", "Snapshot")
    lines = ["### Dumps", "", *table(headers, rows)]
    if checksums:
        lines += ["### Checksums", "", *table(("File", "Bytes", "sha256"), checksums)]
    return lines
