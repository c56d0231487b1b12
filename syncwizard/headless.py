"""`syncwizard backup --yes`: the backup runbook without a screen, for cron.

`HeadlessPrinter` is an engine observer printing progress lines (or JSON lines
with `--json`) on stdout; live progress is thinned to one line every few seconds
per step. If the reader of stdout goes away, the printer falls silent and the
backup goes on (the journal has every line). `run_backup` holds the profile's lock
(one run at a time), finds the profile's unfinished run and resumes it (saying so)
or starts a fresh one, and maps the outcome to the exit codes: 0 done, 1 refused or
unhealthy, 2 unreachable or bad input, 130 interrupted.
An unfinished run that cannot be resumed (its folder changed since a step finished)
is abandoned with a warning naming it and why, and a fresh run starts, so a cron
backup never stays stuck on it (pgBackRest does the same); the TUI asks instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import signal
import sys
import time
from typing import Any, TextIO

from syncwizard.errors import SyncWizardError
from syncwizard.runbook.model import EventKind, RefusedError, StepEvent, StepState

EXIT_OK, EXIT_REFUSED, EXIT_BAD, EXIT_INTERRUPTED = 0, 1, 2, 130


def _detail_json(detail: object) -> Any:
    if detail is None:
        return None
    if hasattr(detail, "as_json"):
        return detail.as_json()
    if dataclasses.is_dataclass(detail) and not isinstance(detail, type):
        data = dataclasses.asdict(detail)
        data.pop("lines", None)  # tool output goes out as log events (with --verbose)
        return data
    if isinstance(detail, int | float | str):
        return detail
    return str(detail)


class HeadlessPrinter:
    """Prints a run's events: progress lines, or one JSON object per line."""

    def __init__(
        self,
        out: TextIO | None = None,
        *,
        json_lines: bool = False,
        verbose: bool = False,
        progress_every: float | None = None,
        step_titles: dict[str, str] | None = None,
    ) -> None:
        self.out = out or sys.stdout
        self.json_lines = json_lines
        self.verbose = verbose
        # a line every 5 s keeps a half-hour wait readable in a cron mail
        self.progress_every = progress_every or (2.0 if json_lines else 5.0)
        self.step_titles = step_titles or {}
        self._last_progress: dict[str | None, float] = {}
        self._last_details: dict[str | None, str] = {}
        self.closed = False  # the reader of `out` went away

    def __call__(self, event: StepEvent) -> None:
        if event.kind == EventKind.LOG and not self.verbose:
            return
        if event.kind == EventKind.PROGRESS:
            now = time.monotonic()
            if now - self._last_progress.get(event.step_id, -1e9) < self.progress_every:
                return
            self._last_progress[event.step_id] = now
        if self.json_lines:
            entry = {"run_id": event.run_id, **event.as_json()}
            if event.kind == EventKind.PROGRESS and event.detail is not None:
                entry["detail"] = _detail_json(event.detail)
            self._write(json.dumps(entry, default=str))
        else:
            text = self._text(event)
            if text:
                self._write(text)

    def note(self, run_id: str, text: str) -> None:
        """A line of our own between the events (e.g. why options were not applied)."""
        if self.json_lines:
            self._write(
                json.dumps({"run_id": run_id, "at": time.time(), "kind": "note", "message": text})
            )
        else:
            self._write(f"{time.strftime('%H:%M:%S')}    note: {text}")

    def warn(self, run_id: str, text: str) -> None:
        """A warning of our own (e.g. a run given up), on its own line."""
        if self.json_lines:
            self._write(
                json.dumps(
                    {"run_id": run_id, "at": time.time(), "kind": "warning", "message": text}
                )
            )
        else:
            self._write(f"{time.strftime('%H:%M:%S')} warning: {text}")

    def _write(self, line: str) -> None:
        if self.closed:
            return
        try:
            self.out.write(line + "\n")
            self.out.flush()
        except BrokenPipeError:
            # `syncwizard backup --yes | head`: the backup matters more than its lines.
            self.closed = True
            _drop(self.out)

    def _text(self, event: StepEvent) -> str | None:
        stamp = time.strftime("%H:%M:%S", time.localtime(event.at))
        title = self.step_titles.get(event.step_id or "", event.step_id or "")
        if event.kind in (EventKind.RUN_STARTED, EventKind.RUN_RESUMED):
            where = event.data.get("backup_set")
            return f"{stamp} {event.message}" + (f" (backup set {where})" if where else "")
        if event.kind == EventKind.STATE:
            if event.state == StepState.RUNNING:
                return f"{stamp} == {title}"
            if event.state == StepState.FAILED and event.error is not None:
                text = f"{stamp} !! {title} failed: {event.error.message}"
                return text + (f"\n         hint: {event.error.hint}" if event.error.hint else "")
            if event.state == StepState.CANCELLED:
                return f"{stamp} !! {title} cancelled"
            return f"{stamp}    {event.state}: {event.message}"
        if event.kind == EventKind.PROGRESS:
            # Its further lines (what blocks, what to check) only when they change.
            headline, _, details = event.message.partition("\n")
            if details == self._last_details.get(event.step_id):
                return f"{stamp}    {headline}"
            self._last_details[event.step_id] = details
            return f"{stamp}    " + event.message.replace("\n", "\n         ")
        if event.kind == EventKind.LOG:
            return f"{stamp}    | {event.message}"
        if event.kind == EventKind.RECORD and event.message.endswith("_snapshot"):
            t0 = " (t0)" if event.message == "repository_db_snapshot" else ""
            return f"{stamp}    snapshot taken at {event.data.get('snapshot_at_iso')}{t0}"
        if event.kind == EventKind.RECORD and event.message == "warnings":
            return "\n".join(f"{stamp}    warning: {w}" for w in event.data.get("warnings", []))
        if event.kind == EventKind.RECORD and event.message == "declined":
            # an offer declined (e.g. an orphaned queue left): the step goes on without it
            return "\n".join(f"{stamp}    declined: {left}" for left in event.data.get("left", []))
        if event.kind == EventKind.RECORD and event.message == "counter_reset":
            return f"{stamp}    note: {event.data.get('note')}"
        if event.kind in (EventKind.RUN_FINISHED, EventKind.RUN_ABANDONED):
            return f"{stamp} {event.message}"
        return None


def _drop(out: TextIO) -> None:
    """Send what `out` still buffers, and all it gets later, nowhere (its reader is gone)."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())
        os.close(devnull)


def exit_code_of(error: SyncWizardError | None) -> int:
    if error is None:
        return EXIT_OK
    return EXIT_REFUSED if isinstance(error, RefusedError) else EXIT_BAD


async def run_backup(
    profile: Any,
    options: Any,
    *,
    broker_password: str | None,
    new: bool = False,
    printer: HeadlessPrinter,
) -> int:
    """Resume the profile's unfinished backup run (saying so) or start one; return the exit
    code. The profile's lock is held throughout: a second backup or restore is refused."""
    from syncwizard.runbook.backup.runbook import hold_profile

    lock = hold_profile(profile)
    try:
        engine = await _start_or_resume(
            profile, options, broker_password=broker_password, new=new, printer=printer, lock=lock
        )
        printer.step_titles = {step.id: step.title for step in engine.runbook.steps}
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        if task is not None:
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
        try:
            outcome = await engine.run()
        except asyncio.CancelledError:
            raise KeyboardInterrupt from None
        finally:
            loop.remove_signal_handler(signal.SIGTERM)
            await engine.aclose()
    finally:
        lock.release()
    if outcome.error is not None:
        raise outcome.error
    return exit_code_of(outcome.error)


async def _start_or_resume(
    profile: Any,
    options: Any,
    *,
    broker_password: str | None,
    new: bool,
    printer: HeadlessPrinter,
    lock: Any,
) -> Any:  # -> Engine
    from syncwizard.runbook.backup.runbook import resume_backup, start_backup
    from syncwizard.runbook.journal import abandon, find_unfinished

    unfinished = find_unfinished("backup", profile=profile.name)
    if unfinished is not None and unfinished.status() == "running":
        raise RefusedError(
            f"backup run {unfinished.run_id} is running in another process",
            hint="wait for it to finish; `syncwizard runs` lists the runs",
            system="config",
        )
    if unfinished is not None and new:
        abandon(unfinished, "a fresh run was started with --new")
        printer(
            StepEvent(
                run_id=unfinished.run_id,
                kind=EventKind.RUN_ABANDONED,
                message=f"run {unfinished.run_id} left unfinished; starting a fresh run (--new)",
            )
        )
        unfinished = None
    if unfinished is not None:
        try:
            engine = await resume_backup(
                unfinished,
                profile,
                broker_password=broker_password,
                observers=[printer],
                lock=lock,
            )
        except RefusedError as exc:
            # Headless, nobody can be asked: give it up, say so, and back up afresh.
            abandon(unfinished, f"a headless backup gave it up: {exc.message}")
            printer.warn(
                unfinished.run_id,
                f"{exc.message}. It is abandoned (its files stay in "
                f"{unfinished.header.get('backup_set')}) and a fresh run starts.",
            )
        else:
            kept = unfinished.header.get("options", {})
            changed = sorted(k for k, v in options.as_json().items() if kept.get(k, v) != v)
            if changed:
                printer.note(
                    unfinished.run_id,
                    f"the resumed run keeps the options it started with ({', '.join(changed)} "
                    "differ from now); `syncwizard backup --yes --new` starts afresh with the "
                    "new ones",
                )
            return engine
    return start_backup(
        profile, options, broker_password=broker_password, observers=[printer], lock=lock
    )
