"""How the restore runbook reads in the TUI: its step ids, the choices asked before (or after
a refusal of) a step, the notes before a step, what follows a failed or cancelled one, what
a health watch watches, and what an unfinished run leaves behind. No Textual here.

The step ids are the runbook's (runbook/restore/step_names.py); the screen only needs to know
the few steps it treats specially. How a look at the recover watch reads is in watch_view.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from syncwizard.runbook.restore import step_names as steps
from syncwizard.runbook.restore.step_names import DELETE_CONSEQUENCE

VERIFY_SET = steps.VERIFY
PREFLIGHT = steps.PREFLIGHT
STOP_SERVICES = steps.STOP
CHECK_QUIET = steps.QUIET
CLEAR_EVENTS = steps.CLEAR
CLEAR_ORPHANS = steps.ORPHANS
RESTORE_REPOSITORY = steps.RESTORE_REPOSITORY
SWAP_REPOSITORY = steps.SWAP_REPOSITORY
RESTORE_SYNC = steps.RESTORE_SYNC
SWAP_SYNC = steps.SWAP_SYNC
START_REPOSITORY = steps.START_REPOSITORY
START_RECOVER = steps.RECOVER
PLAIN_RESTART = steps.PLAIN_RESTART
REPORT = steps.REPORT

SWAP_ROLES = {SWAP_REPOSITORY: "repository_db", SWAP_SYNC: "sync_db"}
SYNC_DB_STEPS = (RESTORE_SYNC, SWAP_SYNC)  # skipped when the Sync Service shares the repo DB
# The steps that show the archived events: the clear, and the step after it (look through
# what was taken before the databases are replaced).
EVENT_STEPS = (CLEAR_EVENTS, RESTORE_REPOSITORY)
HEALTH_STEPS = (STOP_SERVICES, START_RECOVER, PLAIN_RESTART)  # the health panel matters here
# Steps that take the events off the queue themselves: while one runs, the queue's dequeue
# rate is the wizard removing them, and the queue panel says so.
CLEARING_STEPS = (CLEAR_EVENTS,)
REMOVED_RATE = "removed/s"

SHARED_NOTE = (
    "The Sync Service shares the repository database: restoring the "
    "repository DB restores the Sync tables too, so the two Sync DB steps are skipped."
)
SPLIT_NOTE = (
    "The Sync Service shares the repository database: its tables, dumped after the "
    "wait, are restored into the same copy after the repository's, and put in place with "
    "it, so the two Sync DB steps are skipped."
)
CLEAR_CONSEQUENCE = (
    "Each event is taken off the queue only once it is on disk in the run's archive; the "
    "queue and the Sync Service's subscription stay."
)
GIVE_UP_CONSEQUENCE = (
    "A bare purge: the events are removed without an archive, so they are lost. Its gate "
    "asks you to type their exact number, and the report names it."
)
AFTER_FAILURE = (
    "Nothing further runs. r runs this step again; Esc goes back (the run can be resumed "
    "from the welcome screen)."
)
CANCELLED_TEXT = (
    "Cancelled: the step was stopped and the journal says so. r runs it again; Esc goes back."
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
    """A choice the admin makes before a step runs; sets `attribute` on RestoreChoices.
    An `after_refusal` choice is offered only once the step has said why it needs one."""

    attribute: str
    question: str
    options: tuple[Option, ...]
    after_refusal: bool = False

    def option(self, value: object) -> Option | None:
        return next((o for o in self.options if o.value == value), None)


CHOICES = {
    CHECK_QUIET: Choice(
        "while_producing",
        "Events still arrive: the repository is still producing. What now?",
        (
            Option(
                "stop",
                "Stop the repository",
                "Runs its stop command (repository.stop), then watches the counters again.",
            ),
            Option(
                "wait",
                "Wait for it to stop",
                "Stop it by hand, or whatever still publishes; the wizard watches the counters "
                "meanwhile, for up to 5 minutes.",
            ),
            Option(
                "go_on",
                "Go on knowingly",
                "The clear keeps consuming into the archive until you end it (x); events "
                "that arrive after that stay pending, and deleting or giving up is refused.",
            ),
        ),
        after_refusal=True,
    ),
    CLEAR_EVENTS: Choice(
        "events_action",
        "Clear the pending events how?",
        (
            Option("clear", "Into the archive (recommended)", CLEAR_CONSEQUENCE),
            Option("delete", "Into the archive, then delete queue+topic", DELETE_CONSEQUENCE),
            Option("give_up", "Give them up: purge, no archive", GIVE_UP_CONSEQUENCE),
        ),
    ),
    START_RECOVER: Choice(
        "recover_again",
        "The recover start ran. What now?",
        (
            Option(
                False,
                "Watch again (recommended)",
                "A recover may still be running: the wizard watches it again, it does not "
                "start a second one.",
            ),
            Option(
                True,
                "Start it again with -Drecover",
                "Only if the Sync Service's process is gone (its log says why): the password "
                "is asked again.",
            ),
        ),
        after_refusal=True,
    ),
    PLAIN_RESTART: Choice(
        "plain_restart",
        "Start the Sync Service once more, without the recover option?",
        (
            Option(
                True,
                "Restart without recover",
                "Stops the Sync Service and starts it with the plain start command, then "
                "checks -Drecover is gone from the running process. Required where the start "
                "configuration kept the option.",
            ),
            Option(
                False,
                "Skip",
                "The Sync Service keeps running as it was started, -Drecover in its "
                "arguments until its next restart.",
            ),
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
    step_records = records.get(START_RECOVER, {})
    if str(states.get(START_RECOVER, "")) in ("done", "skipped") or "started" in step_records:
        started.add("Sync Service")
    if str(states.get(START_REPOSITORY, "")) == "done" or "started" in records.get(
        START_REPOSITORY, {}
    ):
        started.add("repository")
    still_down = [name for name in stopped if name not in started]
    if still_down:
        lines.append(f"Stopped by this run and not started again: {' and '.join(still_down)}.")
    cleared = results.get(CLEAR_EVENTS, {})
    if cleared.get("removed"):
        line = (
            f"The sync queue {cleared.get('queue')} was cleared: {int(cleared['removed']):,} "
            "events removed"
        )
        if cleared.get("archive"):
            line += f", {int(cleared.get('archived') or 0):,} of them kept in {cleared['archive']}"
        if cleared.get("given_up"):
            line += f"; {int(cleared['given_up']):,} given up (lost)"
        lines.append(line + ".")
    for entry in results.get(CLEAR_ORPHANS, {}).get("cleared") or ():
        lines.append(
            f"The orphaned queue {entry.get('queue')} was cleared: "
            f"{int(entry.get('removed') or 0):,} events, kept in {entry.get('archive')}."
        )
    for result in results.values():
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
    if step_id == CHECK_QUIET:
        # the wizard can stop only a repository it has a command for
        by_hand = results.get(STOP_SERVICES, {}).get("by_hand") or ()
        return "wait" if "repository" in by_hand else "stop"
    if step_id == PLAIN_RESTART:
        # a restart is only worth a second outage when the recover option may persist
        return bool(results.get(START_RECOVER, {}).get("persistent_note"))
    choice = CHOICES[step_id]
    return choice.options[0].value


def shared_database(results: Mapping[str, Mapping[str, Any]]) -> bool:
    return bool(results.get(VERIFY_SET, {}).get("shared_database"))


def step_notes(step_id: str, results: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """What to know before `step_id`, from what the run found so far: that a shared
    database skips the Sync DB steps, and that the recover option may persist in the
    Sync Service's start (before the plain restart)."""
    notes = []
    if shared_database(results) and step_id in (
        RESTORE_REPOSITORY,
        SWAP_REPOSITORY,
        *SYNC_DB_STEPS,
    ):
        two_dumps = len(results.get(VERIFY_SET, {}).get("dumps") or []) > 1
        notes.append(SPLIT_NOTE if two_dumps else SHARED_NOTE)
    if step_id == PLAIN_RESTART:
        note = results.get(START_RECOVER, {}).get("persistent_note")
        if note:
            notes.append(str(note))
    return notes
