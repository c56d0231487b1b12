"""What still runs after the stop commands: a stop command that exits 0 proves nothing (a
unit that is not the one running, a container of another project, a stop that timed out),
so the restore looks at the systems themselves before it touches the queue or a database.

Down means: no consumer on the sync queue, no producer bound to its topic, no configured
health URL answering (every node of a cluster), no client session on the repository's
database other than this wizard's, and, where the profile says how to find it, no Sync
Service process alive. `look` returns one line per thing still running (or that could not
be looked at), each naming it; an empty list is the proof.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from syncwizard.clients.results import Session
from syncwizard.clients.service import ServiceProcess
from syncwizard.errors import SyncWizardError
from syncwizard.runbook.restore.systems import RestoreSystems

LOOK_EVERY = 1.0  # seconds between two looks while waiting for the services to be down


def session_line(session: Session) -> str:
    who = session.application or "no application_name"
    where = session.client or "unknown address"
    return f"{who} from {where} as {session.user} (pid {session.pid})"


def sessions_line(database: str, sessions: list[Session]) -> str:
    shown = "; ".join(session_line(s) for s in sessions[:5])
    more = f"; and {len(sessions) - 5} more" if len(sessions) > 5 else ""
    return f"{len(sessions)} session(s) on the repository database {database!r}: {shown}{more}"


def process_line(process: ServiceProcess) -> str:
    return f"the Sync Service's {process.describe} is alive"


async def look(
    systems: RestoreSystems, queue: str | None, topic: str | None, database: str
) -> list[str]:
    """One line for each thing that still runs, or could not be checked."""
    running: list[str] = []

    async def checked(what: str, probe: Callable[[], Awaitable[list[str]]]) -> None:
        try:
            running.extend(await probe())
        except SyncWizardError as exc:
            running.append(f"{what} could not be checked: {exc.message}")

    async def consumers() -> list[str]:
        count = await systems.consumers_on(queue) if queue else None
        return [f"{count} consumer(s) on the sync queue {queue}"] if count else []

    async def producers() -> list[str]:
        count = await systems.producers_on(topic) if topic else None
        return [f"{count} producer(s) on the topic {topic}"] if count else []

    async def health() -> list[str]:
        return [
            f"the Sync Service health check at {url} answers ({said})"
            for url, said in await systems.health_answers()
        ]

    async def sessions() -> list[str]:
        found = await systems.repository_sessions()
        return [sessions_line(database, found)] if found else []

    async def process() -> list[str]:
        found = systems.service_process()
        return [process_line(found)] if isinstance(found, ServiceProcess) else []

    await checked("the consumers on the sync queue", consumers)
    await checked("the producers on the topic", producers)
    await checked("the health check", health)
    await checked("the sessions on the repository database", sessions)
    await checked("the Sync Service's process", process)
    return running


async def wait_until_down(
    systems: RestoreSystems,
    queue: str | None,
    topic: str | None,
    database: str,
    timeout: float,
    on_look: Callable[[list[str], float], None] = lambda running, left: None,
) -> list[str]:
    """Look until nothing runs or `timeout` seconds passed; what still ran at the last look."""
    deadline = time.monotonic() + timeout
    while True:
        running = await look(systems, queue, topic, database)
        left = deadline - time.monotonic()
        if not running or left <= 0:
            return running
        on_look(running, left)
        await asyncio.sleep(min(LOOK_EVERY, left))
