"""`broker.tunnel`: the command that makes a loopback-only Jolokia reachable (e.g.
`kubectl -n NS port-forward svc/acs-activemq 8161:8161`, `ssh -N -L 8161:localhost:8161
host`), started before the wizard first talks to Jolokia and stopped with its client.

The command runs without a shell (quoted as in a shell: no pipes, no variables), in a
process group of its own, so stopping it takes its children with it. It is ready once
the local port of `broker.jolokia_url` accepts connections (within `broker.tunnel_timeout`).
It is watched on every use: a tunnel that died is restarted once, and said so; a second
death is an error naming the command and its last stderr lines. One tunnel per command and
address serves every client of the process (the dashboard's poller and a runbook's
systems at once), and stops when the last of them closes; one still running when the
interpreter exits is stopped then.

No secret is ever on its command line: a command holding the broker password is refused,
and the child gets neither the broker password's variable nor the recover option.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import contextlib
import logging
import os
import shlex
import signal
import time
from typing import Any
from urllib.parse import urlsplit

from syncwizard.clients.jolokia import JolokiaClient
from syncwizard.clients.lifeline import tied
from syncwizard.errors import SyncWizardError
from syncwizard.masking import mask_text

log = logging.getLogger(__name__)

RESTARTS = 1  # a tunnel that dies is started again once; the next death is an error
TAIL = 8  # stderr lines kept to say why it died
STOP_GRACE = 3.0  # seconds between SIGTERM and SIGKILL of its process group
LOOK = 0.1  # seconds between two connection attempts while waiting for the port
# Variables the tunnel never needs and must not see.
WITHHELD = ("SYNCWIZARD_RECOVER_OPTION",)

_shared: dict[tuple[int, str, str, int], Tunnel] = {}


def local_address(url: str) -> tuple[str, int]:
    """The host and port a tunnel must open: those of `broker.jolokia_url`."""
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    return parts.hostname or "127.0.0.1", parts.port or default


class Tunnel:
    """One running tunnel command; `ready()` before each use, `release()` by each user."""

    def __init__(
        self,
        command: str,
        address: tuple[str, int],
        *,
        timeout: float,
        withheld: tuple[str, ...] = (),
        secrets: tuple[str, ...] = (),
    ) -> None:
        try:
            self.argv = shlex.split(command)
        except ValueError as exc:
            raise _config_error(f"broker.tunnel cannot be read as a command: {exc}") from exc
        if not self.argv:
            raise _config_error("broker.tunnel is empty")
        if any(secret and secret in command for secret in secrets):
            raise SyncWizardError(
                "broker.tunnel holds the broker password: every local user could read it in "
                "the process list",
                hint="let the tunnel authenticate on its own (an ssh key or agent, a "
                "kubeconfig), then remove the password from broker.tunnel",
                system="config",
            )
        self.command = command
        self.address = address
        self.timeout = timeout
        self.withheld = (*WITHHELD, *withheld)
        self.secrets = tuple(s for s in secrets if s)
        self.deaths = 0  # how many times it died under the wizard
        self.users = 0
        self._process: asyncio.subprocess.Process | None = None
        self._tail: collections.deque[str] = collections.deque(maxlen=TAIL)
        self._reader: asyncio.Task[None] | None = None
        self._failed: SyncWizardError | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def shared(
        cls,
        command: str,
        url: str,
        *,
        timeout: float,
        withheld: tuple[str, ...] = (),
        secrets: tuple[str, ...] = (),
    ) -> Tunnel:
        """The process's tunnel for `command` to `url`'s port (made now if there is none),
        counted as used once more: call `release()` when done with it."""
        address = local_address(url)
        key = (id(asyncio.get_running_loop()), command, *address)
        tunnel = _shared.get(key)
        if tunnel is None:
            tunnel = _shared[key] = cls(
                command, address, timeout=timeout, withheld=withheld, secrets=secrets
            )
        tunnel.users += 1
        return tunnel

    @property
    def pid(self) -> int | None:
        """The running command's pid (its process group's id); None when it is not running."""
        process = self._process
        return process.pid if process is not None and process.returncode is None else None

    @property
    def where(self) -> str:
        return f"{self.address[0]}:{self.address[1]}"

    # --- use ------------------------------------------------------------------------------

    async def ready(self) -> None:
        """Start the tunnel, or start it again once if it died; return once its port accepts
        connections. Raises SyncWizardError saying why it cannot be used."""
        async with self._lock:
            if self._failed is not None:
                raise self._failed
            process = self._process
            if process is not None and process.returncode is None:
                return
            if process is not None:  # it died under us
                self.deaths += 1
                _signal_group(process.pid, signal.SIGKILL)  # children it left behind
                await self._drained()
                died = self._death(process.returncode)
                if self.deaths > RESTARTS:
                    self._failed = SyncWizardError(
                        f"{died}, again after its restart",
                        hint="run the command by hand to see why it ends (a pod restarted, an "
                        "ssh connection dropped, a kubeconfig that expired), then run the "
                        "step again",
                        system="broker",
                    )
                    raise self._failed
                log.warning("%s: starting it again", died)
            await self._start()

    def died_under_use(self) -> bool:
        """The tunnel process has ended while the wizard used it."""
        return self._process is not None and self._process.returncode is not None

    async def release(self) -> None:
        """One user fewer; the last one stops the tunnel."""
        self.users -= 1
        if self.users > 0:
            return
        for key, tunnel in list(_shared.items()):
            if tunnel is self:
                del _shared[key]
        await self.stop()

    # --- the process ----------------------------------------------------------------------

    async def _start(self) -> None:
        self._tail.clear()
        env = {k: v for k, v in os.environ.items() if k not in self.withheld}
        try:
            process = await asyncio.create_subprocess_exec(
                *tied(self.argv),  # dies with the wizard, even a killed one
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                start_new_session=True,  # its own process group: stopped with its children
            )
        except OSError as exc:
            raise SyncWizardError(
                f"the broker tunnel `{self._shown()}` could not be started: {exc.strerror}",
                hint=f"check that {self.argv[0]!r} is installed and on the PATH of syncwizard, "
                "or give its full path in broker.tunnel",
                system="broker",
            ) from exc
        self._process = process
        atexit.register(self._kill_now)
        assert process.stderr is not None
        self._reader = asyncio.ensure_future(self._read(process.stderr))
        try:
            await self._until_open(process)
        except BaseException:
            await self.stop()
            raise

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            text = mask_text(line.decode(errors="replace").rstrip(), self.secrets)
            if text:
                self._tail.append(text)
                log.debug("broker tunnel: %s", text)

    async def _until_open(self, process: asyncio.subprocess.Process) -> None:
        deadline = time.monotonic() + self.timeout
        while True:
            if process.returncode is not None:
                await self._drained()
                raise SyncWizardError(
                    f"{self._death(process.returncode)} before {self.where} accepted connections",
                    hint="run the command by hand to see why; fix broker.tunnel (its local "
                    f"port must be {self.address[1]}, broker.jolokia_url's)",
                    system="broker",
                )
            if await _accepts(self.address):
                return
            if time.monotonic() >= deadline:
                said = self._said()
                raise SyncWizardError(
                    f"the broker tunnel `{self._shown()}` runs, but {self.where} did not "
                    f"accept connections within {self.timeout:g} s" + (f": {said}" if said else ""),
                    hint=f"its local port must be {self.address[1]} (broker.jolokia_url's); if "
                    "it only takes long to connect, raise broker.tunnel_timeout",
                    system="broker",
                )
            await asyncio.sleep(LOOK)

    async def _drained(self) -> None:
        """Let the reader take what the dead process still had to say."""
        if self._reader is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._reader), 1.0)

    def _death(self, code: int | None) -> str:
        said = self._said()
        if code is not None and code < 0:
            how = f"was killed by signal {-code}"
        else:
            how = f"exited with status {code}"
        return f"the broker tunnel `{self._shown()}` {how}" + (f": {said}" if said else "")

    def _said(self) -> str:
        return " | ".join(self._tail)

    def _shown(self) -> str:
        return mask_text(self.command, self.secrets)

    async def stop(self) -> None:
        """End the tunnel's process group: SIGTERM, then SIGKILL after STOP_GRACE."""
        process, self._process = self._process, None
        atexit.unregister(self._kill_now)
        if process is None:
            return
        if process.returncode is None:
            _signal_group(process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), STOP_GRACE)
            except TimeoutError:
                _signal_group(process.pid, signal.SIGKILL)
                await process.wait()
        # Children that outlived their leader (its group id is the leader's pid).
        _signal_group(process.pid, signal.SIGKILL)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
            self._reader = None

    def _kill_now(self) -> None:
        """At interpreter exit, a tunnel nobody stopped is killed with its group."""
        if self._process is not None and self._process.returncode is None:
            _signal_group(self._process.pid, signal.SIGKILL)


async def _accepts(address: tuple[str, int]) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(*address), 1.0)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _config_error(message: str) -> SyncWizardError:
    return SyncWizardError(
        message,
        hint="write it as on a shell's command line, e.g. `kubectl -n NS port-forward "
        "svc/acs-activemq 8161:8161` or `ssh -N -L 8161:localhost:8161 host`",
        system="config",
    )


class TunnelledJolokia(JolokiaClient):
    """A Jolokia client that reaches its endpoint through `broker.tunnel`: the tunnel is
    started (or started again once) before each request and stopped when it closes."""

    def __init__(
        self,
        url: str,
        user: str,
        password: str,
        *,
        tunnel: str,
        tunnel_timeout: float,
        withheld: tuple[str, ...] = (),
        **options: Any,
    ) -> None:
        super().__init__(url, user, password, **options)
        self._tunnel_command = tunnel
        self._tunnel_timeout = tunnel_timeout
        self._withheld = withheld
        self._secrets = (password,) if password else ()
        self.tunnel: Tunnel | None = None

    async def _post(self, body: bytes) -> Any:
        if self.tunnel is None:
            self.tunnel = Tunnel.shared(
                self._tunnel_command,
                self.url,
                timeout=self._tunnel_timeout,
                withheld=self._withheld,
                secrets=self._secrets,
            )
        tunnel = self.tunnel
        await tunnel.ready()
        try:
            return await super()._post(body)
        except SyncWizardError as exc:
            if not tunnel.died_under_use():
                raise
            # Not sent again by itself: it may have changed the broker before the tunnel
            # went. Started again (or refused) now, so the next request finds it running.
            await tunnel.ready()
            raise SyncWizardError(
                f"the broker tunnel ended during a request ({exc.message}); it was started again",
                hint="run the step again (a poll is simply repeated)",
                system="broker",
            ) from exc

    async def aclose(self) -> None:
        try:
            await super().aclose()
        finally:
            tunnel, self.tunnel = self.tunnel, None
            if tunnel is not None:
                await tunnel.release()
