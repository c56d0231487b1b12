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
import signal
import time
from collections.abc import Mapping

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
