"""Watching the Sync Service come back after a start: every health check healthy, on every
node, the sync GUID as expected, and a consumer attached to the sync queue.

The loop samples with injected coroutines (so it is tested without a service) and
reports a `RecoverWatch` each time; it ends when two samples in a row are good, or
raises RefusedError with what the health check says and where to look.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from syncwizard.clients.results import HealthReport
from syncwizard.errors import SyncWizardError
from syncwizard.runbook.model import RefusedError

LOG_HINT = (
    "look at the Sync Service's log: the zip install writes it under its install folder "
    "(e.g. /opt/alfresco-sync-service/logs), Docker and Kubernetes keep it as the container's "
    "output (`docker logs <sync container>`, `kubectl logs <pod>`)"
)


@dataclass(frozen=True)
class RecoverWatch:
    """One look at the service while it starts (a PROGRESS detail)."""

    at: float
    checks: tuple[tuple[str, bool | None, str], ...]  # (name, healthy, message), node 1 first
    sync_id: str
    consumers: int | None  # on the sync queue; None when the queue is not there (yet)
    seconds_left: float
    errors: tuple[str, ...] = ()

    @property
    def healthy(self) -> bool:
        return bool(self.checks) and all(healthy for _, healthy, _ in self.checks)

    @property
    def good(self) -> bool:
        return self.healthy and (self.consumers or 0) >= 1 and not self.errors

    @property
    def text(self) -> str:
        if self.errors:
            return f"waiting: {self.errors[0]} ({self.seconds_left:.0f} s left)"
        failing = [name for name, healthy, _ in self.checks if not healthy]
        parts = [
            "every health check healthy"
            if not failing
            else f"not yet healthy: {', '.join(failing)}",
            f"{self.consumers} consumer(s) on the queue"
            if self.consumers is not None
            else "the sync queue is not there yet",
        ]
        return "; ".join(parts) + f" ({self.seconds_left:.0f} s left)"


UNHEALTHY_SEEN = "unhealthy_seen"  # the journal's record of the checks a watch saw failing
# A failing check's message as the journal keeps it (a stack trace stays in the service's log).
SEEN_MESSAGE_LIMIT = 300


class FailingSeen:
    """Every check a watch saw failing, with when it first failed and what it said then:
    the journal keeps them, for a service that was put right before the watch ended was
    still unhealthy once (the report and training's grading read it)."""

    def __init__(self) -> None:
        self.checks: dict[str, dict[str, Any]] = {}

    def add(self, watch: RecoverWatch) -> bool:
        """Whether `watch` showed a check failing that had not failed before."""
        grown = False
        for name, healthy, message in watch.checks:
            if healthy is False and name not in self.checks:
                self.checks[name] = {
                    "at": watch.at,
                    "message": " ".join(message.split())[:SEEN_MESSAGE_LIMIT],
                }
                grown = True
        return grown


HealthSample = Callable[[], Awaitable[list[HealthReport]]]
ConsumerSample = Callable[[], Awaitable[int | None]]


async def watch_until_healthy(
    health: HealthSample,
    consumers: ConsumerSample,
    *,
    expected_sync_id: str,
    timeout: float,
    interval: float = 2.0,
    on_watch: Callable[[RecoverWatch], None] = lambda watch: None,
) -> RecoverWatch:
    """Sample until two looks in a row are good; RefusedError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    good_in_a_row = 0
    last: RecoverWatch | None = None
    while True:
        last = await _look(health, consumers, deadline, expected_sync_id)
        on_watch(last)
        good_in_a_row = good_in_a_row + 1 if last.good else 0
        if good_in_a_row >= 2:
            return last
        if time.monotonic() >= deadline:
            raise _timed_out(last, timeout)
        await asyncio.sleep(min(interval, max(0.0, deadline - time.monotonic())))


async def _look(
    health: HealthSample, consumers: ConsumerSample, deadline: float, expected: str
) -> RecoverWatch:
    errors: list[str] = []
    checks: list[tuple[str, bool | None, str]] = []
    sync_id = ""
    try:
        reports = await health()
        for report in reports:
            checks += [(c.name, c.healthy, c.message) for c in report.checks]
        sync_id = reports[0].sync_id if reports else ""
        if sync_id and expected and sync_id != expected:
            errors.append(f"the service reports sync GUID {sync_id}, the set has {expected}")
    except SyncWizardError as exc:
        errors.append(f"the health check does not answer yet ({exc.message})")
    count: int | None = None
    try:
        count = await consumers()
    except SyncWizardError as exc:
        errors.append(f"the broker did not answer ({exc.message})")
    return RecoverWatch(
        at=time.time(),
        checks=tuple(checks),
        sync_id=sync_id,
        consumers=count,
        seconds_left=max(0.0, deadline - time.monotonic()),
        errors=tuple(errors),
    )


def _timed_out(last: RecoverWatch, timeout: float) -> RefusedError:
    failing = [f"{name}: {message or 'unhealthy'}" for name, ok, message in last.checks if not ok]
    said = (
        "; ".join(failing)
        if failing
        else (last.errors[0] if last.errors else "every check healthy, but no consumer")
    )
    return RefusedError(
        f"the Sync Service did not become healthy with a consumer on its queue within "
        f"{timeout:.0f} s; the last look said: {said}",
        hint=f"{LOG_HINT}; then run this step again: it watches again, without a second start "
        "(a recover may still be running). Only if the Sync Service's process is gone, choose "
        "to start it again with -Drecover",
        system="health",
    )
