"""Stop and start the Sync Service (or the repository) with the admin's own command templates.

A template is a shell command line from the profile (`systemctl stop
alfresco-sync`, a docker command, a script). The recover option reaches the
child only through the environment variable `SYNCWIZARD_RECOVER_OPTION`, never
through a command line, and it is masked in everything returned for display (by the
one masking policy, syncwizard/masking.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from syncwizard.clients.results import CommandResult
from syncwizard.errors import SyncWizardError
from syncwizard.masking import mask_text

RECOVER_ENV = "SYNCWIZARD_RECOVER_OPTION"
OUTPUT_LIMIT = 64 * 1024  # keep the last 64 KiB of a chatty start script


def recover_option(user: str, password: str) -> str:
    """The JVM option the Sync Service reads at start-up: `-Drecover=<user>:<password>`."""
    if not user or ":" in user:
        raise SyncWizardError(
            f"the repository admin user {user!r} cannot be used for -Drecover",
            hint="give the user name without a colon (the option is user:password)",
            system="service",
        )
    if not password:
        raise SyncWizardError(
            "the repository admin password is empty",
            hint="type the password of the repository admin user",
            system="service",
        )
    return f"-Drecover={user}:{password}"


async def run_command(
    template: str,
    *,
    system: str = "service",
    timeout: float = 120.0,
    extra_env: Mapping[str, str] | None = None,
    secrets: tuple[str, ...] = (),
) -> CommandResult:
    """Run `template` through the shell, with a timeout, capturing its output.

    `extra_env` is added to the child's environment only; every value in
    `secrets` is masked in the returned output and command. A timeout kills
    the whole process group and is an error, as is a command that cannot start.
    """
    env = {**os.environ, **(extra_env or {})}
    started = time.monotonic()
    try:
        proc = await asyncio.create_subprocess_shell(
            template,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    except OSError as exc:
        raise SyncWizardError(
            f"could not run the {system} command {template!r}: {exc.strerror}",
            hint=f"check the {system} command in the profile",
            system=system,
        ) from None
    try:
        raw, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except (TimeoutError, asyncio.CancelledError) as exc:
        _kill_group(proc.pid)
        await proc.wait()
        if isinstance(exc, asyncio.CancelledError):
            raise
        raise SyncWizardError(
            f"the {system} command {mask_text(template, secrets)!r} "
            f"did not finish within {timeout:.0f} s and was stopped",
            hint=f"run it by hand to see what it waits for, or raise {system}.timeout",
            system=system,
        ) from None
    output = raw[-OUTPUT_LIMIT:].decode(errors="replace")
    return CommandResult(
        command=mask_text(template, secrets),
        exit_code=proc.returncode if proc.returncode is not None else -1,
        output=mask_text(output, secrets),
        seconds=time.monotonic() - started,
    )


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


class ServiceControl:
    """The stop / start / start_with_recover templates of one service of a profile."""

    def __init__(
        self,
        name: str,
        *,
        stop: str | None,
        start: str | None,
        start_with_recover: str | None = None,
        timeout: float = 120.0,
    ) -> None:
        self.name = name
        self.templates = {"stop": stop, "start": start, "start_with_recover": start_with_recover}
        self.timeout = timeout

    def _template(self, action: str) -> str:
        template = self.templates[action]
        if not template:
            raise SyncWizardError(
                f"no {self.name}.{action} command in the profile",
                hint=f'add `{action} = "..."` under [profiles.<name>.{self.name}], '
                "or do this step by hand",
                system=self.name,
            )
        return template

    async def stop(self) -> CommandResult:
        return await run_command(self._template("stop"), system=self.name, timeout=self.timeout)

    async def start(self) -> CommandResult:
        return await run_command(self._template("start"), system=self.name, timeout=self.timeout)

    async def start_with_recover(self, user: str, password: str) -> CommandResult:
        """Start once with `-Drecover=<user>:<password>` in `$SYNCWIZARD_RECOVER_OPTION`."""
        option = recover_option(user, password)
        return await run_command(
            self._template("start_with_recover"),
            system=self.name,
            timeout=self.timeout,
            extra_env={RECOVER_ENV: option},
            secrets=(option, password),
        )


# --- the service's local process ----------------------------------------------------------

RECOVER_MARK = "-Drecover="


@dataclass(frozen=True)
class ServiceProcess:
    """The Sync Service's local process, and where -Drecover still shows in it."""

    pid: int
    found_by: str  # "pid file /path" or "pattern 'regex'"
    recover_in: tuple[str, ...]  # "its command line", "its environment (JAVA_OPTS)"

    @property
    def describe(self) -> str:
        return f"process {self.pid} (found by its {self.found_by})"


def _proc_strings(pid: int, what: str) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/{what}").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _recover_in(pid: int) -> tuple[str, ...]:
    """Where `-Drecover=` shows in the process: its arguments (a JVM's JAVA_OPTS expanded
    by its start script), or its environment (JAVA_OPTS or our variable, which a container
    or a unit kept)."""
    found = []
    if any(RECOVER_MARK in arg for arg in _proc_strings(pid, "cmdline") or ()):
        found.append("its command line")
    names = [
        entry.split("=", 1)[0]
        for entry in _proc_strings(pid, "environ") or ()
        if RECOVER_MARK in entry.split("=", 1)[-1]
    ]
    if names:
        found.append(f"its environment ({', '.join(sorted(names))})")
    return tuple(found)


def _pid_from_file(pid_file: str) -> int | None:
    try:
        text = Path(pid_file).expanduser().read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SyncWizardError(
            f"cannot read the Sync Service's pid file {pid_file}: {exc.strerror}",
            hint="check sync_service.pid_file, and that this user may read it",
            system="sync_service",
        ) from None
    return int(text) if text.isdigit() else None


def _pids_matching(pattern: str) -> list[int]:
    try:
        wanted = re.compile(pattern)
    except re.error as exc:
        raise SyncWizardError(
            f"sync_service.process_pattern {pattern!r} is not a regular expression: {exc}",
            hint="give a Python regular expression matched against each command line",
            system="config",
        ) from None
    me = os.getpid()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        args = _proc_strings(int(entry.name), "cmdline")
        if args and wanted.search(" ".join(args)) and _alive(int(entry.name)):
            found.append(int(entry.name))
    return sorted(found)


def find_service_process(
    pid_file: str | None, pattern: str | None
) -> ServiceProcess | Literal[False] | None:
    """The service's live local process; None when it is not running; False when the
    profile gives no way to find it (neither `pid_file` nor `process_pattern`)."""
    if pid_file:
        pid = _pid_from_file(pid_file)
        if pid is not None and _alive(pid):
            return ServiceProcess(pid, f"pid file {pid_file}", _recover_in(pid))
        if not pattern:
            return None
    if pattern:
        pids = _pids_matching(pattern)
        if not pids:
            return None
        return ServiceProcess(pids[0], f"pattern {pattern!r}", _recover_in(pids[0]))
    return False
