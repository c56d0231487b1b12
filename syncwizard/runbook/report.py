"""`syncwizard report RUN`: a run told as Markdown, for the change ticket (issue 4, 1.8).

    text = render_report(record, secrets=())     # a RunRecord from journal.load_run
    text = report_for("restore-20261126T061500Z")  # a run id under runs_dir(), or a run folder
    path = write_report(record, path=None)        # 0600, atomically; default <run folder>/report.md

The report is built from the journal alone (outputs of finished steps, facts recorded
mid-step, errors of failed attempts), so a run stopped midway still renders: what is
missing is left out. It never holds a secret: values of keys named like password, secret
or token are masked, and so are `-Drecover=<user>:...`, `password=...`, URL passwords and
every value the caller passes as `secrets`, by the one masking policy
(syncwizard/masking.py). Environment variables are never printed.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from syncwizard.errors import SyncWizardError
from syncwizard.masking import MASK, environment_secrets, mask_data, mask_strings, mask_text
from syncwizard.runbook.journal import (
    JOURNAL_NAME,
    RunRecord,
    list_runs,
    load_run,
    read_entries,
    runs_dir,
)
from syncwizard.runbook.model import EventKind, StepState
from syncwizard.runbook.restore import step_names as restore_steps

REPORT_NAME = "report.md"

BACKUP_TITLES = {
    "preflight": "Preflight",
    "repository_db": "Repository DB backup",
    "wait_drain": "Wait for the Sync Service to track it",
    "sync_db": "Sync DB backup",
    "seal": "Verify and seal",
}
RESTORE_TITLES = restore_steps.TITLES
KNOWN_TITLES = {"backup": BACKUP_TITLES, "restore": RESTORE_TITLES}

# --- Markdown -------------------------------------------------------------------------------

_PLAIN_SPECIAL = re.compile(r"([\\`*<>\[\]])")
_LONE_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def text(value: object) -> str:
    """Free text, escaped so Markdown shows it as written (a mask stays readable)."""
    parts = str(value).split(MASK)
    escaped = [_LONE_UNDERSCORE.sub(r"\\_", _PLAIN_SPECIAL.sub(r"\\\1", part)) for part in parts]
    return MASK.join(escaped)


def code(value: object) -> str:
    """A path, command or name as inline code (backticks inside are fenced longer)."""
    raw = " ".join(str(value).splitlines())
    fence = "`"
    while fence in raw:
        fence += "`"
    pad = " " if raw.startswith("`") or raw.endswith("`") else ""
    return f"{fence}{pad}{raw}{pad}{fence}"


def cell(markdown: str) -> str:
    """Rendered Markdown made safe for one table cell: `|` escaped, lines joined."""
    lines = [line.strip() for line in markdown.strip().splitlines() if line.strip()]
    return "<br>".join(lines).replace("|", "\\|")


def table(headers: Iterable[str], rows: Iterable[Iterable[str]]) -> list[str]:
    """A GFM table of already rendered cells."""
    heads = [cell(h) for h in headers]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    lines += ["| " + " | ".join(cell(c) or " " for c in row) + " |" for row in rows]
    return [*lines, ""]


def when(at: object, *, day: str | None = None) -> str:
    """An epoch or ISO time as `2026-11-26 05:31:33 UTC`; just the clock on `day`."""
    if isinstance(at, bool) or at in (None, ""):
        return ""
    if isinstance(at, int | float):
        moment = datetime.fromtimestamp(float(at), UTC)
    else:
        try:
            moment = datetime.fromisoformat(str(at).replace("Z", "+00:00")).astimezone(UTC)
        except ValueError:
            return text(at)
    if day is not None and moment.strftime("%Y-%m-%d") == day:
        return moment.strftime("%H:%M:%S")
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def took(seconds: float | None) -> str:
    """`0.4 s`, `41 s`, `3 min 05 s`, `1 h 02 min`."""
    if seconds is None or seconds < 0:
        return ""
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        minutes, rest = divmod(whole, 60)
        return f"{minutes} min {rest:02d} s"
    hours, rest = divmod(whole, 3600)
    return f"{hours} h {rest // 60:02d} min"


def size(value: object) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return ""
    return f"{value / 1e6:,.1f} MB" if value >= 100_000 else f"{int(value):,} bytes"


def count(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "" if value is None else text(value)
    return f"{value:,}"


def plural(value: object, noun: str) -> str:
    return f"{count(value)} {noun}" + ("" if value == 1 else "s")


def yes_no(value: object) -> str:
    return {True: "yes", False: "**no**"}.get(value, "") if isinstance(value, bool) else ""


def bullets(pairs: Iterable[tuple[str, str]]) -> list[str]:
    """`- **label:** value` for every pair whose value is not empty."""
    return [f"- **{label}:** {value}" for label, value in pairs if value]


# --- the run as read from its journal --------------------------------------------------------


@dataclass
class Attempt:
    """A failed or cancelled attempt of a step."""

    step: str
    at: float
    state: str
    message: str
    hint: str = ""


@dataclass
class RunView:
    """What a report needs of a run: the record's facts, masked, and what only the journal
    lines hold (step titles, times of failed attempts, resumes)."""

    record: RunRecord
    found_secrets: set[str] = field(default_factory=set)
    header: dict[str, Any] = field(default_factory=dict)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)  # last transition message per step
    started: dict[str, float] = field(default_factory=dict)
    ended: dict[str, float] = field(default_factory=dict)
    attempts: list[Attempt] = field(default_factory=list)
    record_at: dict[tuple[str, str], float] = field(default_factory=dict)
    resumed: list[float] = field(default_factory=list)
    finished_at: float | None = None
    abandon_reason: str = ""

    @classmethod
    def of(cls, record: RunRecord, secrets: Iterable[str] = ()) -> RunView:
        entries: list[dict[str, Any]] = []
        with contextlib.suppress(OSError):
            entries = read_entries(record.run_dir / JOURNAL_NAME)
        found: set[str] = set()
        header, results, records, entries = mask_data(
            [record.header, record.results, record.records, entries], found
        )
        found |= {s for s in secrets if s}
        view = cls(record, found_secrets=found)
        view.header = mask_strings(header, found)
        view.results = mask_strings(results, found)
        view.records = mask_strings(records, found)
        view.started = dict(record.step_started)
        view.ended = dict(record.step_finished)
        for entry in mask_strings(entries, found):
            view._apply(entry)
        return view

    def _apply(self, entry: dict[str, Any]) -> None:
        kind, step, at = entry.get("kind"), entry.get("step"), float(entry.get("at", 0) or 0)
        message = str(entry.get("message", ""))
        if kind == EventKind.STATE and step:
            state = str(entry.get("state", ""))
            self.messages[step] = message
            if state == StepState.RUNNING:
                self.started[step] = at
                self.ended.pop(step, None)
                if message.endswith(": started"):
                    self.titles[step] = message.removesuffix(": started")
            else:
                self.ended[step] = at
            if state in (StepState.FAILED, StepState.CANCELLED):
                error = entry.get("error") or {}
                title = self.titles.get(step, "")
                if not error.get("message") and title:
                    message = message.removeprefix(f"{title}: ")
                self.attempts.append(
                    Attempt(
                        step, at, state, str(error.get("message") or message), error.get("hint", "")
                    )
                )
        elif kind == EventKind.RECORD and step:
            self.record_at[(step, message)] = at
        elif kind == EventKind.RUN_RESUMED:
            self.resumed.append(at)
        elif kind == EventKind.RUN_FINISHED:
            self.finished_at = at
        elif kind == EventKind.RUN_ABANDONED:
            self.finished_at = at
            self.abandon_reason = message

    @property
    def step_ids(self) -> list[str]:
        ids = [str(s) for s in self.header.get("steps", [])]
        return ids + [s for s in self.record.states if s not in ids]

    def title(self, step: str) -> str:
        known = KNOWN_TITLES.get(self.record.runbook, {})
        return self.titles.get(step) or known.get(step) or step

    def state(self, step: str) -> StepState:
        return self.record.states.get(step, StepState.PENDING)

    def out(self, step: str) -> dict[str, Any]:
        """The outputs of a step that is done or skipped; {} otherwise."""
        return self.results.get(step, {}) if self.state(step).satisfied else {}

    def recorded(self, step: str, name: str) -> dict[str, Any]:
        return self.records.get(step, {}).get(name, {})

    @property
    def day(self) -> str:
        return datetime.fromtimestamp(self.record.started_at, UTC).strftime("%Y-%m-%d")


# --- the parts every report has ---------------------------------------------------------------


def _where(view: RunView) -> str:
    step = view.record.stopped_at
    return view.title(step) if step else "the end"


def outcome(view: RunView) -> str:
    """finished / stopped at step X (failed) / abandoned / running (at step X)."""
    status = view.record.status()
    if status == "finished":
        return "finished"
    if status == "abandoned":
        return "abandoned" + (f" ({view.abandon_reason})" if view.abandon_reason else "")
    if status == "running":
        return f"running (at step {_where(view)})"
    if status == "interrupted":
        return f"stopped at step {_where(view)} (interrupted: the process ended mid-run)"
    return f"stopped at step {_where(view)} ({status})"


def _heading(view: RunView) -> list[str]:
    record = view.record
    runbook = record.runbook or "unknown"
    return [
        f"# {runbook.capitalize()} run {code(record.run_id)}: {text(outcome(view))}",
        "",
        f"Profile {code(view.header.get('profile', '?'))}. Written by syncwizard from the "
        "run's journal; times in UTC.",
        "",
    ]


def _facts(view: RunView) -> list[str]:
    record = view.record
    end = view.finished_at if view.finished_at is not None else record.last_at
    last_label = "Finished" if view.finished_at is not None else "Last journaled"
    if record.status() == "abandoned":
        last_label = "Abandoned"
    tool = view.header.get("tool_version")
    rows = [
        ("Run", code(record.run_id)),
        ("Runbook", text(record.runbook)),
        ("Profile", code(view.header.get("profile", "?"))),
        ("Outcome", text(outcome(view))),
        ("Started", when(record.started_at)),
        (last_label, when(end)),
        ("Duration", took(end - record.started_at) if record.started_at else ""),
        ("Tool version", f"syncwizard {text(tool)}" if tool else ""),
        ("Resumed", ", ".join(when(at) for at in view.resumed)),
        ("Run folder", code(record.run_dir)),
    ]
    return ["## Facts", "", *table(("Fact", "Value"), [(k, v) for k, v in rows if v])]


_STATE_SHOWN = {
    StepState.PENDING: "not run",
    StepState.RUNNING: "running",
    StepState.DONE: "done",
    StepState.SKIPPED: "skipped",
    StepState.FAILED: "**FAILED**",
    StepState.CANCELLED: "cancelled",
}


def _step_summary(view: RunView, step: str) -> str:
    state = view.state(step)
    if state.satisfied:
        summary = view.results.get(step, {}).get("summary") or view.messages.get(step, "")
        return text(summary)
    if state in (StepState.FAILED, StepState.CANCELLED):
        attempt = next((a for a in reversed(view.attempts) if a.step == step), None)
        return text(attempt.message if attempt else state)
    if state == StepState.RUNNING and view.record.status() != "running":
        return "the process ended during this step"
    return ""


def _timeline(view: RunView) -> list[str]:
    rows = []
    for number, step in enumerate(view.step_ids, 1):
        state = view.state(step)
        shown = _STATE_SHOWN[state]
        if state == StepState.RUNNING and view.record.status() != "running":
            shown = "interrupted"
        start, end = view.started.get(step), view.ended.get(step)
        rows.append(
            (
                str(number),
                text(view.title(step)),
                shown,
                when(start, day=view.day),
                when(end, day=view.day),
                took(end - start) if start is not None and end is not None else "",
                _step_summary(view, step),
            )
        )
    headers = ("#", "Step", "State", "Started", "Finished", "Took", "Summary")
    return ["## Timeline", "", *table(headers, rows)]


def _errors(view: RunView) -> list[str]:
    if not view.attempts:
        return []
    lines = ["## Errors", ""]
    for attempt in view.attempts:
        resolved = view.state(attempt.step).satisfied
        said = "" if attempt.message == attempt.state else f": {text(attempt.message)}"
        lines.append(
            f"- **{text(view.title(attempt.step))}** {attempt.state} at "
            f"{when(attempt.at, day=view.day)}{said}"
            + (" (the step was done later, on resume)" if resolved else "")
        )
        if attempt.hint:
            lines.append(f"  - what to do: {text(attempt.hint)}")
    return [*lines, ""]


# --- backup -----------------------------------------------------------------------------------


def _backup_sections(view: RunView) -> list[str]:
    preflight, repository = view.out("preflight"), view.out("repository_db")
    wait, sync, seal = view.out("wait_drain"), view.out("sync_db"), view.out("seal")
    set_dir = seal.get("backup_set") or view.header.get("backup_set")
    lines = ["## Backup set", ""]
    shared = ""
    if preflight.get("shared_database"):
        shared = "yes: one dump covers both" + (
            f" ({text(preflight['shared_reason'])})" if preflight.get("shared_reason") else ""
        )
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
    lines += _warning_lines(preflight.get("warnings") or view.recorded("preflight", "warnings"))
    lines.append("")
    lines += _t0_and_drain(repository, wait)
    dumps = [out["dump"] for out in (repository, sync) if isinstance(out.get("dump"), dict)]
    lines += _dumps(dumps)
    return lines


def _warning_lines(warnings: object) -> list[str]:
    if isinstance(warnings, Mapping):
        warnings = warnings.get("warnings")
    if not isinstance(warnings, list) or not warnings:
        return []
    return ["- **Warnings:**", *(f"  - {text(w)}" for w in warnings)]


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


# --- restore ----------------------------------------------------------------------------------

_ROLES = {"repository": "repository DB", "sync": "Sync DB"}


def _restore_sections(view: RunView) -> list[str]:
    return [
        *_chosen_set(view.out("verify_set")),
        *_restore_preflight(view.out("preflight")),
        *_stopped(view.out("stop_services")),
        *_arrivals(view),
        *_cleared(view),
        *_databases(view),
        *_repository_started(view.out("start_repository")),
        *_recover(view),
        *_final_health(view),
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
    lines += _warning_lines(preflight.get("warnings"))
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
    return lines


def _arrivals(view: RunView) -> list[str]:
    quiet = view.out("check_quiet")
    choice = view.recorded("check_quiet", "choice").get("while_producing")
    if not quiet and not choice:
        return []
    if quiet.get("producing"):
        said = f"yes, {text(quiet.get('rate'))} a second: the admin went on knowingly"
    elif quiet.get("quiet"):
        said = f"nothing in {text(quiet.get('window'))} s"
        if choice == "stop":
            said += " once the repository was stopped"
        elif choice == "wait":
            said += " after waiting for the repository to stop"
    else:
        said = "not known: " + text(view.messages.get("check_quiet", ""))
    return ["## Events still arriving before the clear", "", f"- {said}", ""]


_CLEAR_ACTIONS = {
    "clear": "cleared into the archive; the queue and its subscription stay",
    "delete": "cleared into the archive, then the queue {queue} and the topic {topic} deleted",
    "give_up": "given up: the queue {queue} purged without an archive",
}


def _cleared(view: RunView) -> list[str]:
    cleared = view.out("clear_events")
    choice = view.recorded("clear_events", "choice")
    if not cleared and not choice:
        return []
    action = cleared.get("action") or choice.get("action")
    queue, topic = code(cleared.get("queue") or "?"), code(cleared.get("topic") or "?")
    what = _CLEAR_ACTIONS.get(str(action), text(action or "")).format(queue=queue, topic=topic)
    if not cleared:
        return ["## Undelivered events", "", f"- Chosen, not done: {what}", ""]
    given_up = int(cleared.get("given_up") or 0)
    if cleared.get("counts_agree") is None:
        broker = "not comparable: the broker's counters were reset (a restart?)"
    elif cleared["counts_agree"]:
        broker = f"{count(cleared.get('broker_removed'))}, the same"
    else:
        broker = (
            f"{count(cleared.get('broker_removed'))}: they DISAGREE (pending at the start plus "
            f"arrived says {count(_expected_removed(cleared))})"
        )
    if cleared.get("complete"):
        complete = "yes: every event removed from the queue is in the archive"
    elif given_up:
        complete = f"no: {count(given_up)} events were given up, not archived (lost)"
    else:
        complete = "no: the counts disagree (see above)"
    lines = ["## Undelivered events", ""]
    lines += bullets(
        [
            ("What", what),
            ("Archive", code(cleared["archive"]) if cleared.get("archive") else "none"),
            ("Events archived", count(cleared.get("archived"))),
            ("Events removed from the queue", count(cleared.get("removed"))),
            ("Given up (lost, not archived)", count(given_up)),
            ("Still pending", _still_pending(cleared)),
            ("Pending when the clear began", count(cleared.get("pending_at_start"))),
            ("Arrived during the clear", count(cleared.get("arrived"))),
            ("Removed by the broker's own count", broker),
            ("Complete", complete),
        ]
    )
    return [*lines, ""]


def _expected_removed(cleared: dict[str, Any]) -> int | None:
    try:
        return (
            int(cleared["pending_at_start"])
            + int(cleared["arrived"])
            - int(cleared["still_pending"])
        )
    except (KeyError, TypeError, ValueError):
        return None


def _still_pending(cleared: dict[str, Any]) -> str:
    still = cleared.get("still_pending")
    if not still:
        return count(still or 0)
    return f"{count(still)} (arrived after the clear was ended; the Sync Service gets them)"


def _repository_started(started: dict[str, Any]) -> list[str]:
    if not started:
        return []
    return ["## Repository started", "", f"- {text(started.get('summary', ''))}", ""]


def _databases(view: RunView) -> list[str]:
    rows, notes = [], []
    for role, label in _ROLES.items():
        restore_id, swap_id = f"restore_{role}", f"swap_{role}"
        restored, swap = view.out(restore_id), view.out(swap_id)
        if view.state(restore_id) == StepState.SKIPPED:
            notes.append(f"- {label}: skipped ({text(view.messages.get(restore_id, ''))})")
            continue
        swapped = swap or view.recorded(swap_id, "swapped")
        if not restored and not swapped:
            continue
        aside = swapped.get("aside")
        dropped = view.recorded(swap_id, "dropped_aside")
        rows.append(
            (
                label,
                code(restored.get("database") or swapped.get("database") or "?"),
                code(restored["scratch"]) if restored.get("scratch") else "",
                text(str(restored.get("mode", "")).replace("_", " ")),
                count(restored.get("tables")),
                count(restored.get("rows")),
                took(restored.get("seconds")),
                _swap_cell(swap, swapped, aside),
                _dropped_cell(dropped, view.record_at.get((swap_id, "dropped_aside")), aside),
            )
        )
    if not rows and not notes:
        return []
    headers = (
        "DB",
        "Database",
        "Restored into",
        "Mode",
        "Tables",
        "Rows",
        "Took",
        "Swapped in (old one kept as)",
        "Old one dropped",
    )
    lines = ["## Databases restored", ""]
    if rows:
        lines += table(headers, rows)
    return [*lines, *notes, ""] if notes else lines


def _swap_cell(swap: dict[str, Any], swapped: dict[str, Any], aside: object) -> str:
    if not swapped:
        return "not yet"
    shown = code(aside) if aside else "yes (dropped first, nothing kept)"
    if swap.get("terminated"):
        shown += f"; {plural(swap['terminated'], 'connection')} ended"
    return shown if swap else f"{shown} (recorded; the step did not finish)"


def _dropped_cell(dropped: dict[str, Any], at: float | None, aside: object) -> str:
    if dropped:
        return f"yes, {code(dropped.get('database') or aside or '?')}" + (
            f" at {when(at)}" if at else ""
        )
    return "no, kept" if aside else ""


def _recover(view: RunView) -> list[str]:
    recover, restart = view.out("start_recover"), view.out("plain_restart")
    lines: list[str] = []
    if recover:
        lines += ["## Sync Service started with -Drecover", ""]
        lines += bullets(
            [
                ("Command", code(recover["command"]) if recover.get("command") else ""),
                ("Exit code", count(recover.get("exit_code"))),
                ("Healthy at", when(recover.get("healthy_at"))),
                ("Consumers on the queue", count(recover.get("consumers"))),
                ("Drift before the start", text(recover.get("drift_before") or "not measured")),
                ("Drift after it", text(recover.get("drift_after") or "not measured")),
            ]
        )
        log_lines = recover.get("log_lines") or []
        if log_lines:
            lines += ["", f"What the Sync Service's log ({code(recover.get('log'))}) says of it:"]
            lines += ["", "```", *[str(line) for line in log_lines], "```", ""]
        elif recover.get("log"):
            lines.append(f"- Its log, {code(recover['log'])}, said nothing of the recover.")
        if recover.get("persistent_note"):
            lines.append(f"- {text(recover['persistent_note'])}")
        lines.append("")
    if view.state("plain_restart") == StepState.SKIPPED:
        lines += [
            "## Plain restart",
            "",
            "Not done: " + text(view.messages.get("plain_restart", "")),
            "",
        ]
    elif restart:
        lines += ["## Plain restart (without recover)", ""]
        lines += bullets(
            [
                ("Exit code", count(restart.get("exit_code"))),
                ("Healthy at", when(restart.get("healthy_at"))),
            ]
        )
        lines.append("")
    return lines


def _final_health(view: RunView) -> list[str]:
    health: Mapping[str, Any] = {}
    source = ""
    for step in ("plain_restart", "start_recover"):
        found = view.out(step).get("health")
        if isinstance(found, Mapping) and found:
            health, source = found, view.title(step)
            break
    lines: list[str] = []
    if health:
        all_ok = all(ok is True for ok in health.values())
        lines += ["## Health at the end", ""]
        lines += [
            f"{'Every check healthy' if all_ok else '**Not every check is healthy**'} "
            f"(after: {text(source)}).",
            "",
        ]
        restart = view.out("plain_restart")
        if source != view.title("plain_restart") and restart.get("healthy_at"):
            lines += [
                f"Healthy again after the plain restart, at {when(restart['healthy_at'])}.",
                "",
            ]
        rows = [
            (code(name), "healthy" if ok is True else "**UNHEALTHY**" if ok is False else text(ok))
            for name, ok in health.items()
        ]
        lines += table(("Check", "State"), rows)
    report = view.out("report").get("report")
    if report:
        lines += [f"Report written to {code(report)}.", ""]
    return lines


# --- public API -------------------------------------------------------------------------------

_SECTIONS: dict[str, Callable[[RunView], list[str]]] = {
    "backup": _backup_sections,
    "restore": _restore_sections,
}


def render_report(record: RunRecord, secrets: Iterable[str] = ()) -> str:
    """The run as Markdown: heading with its outcome, facts, timeline, what the runbook
    did (backup set and dumps; or the restore's events, databases and restart), errors."""
    view = RunView.of(record, secrets)
    sections: Callable[[RunView], list[str]] = _SECTIONS.get(record.runbook, lambda v: [])
    lines = [*_heading(view), *_facts(view), *_timeline(view), *sections(view), *_errors(view)]
    body = "\n".join(lines).rstrip() + "\n"
    return mask_text(body, view.found_secrets)


def _find_run(run: str) -> RunRecord:
    candidate = Path(run).expanduser()
    if candidate.name == JOURNAL_NAME and candidate.is_file():
        candidate = candidate.parent
    looks_like_path = os.sep in run or run.startswith(".")
    for run_dir in ((candidate,) if looks_like_path else ()) + (runs_dir() / run,):
        if (run_dir / JOURNAL_NAME).is_file():
            return load_run(run_dir)
    newest = [r.run_id for r in list_runs()[:5]]
    where = candidate if looks_like_path else runs_dir() / run
    raise SyncWizardError(
        f"no run {run!r}: {where} holds no run journal ({JOURNAL_NAME})",
        hint=(f"the newest runs: {', '.join(newest)}; " if newest else "there are no runs yet; ")
        + "`syncwizard runs` lists them all",
        system="config",
    )


def report_for(run: str, secrets: Iterable[str] = ()) -> str:
    """The report of a run given by id (under runs_dir()) or by its folder's path."""
    record = _find_run(run)
    return render_report(record, [*secrets, *environment_secrets()])


def write_report(record: RunRecord, path: Path | None = None, secrets: Iterable[str] = ()) -> Path:
    """Write the report (default `<run folder>/report.md`) 0600, as `.partial` then renamed."""
    target = Path(path) if path is not None else record.run_dir / REPORT_NAME
    body = render_report(record, [*secrets, *environment_secrets()])
    partial = target.with_name(target.name + ".partial")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(partial, 0o600)  # O_CREAT's mode does not apply to a leftover partial
        os.replace(partial, target)
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise SyncWizardError(
            f"cannot write the report {target}: {exc.strerror or exc}",
            hint="choose a folder this user may write, with free space",
            system="config",
        ) from exc
    return target
