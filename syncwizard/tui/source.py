"""Where the dashboard's reports come from: a protocol, and the real poller behind it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from syncwizard.config import Settings
    from syncwizard.status import StatusReport


class StatusSource(Protocol):
    """Anything that polls the systems (StatusPoller, the fake): all at once, or one."""

    async def poll(self) -> StatusReport: ...

    async def poll_system(self, system: str) -> StatusReport:
        """One poll of one system (see `syncwizard.status.SYSTEMS`); the report covers it
        alone, so each panel shows its system as soon as that system answers."""

    def follow_queue(self, queue: str, topic: str | None) -> None:
        """Read this queue from now on, even while the health check does not answer (a
        restore stops the Sync Service, whose GUID names the queue)."""

    async def aclose(self) -> None: ...


SourceFactory = Callable[[], StatusSource]


def poller_factory(settings: Settings) -> SourceFactory:
    """Builds the real `StatusPoller` when called: clients are imported then, not before."""

    def build() -> StatusSource:
        from syncwizard.config import broker_password
        from syncwizard.status import StatusPoller

        profile = settings.profile
        return StatusPoller(profile, broker_password(profile.broker))

    return build
