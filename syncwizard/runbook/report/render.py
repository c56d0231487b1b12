"""The report as one Markdown text: the common parts around the runbook's own sections."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from syncwizard.masking import mask_text
from syncwizard.runbook.backup import step_names as backup_steps
from syncwizard.runbook.journal import RunRecord
from syncwizard.runbook.report.backup import backup_sections
from syncwizard.runbook.report.overview import confirmations, errors, facts, heading, timeline
from syncwizard.runbook.report.restore import restore_sections
from syncwizard.runbook.report.view import RunView
from syncwizard.runbook.restore import step_names as restore_steps

_SECTIONS: dict[str, Callable[[RunView], list[str]]] = {
    backup_steps.RUNBOOK: backup_sections,
    restore_steps.RUNBOOK: restore_sections,
}


def render_report(record: RunRecord, secrets: Iterable[str] = ()) -> str:
    """The run as Markdown: heading with its outcome, facts, timeline, what the runbook
    did (backup set and dumps; or the restore's events, databases and restart), errors."""
    view = RunView.of(record, secrets)
    sections: Callable[[RunView], list[str]] = _SECTIONS.get(record.runbook, lambda v: [])
    lines = [
        *heading(view),
        *facts(view),
        *timeline(view),
        *confirmations(view),
        *sections(view),
        *errors(view),
    ]
    body = "\n".join(lines).rstrip() + "\n"
    return mask_text(body, view.found_secrets)
