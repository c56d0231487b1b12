"""The restore's undelivered events: what still arrived before the clear, the clear, and the
orphaned consumer queues offered after it."""

from __future__ import annotations

from typing import Any

from syncwizard.runbook.report.markdown import bullets, code, count, table, text
from syncwizard.runbook.report.view import RunView
from syncwizard.runbook.restore import step_names as steps


def arrivals(view: RunView) -> list[str]:
    """Whether events still arrived before the clear, and what the admin chose then."""
    quiet = view.out(steps.QUIET)
    choice = view.recorded(steps.QUIET, "choice").get("while_producing")
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
        said = "not known: " + text(view.messages.get(steps.QUIET, ""))
    return ["## Events still arriving before the clear", "", f"- {said}", ""]


_CLEAR_ACTIONS = {
    "clear": "cleared into the archive; the queue and its subscription stay",
    "delete": "cleared into the archive, then the queue {queue} and the topic {topic} deleted",
    "give_up": "given up: the queue {queue} purged without an archive",
}


def undelivered(view: RunView) -> list[str]:
    """The clear: archived, removed, given up, still pending, checked three ways."""
    cleared = view.out(steps.CLEAR)
    choice = view.recorded(steps.CLEAR, "choice")
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
    # The orphaned queues' step closes a STOMP window the clear opened: its word is last.
    window = view.out(steps.ORPHANS).get("stomp_window") or cleared.get("stomp_window")
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
            *([("STOMP on the broker", text(window))] if window else []),
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


def orphans(view: RunView) -> list[str]:
    """The orphaned consumer queues offered after the clear: cleared into their archives,
    or left (declined, or a consumer attached), and the queues not offered."""
    out = view.out(steps.ORPHANS)
    if not out or not (out.get("orphans") or out.get("cleared") or out.get("left")):
        return []
    lines = ["## Orphaned consumer queues", ""]
    rows = [
        (
            code(e.get("queue", "?")),
            "cleared",
            count(e.get("removed")),
            code(e.get("archive", "")),
            count(e.get("archived")),
            count(e.get("still_pending")),
        )
        for e in out.get("cleared", [])
        if isinstance(e, dict)
    ]
    rows += [
        (
            code(e.get("queue", "?")),
            text(e.get("why", "left")),
            "0",
            "",
            "",
            count(e.get("pending")),
        )
        for e in out.get("left", [])
        if isinstance(e, dict)
    ]
    headers = ("Queue", "Done", "Removed", "Archive", "Events archived", "Still pending")
    lines += table(headers, rows)
    not_offered = [str(q) for q in out.get("not_offered", [])]
    if not_offered:
        lines += ["Not offered: " + text("; ".join(not_offered)) + ".", ""]
    return lines
