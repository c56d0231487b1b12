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

view.py reads the run; overview.py, backup.py and restore*.py tell it; markdown.py
writes the Markdown; render.py puts it together; files.py finds runs and writes reports.
"""

from syncwizard.runbook.report.files import REPORT_NAME, report_for, write_report
from syncwizard.runbook.report.render import render_report

__all__ = ["REPORT_NAME", "render_report", "report_for", "write_report"]
