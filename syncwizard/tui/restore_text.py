"""How the restore runbook reads in the TUI: its step ids, the choices asked before a step,
the recover watch and the archive's rows. No Textual here.

The step ids are the contract's (notes/restore-api.md; constants in runbook/restore.py);
the screen only needs to know the few steps it treats specially. PROGRESS details are
read by their attributes, so this module imports neither the runbook nor its clients.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

VERIFY_SET = "verify_set"
PREFLIGHT = "preflight"
STOP_SERVICES = "stop_services"
ARCHIVE_EVENTS = "archive_events"
CLEAR_EVENTS = "clear_events"
RESTORE_REPOSITORY = "restore_repository"
SWAP_REPOSITORY = "swap_repository"
RESTORE_SYNC = "restore_sync"
SWAP_SYNC = "swap_sync"
START_RECOVER = "start_recover"
PLAIN_RESTART = "plain_restart"
REPORT = "report"

SWAP_ROLES = {SWAP_REPOSITORY: "repository_db", SWAP_SYNC: "sync_db"}
SYNC_DB_STEPS = (RESTORE_SYNC, SWAP_SYNC)  # skipped when the Sync Service shares the repo DB
EVENT_STEPS = (ARCHIVE_EVENTS, CLEAR_EVENTS)  # the steps that show the archived events
HEALTH_STEPS = (STOP_SERVICES, START_RECOVER, PLAIN_RESTART)  # the health panel matters here
# Steps that take the events off the queue themselves: while one runs, the queue's dequeue
# rate is the wizard removing them, and the queue panel says so.
CLEARING_STEPS = (CLEAR_EVENTS,)
REMOVED_RATE = "removed/s"

SHARED_NOTE = (
    "The Sync Service shares the repository database (DESIGN section 2): restoring the "
    "repository DB restores the Sync tables too, so the two Sync DB steps are skipped."
)
DELETE_CONSEQUENCE = (
    "Until the Sync Service subscribes again, the virtual topic copies new repository "
    "events to no queue, so they are not kept for it; the recover start is what reconciles."
)
PURGE_CONSEQUENCE = (
    "Removes every pending message; the queue and the Sync Service's subscription stay."
)
PASSWORD_NOTE = (
    "Kept in memory only, for this start: never written to the journal, the log, the "
    "report or the start command's arguments (it reaches the start command in "
    "$SYNCWIZARD_RECOVER_OPTION)."
)


@dataclass(frozen=True)
class Option:
    value: object
    label: str
    consequence: str


@dataclass(frozen=True)
class Choice:
    """A choice the admin makes before a step runs; sets `attribute` on RestoreChoices."""

    attribute: str
    question: str
    options: tuple[Option, ...]

    def option(self, value: object) -> Option | None:
        return next((o for o in self.options if o.value == value), None)


CHOICES = {
    CLEAR_EVENTS: Choice(
        "events_action",
        "What to do with the pending events (they are archived already):",
        (
            Option("purge", "Purge the queue (recommended)", PURGE_CONSEQUENCE),
            Option("delete", "Delete the virtual topic and its queue", DELETE_CONSEQUENCE),
        ),
    ),
    PLAIN_RESTART: Choice(
        "plain_restart",
        "Start the Sync Service once more, without the recover option?",
        (
            Option(
                True,
                "Restart without recover",
                "Stops the Sync Service and starts it with the plain start command, so a "
                "start configuration that kept the recover option does not recover again.",
            ),
            Option(False, "Skip", "The Sync Service keeps running as it was started."),
        ),
    ),
}


def choice_line(data: Mapping[str, Any]) -> str:
    """The log line for a journaled choice: what was chosen, or nothing when it says nothing."""
    said = [
        str(value) if key == "action" else f"{key.replace('_', ' ')}: {value}"
        for key, value in data.items()
        if value is not None and value != ""
    ]
    return f"  choice journaled: {', '.join(said)}" if said else ""


def watching(step_id: str, titles: Mapping[str, str]) -> str:
    """What a health watch is watching: the recover start, or the step that runs it."""
    if step_id == START_RECOVER:
        return "watching the recover start"
    return f"watching the Sync Service come back: {titles.get(step_id, step_id)}"


# --- what an unfinished run leaves behind ----------------------------------------------------


def _service_name(what: object) -> str:
    """`sync_service` / `Sync Service` -> `Sync Service`; `repository` -> `repository`."""
    text = str(what).replace("_", " ")
    return "Sync Service" if "sync" in text.lower() else text


def left_state(
    states: Mapping[str, Any],
    results: Mapping[str, Mapping[str, Any]],
    records: Mapping[str, Mapping[str, Any]],
    titles: Mapping[str, str],
) -> list[str]:
    """What a restore run has changed so far and not put back, one line each, read from its
    steps' states and results (the engine's or a journal's): services it stopped and did not
    start again, the queue it cleared, the databases it swapped, a step cut off half way.
    Empty when it changed nothing yet."""
    stopped: list[str] = []
    started: set[str] = set()
    lines: list[str] = []
    for result in results.values():
        for entry in result.get("stopped") or ():
            name = _service_name(entry.get("what", "") if isinstance(entry, Mapping) else entry)
            if name and name not in stopped:
                stopped.append(name)
        for entry in result.get("started") or ():
            started.add(
                _service_name(entry.get("what", "") if isinstance(entry, Mapping) else entry)
            )
    step_records = records.get(START_RECOVER, {})
    if str(states.get(START_RECOVER, "")) in ("done", "skipped") or "started" in step_records:
        started.add("Sync Service")
    still_down = [name for name in stopped if name not in started]
    if still_down:
        lines.append(f"Stopped by this run and not started again: {' and '.join(still_down)}.")
    for result in results.values():
        if "cleared" in result and result.get("queue"):
            action = result.get("action")
            how = f" ({action})" if action else ""
            lines.append(
                f"The sync queue {result['queue']} was cleared{how}: "
                f"{int(result.get('cleared') or 0):,} events removed."
            )
        if result.get("aside") and result.get("database"):
            lines.append(
                f"The database {result['database']} was replaced by the restored copy; the "
                f"old one is {result['aside']}."
            )
    for step_id, state in states.items():
        if str(state) in ("running", "failed", "cancelled") and step_id not in results:
            title = titles.get(step_id, step_id)
            lines.append(f"'{title}' did not finish ({state}): it may have done part of its work.")
    return lines


def default_choice(step_id: str, results: Mapping[str, Mapping[str, Any]]) -> object:
    """The option preselected before a step: the recommended one."""
    if step_id == PLAIN_RESTART:
        # a restart is only worth a second outage when the recover option may persist
        return bool(results.get(START_RECOVER, {}).get("persistent_note"))
    choice = CHOICES[step_id]
    return choice.options[0].value


def shared_database(results: Mapping[str, Mapping[str, Any]]) -> bool:
    return bool(results.get(VERIFY_SET, {}).get("shared_database"))


# --- the recover watch ---------------------------------------------------------------------


def watch_checks(watch: object) -> list[tuple[str, bool | None, str]]:
    """(name, healthy, message) of each health check a RecoverWatch carries.

    Accepts `checks` or `health` as a mapping name -> bool, or a sequence of records
    with `name`, `healthy` (and `message`), or of (name, healthy) pairs.
    """
    raw = getattr(watch, "checks", None)
    if raw is None:
        raw = getattr(watch, "health", None)
    if raw is None:
        return []
    if isinstance(raw, Mapping):
        return [(str(name), _healthy(value), "") for name, value in raw.items()]
    rows: list[tuple[str, bool | None, str]] = []
    for item in raw:
        if isinstance(item, tuple | list):
            rows.append((str(item[0]), _healthy(item[1]), str(item[2]) if len(item) > 2 else ""))
        else:
            name = getattr(item, "name", "?")
            message = getattr(item, "message", "") or ""
            rows.append((str(name), _healthy(getattr(item, "healthy", None)), str(message)))
    return rows


def _healthy(value: object) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    return bool(getattr(value, "healthy", value))


def is_recover_watch(detail: object) -> bool:
    return hasattr(detail, "seconds_left") and hasattr(detail, "consumers")


def watch_headline(watch: object) -> str:
    checks = watch_checks(watch)
    healthy = sum(1 for _, ok, _ in checks if ok)
    consumers = getattr(watch, "consumers", None)
    left = getattr(watch, "seconds_left", None)
    parts = [f"{healthy} of {len(checks)} health checks healthy" if checks else "no health answer"]
    if consumers is not None:
        parts.append(f"{consumers} consumer{'s' if consumers != 1 else ''} on the sync queue")
    if left is not None:
        parts.append(f"gives up in {max(float(left), 0):.0f} s")
    return "; ".join(parts)


# --- the archive of pending events -----------------------------------------------------------

EVENT_COLUMNS = ("Message id", "Time (UTC)", "Event type", "Node id")


def _event_fields(body: str) -> tuple[str, str]:
    """(event type, node id) from a body: the lab's and event2's JSON shapes."""
    try:
        data = json.loads(body)
    except ValueError:
        return "(not JSON)", ""
    if not isinstance(data, dict):
        return "(not an object)", ""
    event_type = data.get("type") or data.get("eventType") or ""
    node = data.get("nodeId") or ""
    if not node:
        resource = (
            (data.get("data") or {}).get("resource") if isinstance(data.get("data"), dict) else None
        )
        if isinstance(resource, dict):
            node = resource.get("id") or ""
    return str(event_type), str(node)


def _when(millis: object) -> str:
    try:
        value = int(str(millis))
    except ValueError:
        return ""
    if value <= 0:
        return ""
    return datetime.fromtimestamp(value / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def archive_rows(lines: Iterable[str]) -> list[tuple[str, str, str, str]]:
    """The table's rows from the archive's JSON lines; a line cut short is skipped."""
    rows = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if not isinstance(entry, dict):
            continue
        headers = entry.get("headers") or {}
        body = entry.get("body")
        event_type, node = _event_fields(body) if isinstance(body, str) else ("(binary)", "")
        rows.append(
            (
                str(headers.get("message-id", "")),
                _when(headers.get("timestamp", "")),
                event_type,
                node,
            )
        )
    return rows
