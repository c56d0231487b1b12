"""The live panels' polling, shared by the dashboard and the wizards: one loop per system.

Like dolphie, each panel is refreshed as its own source answers: the health
check, the broker and each database are polled by their own loop, one poll at
a time (poll, show, wait the interval, again), so a slow or hung system never
holds back the others, and polls of one system never overlap. The loops are
workers of the screen, so they end with it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from syncwizard.status import SYSTEMS, StatusReport

if TYPE_CHECKING:
    from textual.screen import Screen

    from syncwizard.tui.source import StatusSource

SYSTEM_NAMES = {
    "health": "health check",
    "broker": "broker",
    "repository_db": "repository DB",
    "sync_db": "Sync DB",
}


class SystemPolls:
    """Poll each system of `source` in its own loop; `shown(system, report)` after each answer.

    `before(system)` runs before each poll (a restore names the queue to follow),
    `ready()` is awaited before each poll (the dashboard waits while covered), and
    `failed(error)` is told of an unexpected failure (a bug), after which the loop
    goes on. `running` says since when each system's poll has been out.
    """

    def __init__(
        self,
        screen: Screen[Any],  # any screen: its workers run the loops, its result is not used
        source: StatusSource,
        *,
        interval: float,
        clock: Callable[[], float],
        shown: Callable[[str, StatusReport], None],
        failed: Callable[[Exception], None],
        before: Callable[[str], None] | None = None,
        ready: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.screen = screen
        self.source = source
        self.interval = interval
        self.clock = clock
        self.shown = shown
        self.failed = failed
        self.before = before
        self.ready = ready
        self.running: dict[str, float] = {}  # system -> clock() when its poll went out
        self.stopped = False

    def start(self) -> None:
        for system in SYSTEMS:
            self.screen.run_worker(
                self._loop(system),
                name=f"{SYSTEM_NAMES[system]} poll",
                group=f"poll-{system}",
                exclusive=True,
                exit_on_error=False,
            )

    def stop(self) -> None:
        self.stopped = True
        for system in SYSTEMS:
            self.screen.workers.cancel_group(self.screen, f"poll-{system}")

    def slowest(self, now: float) -> tuple[str, float] | None:
        """The system whose poll has been out longest, and for how long; None if none is."""
        if not self.running:
            return None
        system, since = min(self.running.items(), key=lambda item: item[1])
        return system, now - since

    async def _loop(self, system: str) -> None:
        while not self.stopped:
            if self.ready is not None:
                await self.ready()
                if self.stopped:
                    return
            if self.before is not None:
                self.before(system)
            self.running[system] = self.clock()
            try:
                report = await self.source.poll_system(system)
            except Exception as error:  # a bug: expected failures are in the report
                self.failed(error)
            else:
                if not self.stopped:
                    self.shown(system, report)
            finally:
                self.running.pop(system, None)
            await asyncio.sleep(self.interval)
