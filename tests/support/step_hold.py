"""A test's hold on a run over fake systems: which step runs and how many progress reports
it made; the fake systems call `checkpoint()` where a system is asked something, and the
step holds there after its Nth report (`hold_at`) until `release()`, or fails there with
the error the test gave (`fail`) once it made `fail_at` reports."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping

from syncwizard.errors import SyncWizardError
from syncwizard.runbook.model import EventKind, StepEvent, StepState


class StepHold:
    def __init__(
        self,
        hold_at: Mapping[str, int | Iterable[int]] | None,
        fail: Mapping[str, SyncWizardError] | None,
        *,
        fail_at: int,
    ) -> None:
        self.hold_at: dict[str, set[int]] = {
            step: {points} if isinstance(points, int) else set(points)
            for step, points in (hold_at or {}).items()
        }
        self.fail = dict(fail or {})
        self.fail_at = fail_at
        self.calls: list[str] = []  # the steps started, in order (a retry again)
        self.holding: str | None = None  # the step held now
        self.step: str | None = None  # the step running now
        self._reports = 0  # progress reports of that step so far
        self._held: set[tuple[str, int]] = set()
        self._release = asyncio.Event()

    def release(self) -> None:
        """Let the holding step go on."""
        self._release.set()

    def observe(self, event: StepEvent) -> None:
        """An engine observer: which step runs, and how many reports it made."""
        if event.kind == EventKind.STATE and event.state == StepState.RUNNING and event.step_id:
            self.step, self._reports = event.step_id, 0
            self.calls.append(event.step_id)
        elif event.kind == EventKind.PROGRESS and event.step_id == self.step:
            self._reports += 1

    async def checkpoint(self) -> None:
        """Where a system is asked something: hold the step, or fail it, as the test said."""
        step, reports = self.step, self._reports
        if step is None:
            return
        if reports in self.hold_at.get(step, ()) and (step, reports) not in self._held:
            self._held.add((step, reports))
            self.holding = step
            self._release.clear()
            try:
                await self._release.wait()
            finally:
                self.holding = None
        if step in self.fail and reports >= self.fail_at:
            raise self.fail[step]
