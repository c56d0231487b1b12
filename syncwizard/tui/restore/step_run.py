"""Running a restore step: the step, then on through the steps known to be skipped; and
what a step said when it ended.

`run_through` runs one step with the engine and, while each is satisfied, the steps after
it that skip by themselves (`skips_by_itself`: the Sync DB steps when the Sync Service
shares the repository database; they change nothing, and their reason is shown; the offer
of orphaned queues when the preflight saw none). After
the last step it finishes the run. It answers with the `StepEnded` message the screen
acts on: the last step run and its state, or why it could not run. `ended_line` is how a
done or skipped step reads in the step pane until the next step runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.message import Message

from syncwizard.errors import SyncWizardError
from syncwizard.runbook.model import StepEvent, StepState
from syncwizard.tui.restore import text as rt
from syncwizard.tui.widgets.step_sidebar import MARKERS

if TYPE_CHECKING:
    from syncwizard.runbook.engine import Engine


class StepEnded(Message):
    """The step worker is done with `step_id` (run, refused, or not started)."""

    def __init__(self, step_id: str, state: StepState | None, note: str = "") -> None:
        super().__init__()
        self.step_id = step_id
        self.state = state
        self.note = note


def skips_by_itself(step_id: str, results: Mapping[str, Mapping[str, Any]]) -> bool:
    if step_id == rt.CLEAR_ORPHANS:
        # Run on at once where the preflight saw no orphan: the step looks again itself, and
        # asks its gates should one have appeared since.
        return not results.get(rt.PREFLIGHT, {}).get("orphans")
    return step_id in rt.SYNC_DB_STEPS and rt.shared_database(results)


async def run_through(engine: Engine, step_id: str, *, again: str = "") -> StepEnded:
    """Run `step_id` (announcing `again` first, for a step run again), then the steps after
    it that skip by themselves; once every step is done, finish the run and close it."""
    state: StepState | None = None
    try:
        if again:
            engine.announce_resume(again)
        state = await engine.run_step(step_id)
        while state is not None and state.satisfied:
            upcoming = engine.next_step()
            if upcoming is None:
                await engine.run()  # every step done: journals run_finished
                await engine.aclose()  # frees the journal for drop_aside
                break
            if not skips_by_itself(upcoming.id, engine.results):
                break
            step_id, state = upcoming.id, await engine.run_step(upcoming.id)
    except SyncWizardError as exc:
        return StepEnded(step_id, None, f"could not run: {exc.render()}")
    return StepEnded(step_id, state)


def ended_line(step_id: str, state: StepState, event: StepEvent, titles: Mapping[str, str]) -> Text:
    """`<marker> <title>: <its summary>`, or `: skipped — <why>`."""
    line = Text(f"{MARKERS[state]} {titles.get(step_id, step_id)}: ", style="bold")
    if state == StepState.SKIPPED:
        line.append(f"skipped — {event.message}", style="")
    else:
        line.append(str(event.data.get("summary") or event.message), style="")
    return line
