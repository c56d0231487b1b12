"""A loopback STOMP connector opened for the clear only, on a broker shipped without one.

ActiveMQ 5.19.7+ and 6.2.6+ open only OpenWire, and their Jolokia policy denies `purge`:
neither the archive-first clear (STOMP) nor a purge works there as shipped. Of the ways
left, this one keeps the promise with the clear we trust: the admin's `broker.stomp_open`
adds a STOMP connector on 127.0.0.1 to activemq.xml and restarts the broker (the Sync
Service and the repository are stopped by then), the clear consumes over it, each event
acknowledged only once archived, and `broker.stomp_close` takes the connector out again
and restarts the broker. The others stay fallbacks, for reasons said in the README: the
broker's CLI (`activemq browse`) needs the broker password on its command line, and
Jolokia's browse shows only the first 255 bytes of a bytes message's body; clearing in
the web console archives nothing.

A broker restart keeps persistent messages only: before it, the queue's first page is
browsed (Jolokia's browse stays allowed by the hardened policy) and a non-persistent
event refuses the restart; after it, the pending count must be what it was.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from syncwizard.clients.service import run_command
from syncwizard.config import BrokerSettings
from syncwizard.errors import SyncWizardError
from syncwizard.runbook.commands import check_command
from syncwizard.runbook.model import RefusedError, StepContext
from syncwizard.runbook.restore.step_names import CLEAR, ORPHANS

RECORD = "stomp_window"  # the journal's record: opened, closed, the counts around restarts
LOOK_EVERY = 1.0  # seconds between two looks while the broker restarts

Probe = Callable[[], Awaitable[None]]  # a STOMP session opened and closed, as the clear will
Pending = Callable[[], Awaitable[int | None]]  # the queue's pending count, None when unknown
NonPersistent = Callable[[], Awaitable[list[str]]]  # ids of non-persistent events in view


@dataclass
class StompWindow:
    settings: BrokerSettings
    probe: Probe
    pending: Pending
    non_persistent: NonPersistent

    @property
    def configured(self) -> bool:
        return bool(self.settings.stomp_open and self.settings.stomp_close)

    async def is_open(self) -> bool:
        try:
            await self.probe()
        except SyncWizardError:
            return False
        return True

    def describe(self) -> str:
        return (
            f"STOMP is closed on the broker ({self.settings.stomp}): `broker.stomp_open` "
            "opens a loopback STOMP connector for the clear, restarting the broker, and "
            "`broker.stomp_close` closes it after, restarting it again"
        )

    def refusal(self) -> SyncWizardError:
        """The preflight's answer when STOMP is closed and nothing may open it."""
        return SyncWizardError(
            f"the broker has no STOMP connector at {self.settings.stomp} (ActiveMQ 5.19.7+ "
            "and 6.2.6+ ship with only OpenWire), so the clear cannot take the events into "
            "the archive",
            hint="set broker.stomp_open and broker.stomp_close to commands that add and "
            "remove a STOMP connector on 127.0.0.1 in activemq.xml and restart the broker "
            "(see the README's 'A broker without STOMP'); or enable STOMP on the broker; "
            "or, knowingly, give the events up; nothing was stopped",
            system="broker",
        )

    # --- open -----------------------------------------------------------------------------

    async def open(self, ctx: StepContext) -> None:
        """Run broker.stomp_open, then wait until a STOMP session opens, and check that the
        restart kept every pending event."""
        if await self.is_open():
            return
        before = await self.pending()
        lost = await self.non_persistent()
        if lost:
            raise RefusedError(
                f"{len(lost)} pending event(s) on the queue are non-persistent (e.g. "
                f"{lost[0]}): a broker restart would lose them, and STOMP cannot be "
                "opened without one",
                hint="enable STOMP on the broker in a maintenance window of your own, or "
                "give the events up knowingly",
                system="broker",
            )
        self._record(ctx, opening=True, pending_before=before)
        await self._run(ctx, "stomp_open", "the command that opens STOMP (broker.stomp_open)")
        await self._wait(ctx, want_open=True)
        after = await self.pending()
        self._record(ctx, opened=True, pending_after_open=after)
        if before is not None and after is not None and after < before:
            raise RefusedError(
                f"the broker came back with {after:,} pending events; {before:,} were "
                "pending before its restart",
                hint="look at the broker's log: events lost in a restart cannot be "
                "archived; the -Drecover start reconciles what they told",
                system="broker",
            )
        ctx.log(f"STOMP open at {self.settings.stomp}; {after} events pending, as before")

    # --- close ----------------------------------------------------------------------------

    async def close(self, ctx: StepContext) -> None:
        """Run broker.stomp_close, then wait until STOMP is refused again. Called by the
        step after the clear (the orphaned queues' clears use the window too); recorded
        there."""
        opened = ctx.records_of(CLEAR).get(RECORD, {}).get("opening")
        if not self.configured or not opened or ctx.records_of(ORPHANS).get(RECORD):
            return
        await self._run(ctx, "stomp_close", "the command that closes STOMP (broker.stomp_close)")
        await self._wait(ctx, want_open=False)
        ctx.record(RECORD, {"closed": True})
        ctx.log(f"STOMP closed again at {self.settings.stomp}, as the broker shipped")

    # --- the parts ------------------------------------------------------------------------

    def _record(self, ctx: StepContext, **facts: Any) -> None:
        """The window's whole state so far, journaled (a record replaces the one before)."""
        ctx.record(RECORD, {**ctx.records_of(CLEAR).get(RECORD, {}), **facts})

    async def _run(self, ctx: StepContext, key: str, what: str) -> None:
        template = getattr(self.settings, key)
        assert template
        ctx.progress(f"running broker.{key}: {template}")
        result = await run_command(template, system="broker", timeout=self.settings.restart_timeout)
        check_command(
            ctx,
            result,
            what,
            hint="look at its output in the log pane, fix it (or do by hand what it does), "
            "then run this step again",
            system="broker",
        )

    async def _wait(self, ctx: StepContext, *, want_open: bool) -> None:
        deadline = time.monotonic() + self.settings.restart_timeout
        state = "open" if want_open else "closed"
        while True:
            if await self.is_open() == want_open:
                return
            if time.monotonic() >= deadline:
                raise SyncWizardError(
                    f"STOMP at {self.settings.stomp} is not {state} "
                    f"{self.settings.restart_timeout:g} s after broker.stomp_"
                    f"{'open' if want_open else 'close'} succeeded",
                    hint="look at the broker's log; raise broker.restart_timeout if it "
                    "only starts slowly; then run this step again",
                    system="broker",
                )
            ctx.progress(f"waiting for STOMP to be {state} at {self.settings.stomp}")
            await asyncio.sleep(LOOK_EVERY)


def window_facts(opened: Mapping[str, Any], closed: Mapping[str, Any]) -> str:
    """What the journal says the window did (the clear's record, and the next step's),
    for the outputs and the report."""
    if not opened.get("opening"):
        return ""
    how = (
        "closed again"
        if closed.get("closed")
        else "NOT closed again yet: the step after the clear closes it (or run broker.stomp_close)"
    )
    return f"a loopback STOMP connector was opened for the clear, and {how}"
