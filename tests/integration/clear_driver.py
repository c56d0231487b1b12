"""A clear of a queue in a child process, for the kill -9 test (this module holds no tests).

    python clear_driver.py STOMP_URL USER QUEUE ARCHIVE   # password in SYNCWIZARD_TEST_PASSWORD

Consumes until killed, printing the number of events in the archive after each look.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from syncwizard.clients.event_consumer import ClearCounts, consume_into_archive
from syncwizard.clients.stomp_session import StompTarget


async def main(url: str, user: str, queue: str, path: Path) -> None:
    async def never(counts: ClearCounts) -> bool:
        print(counts.archived, flush=True)
        return False

    target = StompTarget(url, user, os.environ["SYNCWIZARD_TEST_PASSWORD"])
    await consume_into_archive(target, queue, path, until=never, check_every=0.05)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4])))
