"""What the screens share: the one error path for background work, and the stylesheet of
every screen after the first.

Harlequin's rule: a worker that fails unexpectedly becomes a notification,
never a crash and never a silent stop. Expected failures (a system not
answering) do not get here: they are part of the status report.

The app's stylesheet (syncwizard.tcss) holds only what the welcome screen paints:
Textual parses it before the first frame. The other screens' rules are in
`SCREENS_CSS`, which each of them names in its `CSS_PATH`; Textual parses a screen's
CSS when the screen first opens (a keypress away), so they cost the first paint
nothing. Parsing the whole stylesheet up front was ~15 ms of it (bench/README.md).
"""

from __future__ import annotations

import logging
from pathlib import Path

from textual.app import App
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from syncwizard.errors import SyncWizardError

log = logging.getLogger("syncwizard.tui")

# Absolute: Textual resolves a relative CSS_PATH from the module of the screen's own class.
SCREENS_CSS = Path(__file__).parent.parent / "screens.tcss"


def unexpected(error: Exception, *, report_with: str = "the log") -> SyncWizardError:
    """A bug met in background work, said as a SyncWizardError: what it was, whom to tell."""
    return SyncWizardError(
        f"unexpected {type(error).__name__}: {error}",
        hint=f"this is a bug in syncwizard; please report it with {report_with}",
    )


def failure_text(error: BaseException | None) -> str:
    if isinstance(error, SyncWizardError):
        return error.render()
    return (
        f"unexpected {type(error).__name__}: {error}\n"
        "this is a bug in syncwizard; please report it with the log"
    )


def report_failure(app: App[object], worker: Worker[object]) -> str:
    """Tell the user that `worker` failed; returns the text told."""
    text = failure_text(worker.error)
    log.error("worker %r failed: %s", worker.name, text, exc_info=worker.error)
    app.notify(text, title=f"{worker.name or 'background work'} failed", severity="error")
    return text


class WizardScreen(Screen[None]):
    """A screen whose workers' failures go through `report_failure`.

    A failure repeated by the next run of the same worker (a poll every second)
    is told once, until a run succeeds.
    """

    def __init__(self) -> None:
        super().__init__()
        self._last_failure: str | None = None
        self._last_loop_failure: str | None = None  # of a loop that goes on (tell_failure)

    def tell_failure(self, error: Exception) -> None:
        """An unexpected failure of background work that goes on (a poll loop), told once
        until something succeeds."""
        text = failure_text(error)
        if text != self._last_loop_failure:
            log.error("background work failed: %s", text, exc_info=error)
            self.app.notify(text, title="status poll failed", severity="error")
            self._last_loop_failure = text

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR:
            if failure_text(event.worker.error) != self._last_failure:
                self._last_failure = report_failure(self.app, event.worker)
        elif event.state is WorkerState.SUCCESS:
            self._last_failure = None
