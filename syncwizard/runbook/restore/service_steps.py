"""Restore steps around the Sync Service: the one start with -Drecover and the watch that
follows it, then the offered plain restart."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from syncwizard.clients.service import RECOVER_ENV
from syncwizard.errors import SyncWizardError
from syncwizard.runbook.backup.snapshot_dump import iso
from syncwizard.runbook.model import Gate, Outputs, SkipStep, StepContext
from syncwizard.runbook.restore.recover_effect import log_size, measure_drift, recover_lines
from syncwizard.runbook.restore.recover_watch import RecoverWatch, watch_until_healthy
from syncwizard.runbook.restore.repository_step import RepositorySteps
from syncwizard.runbook.restore.state import RestoreState
from syncwizard.runbook.restore.step_names import RECOVER

# How long a retried recover step waits for a service an interrupted attempt was starting.
START_GRACE = 30.0

# Words in a start command that store options somewhere that outlives the command.
_PERSISTING = re.compile(
    r"set-environment|systemctl\s+edit|\bsed\b|\btee\b|>>|\.env\b|kubectl\s+(set|patch)|"
    r"docker\s+compose|docker-compose"
)


def persistent_note(start_with_recover: str, start: str | None) -> tuple[bool, str]:
    """Whether the recover option may outlive this start, and what to tell the admin."""
    if _PERSISTING.search(start_with_recover):
        return True, (
            "your start_with_recover command appears to store options beyond this start "
            f"(`{start_with_recover}`): remove -Drecover from that configuration now, or "
            "the next restart recovers again and exposes the password"
        )
    if start and start.strip() == start_with_recover.strip():
        return False, (
            f"-Drecover reached the start command only in ${RECOVER_ENV}; syncwizard wrote it "
            "nowhere. If your start script copies it into a file or a service manager's "
            "environment, remove it there"
        )
    return False, (
        f"-Drecover reached the start command only in ${RECOVER_ENV}; syncwizard wrote it "
        "nowhere. Check that nothing in your start configuration kept it"
    )


class ServiceSteps:
    def __init__(self, state: RestoreState, repository: RepositorySteps) -> None:
        self.state = state
        self.repository = repository
        self.systems = state.systems
        self.settings = state.profile.sync_service

    # --- start with recover ---------------------------------------------------------------

    def plan_recover(self, ctx: StepContext) -> str:
        command = self.settings.start_with_recover or "(no start_with_recover command)"
        return (
            f"run `{command}` with -Drecover=<user>:<password> in ${RECOVER_ENV}, then watch "
            f"until every health check is healthy and a consumer is on the queue (at most "
            f"{self.settings.healthy_timeout:.0f} s)"
        )

    async def _started_and_answering(
        self, ctx: StepContext, *, patient: bool = True
    ) -> dict[str, Any] | None:
        """The record of an earlier attempt's start when this attempt must only watch.

        A start that ran (exit 0) is never repeated by itself: a recover may still be
        running, and a second one on top of it helps nothing. Only the admin's explicit
        choice (`choices.recover_again`: its process is gone) starts it once more. A start
        cut short by a kill (recorded as starting, never as ended) may still be coming up:
        it gets START_GRACE seconds to answer (unless not `patient`: the gate waited), and
        is started again only if it does not."""
        records = ctx.records_of(RECOVER)
        if self.state.choices.recover_again:
            return None
        if "started" in records:
            return dict(records["started"])
        earlier = records.get("starting")
        if not earlier or "start_failed" in records:
            return None
        deadline = time.monotonic() + (START_GRACE if patient else 0.0)
        while True:
            try:
                await self.systems.health_reports()
                return dict(earlier)
            except SyncWizardError:
                if time.monotonic() >= deadline:
                    return None
                await asyncio.sleep(1.0)

    async def recover_gate(self, ctx: StepContext) -> Gate | None:
        if await self._started_and_answering(ctx):
            return None  # started already: this attempt only watches
        user, _ = self.state.choices.require_credentials()
        await self.repository.require_answering()
        command = self.settings.start_with_recover
        return Gate(
            title="Start the Sync Service with -Drecover?",
            consequences="The Sync Service starts and, during bootstrap, brings its database "
            "in line with the restored repository before it serves requests. This can take a "
            "while on a large repository.",
            token="recover",
            facts=(
                ("command", f"`{command}`" if command else "none configured"),
                ("repository admin", user),
                ("password", "given, kept in memory only"),
            ),
        )

    async def start_recover(self, ctx: StepContext) -> Outputs:
        started = await self._started_and_answering(ctx, patient=False)
        command = ""
        secrets: tuple[str, ...] = ()
        if started:
            ctx.log(f"the recover start ran at {started['at_iso']}; watching again")
            exit_code = int(started.get("exit_code", 0))
            command = str(started["command"])
        else:
            user, password = self.state.choices.require_credentials()
            await self.repository.require_answering()
            if self.state.choices.recover_again:
                ctx.record("choice", {"recover_again": True})
            secrets = (password,)
            ctx.progress("measuring the drift between the repository and the Sync DB")
            drift = await measure_drift(self.settings.drift_command)
            ctx.progress("starting the Sync Service with -Drecover")
            now = time.time()
            command = self.settings.start_with_recover or ""
            ctx.record(
                "starting",
                {
                    "at": now,
                    "at_iso": iso(now),
                    "command": command,
                    "drift_before": drift,
                    "log_offset": log_size(self.settings.log),
                },
            )
            result = await self.systems.sync_service.start_with_recover(user, password)
            for line in result.output.splitlines()[-20:]:
                ctx.log(line)
            if not result.ok:
                ctx.record("start_failed", {"exit_code": result.exit_code})
                raise SyncWizardError(
                    result.failure("the start command"),
                    hint="look at its output in the log pane and the Sync Service's log; fix "
                    "it, then run this step again",
                    system="sync_service",
                )
            exit_code, command = result.exit_code, result.command
            now = time.time()
            ctx.record(
                "started", {"at": now, "at_iso": iso(now), "exit_code": 0, "command": command}
            )
            # The password is dropped as soon as it has been used once.
            self.state.choices.recover_password = None
            self.state.choices.recover_again = False
        watch = await self._watch(ctx)
        persists, note = persistent_note(
            self.settings.start_with_recover or "", self.settings.start
        )
        before = ctx.records_of(RECOVER).get("starting", {})
        drift_after = await measure_drift(self.settings.drift_command)
        log_lines = recover_lines(self.settings.log, before.get("log_offset"), secrets)
        return {
            "drift_before": before.get("drift_before"),
            "drift_after": drift_after,
            "log": self.settings.log,
            "log_lines": log_lines,
            "command": command,
            "exit_code": exit_code,
            "healthy_at": watch.at,
            "healthy_at_iso": iso(watch.at),
            "consumers": watch.consumers,
            "health": {name: healthy for name, healthy, _ in watch.checks},
            "option_persists": persists,
            "persistent_note": note,
            "summary": f"healthy at {iso(watch.at)} with {watch.consumers} consumer(s) on the "
            "queue after the -Drecover start"
            + (
                f". Before it, {before['drift_before']}; now {drift_after}"
                if before.get("drift_before") and drift_after
                else ""
            ),
        }

    async def _watch(self, ctx: StepContext) -> RecoverWatch:
        queue = self.state.queue(ctx)

        async def consumers() -> int | None:
            return await self.systems.consumers_on(queue) if queue else None

        return await watch_until_healthy(
            self.systems.health_reports,
            consumers,
            expected_sync_id=self.state.sync_id(ctx),
            timeout=self.settings.healthy_timeout,
            interval=self.settings.watch_interval,
            on_watch=lambda watch: ctx.progress(watch.text, watch),
        )

    # --- the plain restart ----------------------------------------------------------------

    def plan_plain_restart(self, ctx: StepContext) -> str:
        choice = self.state.choices.plain_restart
        if choice is False:
            return "skipped: you chose not to restart"
        return (
            f"run `{self.settings.stop}` then `{self.settings.start}`, and watch it become "
            "healthy again"
        )

    async def plain_restart(self, ctx: StepContext) -> Outputs:
        restart = self.state.choices.require_plain_restart()
        ctx.record("choice", {"restart": restart})
        if not restart:
            raise SkipStep("not restarted: the recover start stands", {"restarted": False})
        results: dict[str, Any] = {}
        for action in ("stop", "start"):
            ctx.progress(f"{action}: {getattr(self.settings, action)}")
            result = await getattr(self.systems.sync_service, action)()
            for line in result.output.splitlines()[-20:]:
                ctx.log(line)
            if not result.ok:
                raise SyncWizardError(
                    result.failure(f"the {action} command"),
                    hint="look at its output in the log pane; the service may need a hand",
                    system="sync_service",
                )
            results[action] = result.exit_code
        watch = await self._watch(ctx)
        return {
            "restarted": True,
            "exit_codes": results,
            "healthy_at": watch.at,
            "healthy_at_iso": iso(watch.at),
            "summary": f"restarted without -Drecover; healthy at {iso(watch.at)}",
        }
