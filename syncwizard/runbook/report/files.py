"""A report found by run id or folder, and written to a file 0600, atomically."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from pathlib import Path

from syncwizard.errors import SyncWizardError
from syncwizard.masking import environment_secrets
from syncwizard.paths import fsync_dir
from syncwizard.runbook.journal import JOURNAL_NAME, RunRecord, list_runs, load_run, runs_dir
from syncwizard.runbook.report.render import render_report

REPORT_NAME = "report.md"


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
        fsync_dir(target.parent)
    except OSError as exc:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise SyncWizardError(
            f"cannot write the report {target}: {exc.strerror or exc}",
            hint="choose a folder this user may write, with free space",
            system="config",
        ) from exc
    return target
