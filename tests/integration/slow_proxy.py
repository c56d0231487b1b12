"""A TCP proxy that answers late: each request it forwards waits `delay` seconds first.

Put in front of the lab's Jolokia, it is a broker behind a slow VPN or a busy
broker: the real server answers, only later. It counts the HTTP requests that
went through (each starts with its method line), so a test can count round trips.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from types import TracebackType

REQUEST_LINE = re.compile(rb"(?:^|\r\n)(?:GET|POST|PUT|HEAD|DELETE) /")


class SlowProxy:
    def __init__(self, target_port: int, delay: float, host: str = "127.0.0.1") -> None:
        self.target = (host, target_port)
        self.delay = delay
        self.host = host
        self.port = 0
        self.requests = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/api/jolokia"

    async def __aenter__(self) -> SlowProxy:
        self._server = await asyncio.start_server(self._client, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await task
        await self._server.wait_closed()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            self._tasks.discard(task)
            return
        back = asyncio.ensure_future(self._pipe(upstream_reader, writer, slow=False))
        try:
            await self._pipe(reader, upstream_writer, slow=True)
        finally:
            back.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await back
            for end in (writer, upstream_writer):
                end.close()
            self._tasks.discard(task)

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, slow: bool
    ) -> None:
        while data := await reader.read(65536):
            if slow:
                started = len(REQUEST_LINE.findall(data))
                self.requests += started
                if started:
                    await asyncio.sleep(self.delay)
            writer.write(data)
            await writer.drain()
