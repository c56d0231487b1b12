"""Faults injected at a step of the trainee's run, and the lab actions they use.

One watcher serves two ways of seeing the run, because the trainee drives the real wizard
in its own process and nothing of ours runs inside it: `train run` reads the run's journal
as it grows (each state change is fsynced there before the step goes on, so the fault lands
while the step runs), and tests hand the same watcher to the engine as an Observer. Both
see the same (step, state) transitions, so a test plays the fault exactly as a trainee
meets it.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterable, Mapping
from typing import Any

from syncwizard.lab import process, standin
from syncwizard.lab.layout import LabLayout
from syncwizard.runbook.model import EventKind, StepEvent, StepState
from syncwizard.train.model import Fault


class FaultWatcher:
    """Fires each fault once, when its step reaches its state."""

    def __init__(self, layout: LabLayout, faults: Iterable[Fault]) -> None:
        self.layout = layout
        self.pending = list(faults)
        self.fired: list[str] = []

    def __call__(self, event: StepEvent) -> None:
        if event.kind == EventKind.STATE and event.step_id and event.state:
            self._reached(event.step_id, event.state)

    def feed(self, entry: Mapping[str, Any]) -> None:
        """One journal line (a dict as the journal holds it)."""
        if entry.get("kind") == EventKind.STATE and entry.get("step") and entry.get("state"):
            self._reached(str(entry["step"]), StepState(entry["state"]))

    def _reached(self, step: str, state: StepState) -> None:
        for fault in list(self.pending):
            if fault.step == step and fault.state == state:
                self.pending.remove(fault)
                fault.inject(self.layout)
                self.fired.append(fault.what)


def pause_standin(layout: LabLayout) -> None:
    """SIGSTOP the Sync Service stand-in: its consumer stays subscribed, consumes nothing and
    its health check stops answering, as a hung JVM does. `lab reset` wakes it."""
    pid = process.running_pid(layout, standin.PART)
    if pid is not None:
        os.kill(pid, signal.SIGSTOP)


def resume_standin(layout: LabLayout) -> None:
    pid = process.running_pid(layout, standin.PART)
    if pid is not None:
        os.kill(pid, signal.SIGCONT)
