"""The report as one Markdown text: the common parts around the runbook's own sections."""

from __future__ import annotations

from collections.abc import Iterable

from syncwizard.masking import mask_text
from syncwizard.runbook.journal import RunRecord
from syncwizard.runbook.report.backup import backup_sections
from syncwizard.runbook.report.overview import errors, facts, heading, timeline
from syncwizard.runbook.report.restore import restore_sections
from syncwizard.runbook.report.view import RunView

_SECTIONS = {"backup": backup_sections, "restore": restore_sections}


def render_report(record: RunRecord, secrets: Iterable[str] = ()) -> str:
    """The run as Markdown: heading with its outcome, facts, timeline, what the runbook
    did (backup set and dumps; or the restore's events, databases and restart), errors."""
    view = RunView.of(record, secrets)
    sections = _SECTIONS.get(record.runbook, lambda v: [])
    lines = [*heading(view), *facts(view), *timeline(view), *sections(view), *errors(view)]
    body = "\n".join(lines).rstrip() + "\n"
    return mask_text(body, view.found_secrets)
