"""The restore's sections, in the order the runbook does them: the set restored, the
preflight, services stopped, the events, the databases, the repository, the recover and
health at the end."""

from __future__ import annotations

from typing import Any

from syncwizard.runbook.report.markdown import (
    bullets,
    code,
    count,
    size,
    table,
    text,
    warning_lines,
    when,
)
from syncwizard.runbook.report.restore_databases import databases
from syncwizard.runbook.report.restore_events import arrivals, orphans, undelivered
from syncwizard.runbook.report.restore_recover import final_health, recover_and_restart
from syncwizard.runbook.report.view import RunView
from syncwizard.runbook.restore import step_names as steps


def restore_sections(view: RunView) -> list[str]:
    """Each step's section in the runbook's order; a step not reached adds nothing."""
    return [
        *_chosen_set(view.out(steps.VERIFY)),
        *_restore_preflight(view.out(steps.PREFLIGHT)),
        *_stopped(view.out(steps.STOP)),
        *arrivals(view),
        *undelivered(view),
        *orphans(view),
        *databases(view),
        *_repository_started(view.out(steps.START_REPOSITORY)),
        *recover_and_restart(view),
        *final_health(view),
    ]


def _chosen_set(verify: dict[str, Any]) -> list[str]:
    if not verify:
        return []
    lines = ["## The backup set restored", ""]
    checked = ""
    if verify.get("files_checked") is not None:
        checked = f"{count(verify['files_checked'])} files, {size(verify.get('bytes_checked'))}"
    lines += bullets(
        [
            ("Set folder", code(verify["set_dir"]) if verify.get("set_dir") else ""),
            ("Backup run", code(verify["set_run_id"]) if verify.get("set_run_id") else ""),
            ("Created", when(verify.get("created_at"))),
            ("Sync id", code(verify["sync_id"]) if verify.get("sync_id") else ""),
            ("One database for both", "yes" if verify.get("shared_database") else ""),
            ("Checksums verified", checked),
        ]
    )
    lines.append("")
    dumps = [d for d in verify.get("dumps", []) if isinstance(d, dict)]
    if dumps:
        rows = [
            (
                code(d.get("path", "")),
                code(d.get("database", "")),
                text(", ".join(d.get("roles", []))),
                text(d.get("format", "")),
                size(d.get("size_bytes")),
                when(d.get("snapshot_at_iso")),
            )
            for d in dumps
        ]
        headers = ("Dump", "Database", "Roles", "Format", "Size", "Snapshot")
        lines += table(headers, rows)
    return lines


def _restore_preflight(preflight: dict[str, Any]) -> list[str]:
    if not preflight:
        return []
    lines = ["## Preflight", ""]
    sync_now = code(preflight["sync_id"]) if preflight.get("sync_id") else ""
    if preflight.get("sync_id_differs"):
        set_id = preflight.get("set_sync_id", "")
        sync_now += f" (**differs** from the set's {code(set_id)})"
    lines += bullets(
        [
            ("Sync id now", sync_now),
            ("Queue", code(preflight["queue"]) if preflight.get("queue") else ""),
            ("Topic", code(preflight["topic"]) if preflight.get("topic") else ""),
            ("Consumers", count(preflight.get("consumers"))),
        ]
    )
    lines += warning_lines(preflight.get("warnings"))
    lines.append("")
    databases = preflight.get("databases") or {}
    room = preflight.get("room") or {}
    rows = []
    for role in sorted(set(databases) | set(room)):
        db, space = databases.get(role) or {}, room.get(role) or {}
        free = space.get("free_bytes")
        rows.append(
            (
                text(role),
                code(db["name"]) if db.get("name") else "",
                size(db.get("size_bytes")),
                _sessions(db.get("connections")),
                size(free) if free is not None else ("unknown" if space else ""),
                size(space.get("needed_bytes")),
                text(str(space.get("mode", "")).replace("_", " ")),
            )
        )
    if rows:
        headers = ("Role", "Database", "Size", "Connections", "Free", "Needed", "Restore mode")
        lines += table(headers, rows)
    return lines


def _sessions(connections: object) -> str:
    """Who was connected, as the preflight listed them (older journals: a count)."""
    if not isinstance(connections, list):
        return count(connections)
    if not connections:
        return "nobody"
    who = sorted({str(c.get("user") or "?") for c in connections if isinstance(c, dict)})
    return f"{len(connections)} ({', '.join(who)})"


def _stopped(stop: dict[str, Any]) -> list[str]:
    if not stop:
        return []
    rows = [
        (
            text(s.get("what", "")),
            code(s["command"]) if s.get("command") else "",
            count(s.get("exit_code")),
        )
        for s in stop.get("stopped", [])
        if isinstance(s, dict)
    ]
    lines = ["## Services stopped", ""]
    if rows:
        lines += table(("What", "Command", "Exit code"), rows)
    else:
        lines += ["Nothing was stopped (no stop commands configured).", ""]
    if stop.get("consumers_after") is not None:
        lines += [f"Consumers on the queue afterwards: {count(stop['consumers_after'])}.", ""]
    if stop.get("down"):
        lines += ["Checked down: " + text("; ".join(str(d) for d in stop["down"])) + ".", ""]
    return lines


def _repository_started(started: dict[str, Any]) -> list[str]:
    if not started:
        return []
    return ["## Repository started", "", f"- {text(started.get('summary', ''))}", ""]
