"""CPU per dashboard poll tick against the practice lab, and HTTP round trips per tick.

One tick = `StatusPoller.poll()`: the health check(s), every broker number,
both databases. The CPU is this process's own (`time.process_time`), the
median over the ticks after a warm-up; budget <= 5 ms per tick and one HTTP
round trip to Jolokia for all broker numbers.
Run after `syncwizard lab up`: .venv/bin/python bench/poll_tick.py [--ticks 200]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections import Counter
from urllib.parse import urlsplit

import httpx

from syncwizard.config import broker_password, load_settings
from syncwizard.status import StatusPoller


def count_requests() -> Counter[str]:
    """Count requests per host:port by wrapping httpx's send."""
    counts: Counter[str] = Counter()
    original = httpx.AsyncClient.send

    async def send(
        self: httpx.AsyncClient, request: httpx.Request, **kwargs: object
    ) -> httpx.Response:
        counts[f"{request.url.host}:{request.url.port}"] += 1
        return await original(self, request, **kwargs)  # type: ignore[arg-type]

    httpx.AsyncClient.send = send  # type: ignore[method-assign]
    return counts


async def run(ticks: int, profile: str) -> None:
    settings = load_settings(None, profile)
    counts = count_requests()
    poller = StatusPoller(settings.profile, broker_password(settings.profile.broker))
    jolokia = urlsplit(settings.profile.broker.jolokia_url)
    jolokia_key = f"{jolokia.hostname}:{jolokia.port}"
    try:
        for _ in range(5):  # warm-up: connections, queue discovery
            report = await poller.poll()
        if report.errors:
            for error in report.errors:
                print(f"error from {error.system}: {error.message}")
            raise SystemExit("the lab is not healthy: run `syncwizard lab up` first")
        counts.clear()
        cpu, wall = [], []
        for _ in range(ticks):
            c0, w0 = time.process_time(), time.perf_counter()
            await poller.poll()
            cpu.append((time.process_time() - c0) * 1000)
            wall.append((time.perf_counter() - w0) * 1000)
    finally:
        await poller.aclose()
    print(f"{ticks} ticks against profile {profile!r}")
    print(
        f"CPU per tick ms: median {statistics.median(cpu):.2f}  "
        f"p90 {statistics.quantiles(cpu, n=10)[-1]:.2f}  (budget <= 5 ms)"
    )
    print(f"wall per tick ms: median {statistics.median(wall):.2f}")
    print(f"Jolokia HTTP requests per tick: {counts[jolokia_key] / ticks:.2f}  (budget 1)")
    others = {k: v / ticks for k, v in counts.items() if k != jolokia_key}
    print(f"other HTTP requests per tick: {others}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=200)
    parser.add_argument("--profile", default="lab")
    args = parser.parse_args()
    asyncio.run(run(args.ticks, args.profile))


if __name__ == "__main__":
    main()
