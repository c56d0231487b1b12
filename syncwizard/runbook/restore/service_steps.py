"""Restore steps around the Sync Service: the one start with -Drecover and the watch that
follows it, then the offered plain restart."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping
from typing import Any

from syncwizard.clients.service import RECOVER_ENV, ServiceProcess
from syncwizard.errors import SyncWizardError
from syncwizard.runbook.backup.snapshot_dump import iso
from syncwizard.runbook.commands import check_command
from syncwizard.runbook.model import Gate, Outputs, RefusedError, SkipStep, StepContext
from syncwizard.runbook.restore.recover_effect import log_size, measure_drift, recover_lines
from syncwizard.runbook.restore.recover_watch import (
    UNHEALTHY_SEEN,
    FailingSeen,
    HealthSample,
    RecoverWatch,
    watch_until_healthy,
)
from syncwizard.runbook.restore.repository_step import RepositorySteps
from syncwizard.runbook.restore.state import RestoreState
from syncwizard.runbook.restore.step_names import PLAIN_RESTART, RECOVER
from syncwizard.runbook.restore.still_running import process_line

# How long a retried recover step waits for a service an interrupted attempt was starting.
START_GRACE = 30.0

# Words in a start command that store options somewhere that outlives the command.
_PERSISTING = re.compile(
    r"set-environment|systemctl\s+edit|\bsed\b|\btee\b|>>|\.env\b|"
    r"kubectl(\s+(-n|--namespace)(\s+|=)\S+)?\s+(set|patch)|"
    r"docker\s+compose|docker-compose"
)


HELD_UNTIL_RESTART = (
    "the running Sync Service holds it in its arguments (seen by `ps` on its host, and by "
    "`docker inspect` or the pod spec where it went through JAVA_OPTS) until it is "
    "restarted without it: the restart without recover does that, and checks it is gone"
)


def persistent_note(start_with_recover: str, start: str | None) -> tuple[bool, str]:
    """Whether the recover option may outlive this start, and what to tell the admin."""
    if _PERSISTING.search(start_with_recover):
        return True, (
            "your start_with_recover command appears to store options beyond this start "
            f"(`{start_with_recover}`): remove -Drecover from that configuration now; the "
            "restart without recover is required, or the next restart recovers again and "
            "exposes the password"
        )
    if start and start.strip() == start_with_recover.strip():
        return False, (
            f"-Drecover reached the start command only in ${RECOVER_ENV}, not in a file of "
            f"syncwizard's; {HELD_UNTIL_RESTART}. If your start script copies it into a file "
            "or a service manager's environment, remove it there"
        )
    return False, (
        f"-Drecover reached the start command only in ${RECOVER_ENV}, not in a file of "
        f"syncwizard's; {HELD_UNTIL_RESTART}. Check that nothing in your start configuration "
        "kept it"
    )


def _awaiting_confirmation(records: Mapping[str, Mapping[str, Any]]) -> bool:
    """A restart the wizard could not check, not confirmed by the admin since."""
    unchecked, confirmed = records.get("unchecked"), records.get("confirmed")
    if not unchecked:
        return False
    return not confirmed or confirmed["at"] < unchecked["at"]


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
        choice (`choices.recover_again`: its process is gone) starts it once more, and only
        once `_refuse_unless_down` finds nothing of it running. A start cut short by a kill
        (recorded as starting, never as ended) may still be coming up: it gets START_GRACE
        seconds to answer (unless not `patient`: the gate waited), and is started again only
        if it neither answers nor has a live process."""
        records = ctx.records_of(RECOVER)
        if self.state.choices.recover_again:
            return None
        if "started" in records:
            return dict(records["started"])
        earlier = records.get("starting")
        if not earlier or "start_failed" in records:
            return None
        deadline = time.monotonic() + (START_GRACE if patient else 0.0)
        node = self.state.profile.health.url  # the node the recover starts
        while True:
            answers = [url for url, _ in await self.systems.health_answers() if url == node]
            if answers or isinstance(self.systems.service_process(), ServiceProcess):
                return dict(earlier)  # coming up, or recovering: watch it, never start again
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(1.0)

    async def _refuse_unless_down(self, ctx: StepContext) -> None:
        """Before a -Drecover start: nothing of the Sync Service may run. A start of a
        running unit does nothing, and the watch would take the running service for a
        recovered one; a recover that may still be running is never started a second time."""
        running = [
            f"the health check at {url} answers ({said})"
            for url, said in await self.systems.health_answers()
        ]
        process = self.systems.service_process()
        if isinstance(process, ServiceProcess):
            running.append(process_line(process))
        queue = self.state.queue(ctx)
        try:
            consumers = await self.systems.consumers_on(queue) if queue else None
        except SyncWizardError as exc:  # the health check and the process still tell
            ctx.log(f"the consumers on {queue} could not be read: {exc.message}")
            consumers = None
        if consumers:
            running.append(f"{consumers} consumer(s) on the sync queue {queue}")
        if not running:
            return
        health = self.state.profile.health
        others = [url for url in health.other_nodes if any(url in line for line in running)]
        cluster = (
            f" Every node must be down: the recover runs on {health.url} alone, and the "
            f"other nodes ({', '.join(others)}) start normally, without -Drecover, once it is "
            "healthy."
            if others
            else ""
        )
        earlier = ctx.records_of(RECOVER).get("started") or ctx.records_of(RECOVER).get("starting")
        if earlier and self.state.choices.recover_again:
            raise RefusedError(
                f"the recover start of {earlier.get('at_iso', 'an earlier attempt')} may still "
                "be running: " + "; ".join(running) + ". It is not started again",
                hint="choose to watch it again; only once its process is gone (its log says "
                "why) can it be started again with -Drecover" + cluster,
                system="sync_service",
            )
        raise RefusedError(
            "the Sync Service is not down: " + "; ".join(running) + ". A start of a running "
            "service does nothing, and the watch would take it for a recovered one",
            hint="stop it (the stop step, or by hand), then run this step again." + cluster,
            system="sync_service",
        )

    async def recover_gate(self, ctx: StepContext) -> Gate | None:
        if await self._started_and_answering(ctx):
            return None  # started already: this attempt only watches
        await self._refuse_unless_down(ctx)
        user, _ = self.state.choices.require_credentials()
        await self.repository.require_answering()
        command = self.settings.start_with_recover
        # Where the deployment keeps the option while it is set, and its caution (a preset
        # writes both; `config init --preset`).
        visible = self.settings.recover_option_visible_in
        caution = self.settings.recover_caution
        return Gate(
            title="Start the Sync Service with -Drecover?",
            consequences="The Sync Service starts and, during bootstrap, brings its database "
            "in line with the restored repository before it serves requests. This can take a "
            "while on a large repository." + (f" {caution}" if caution else ""),
            token="recover",
            facts=(
                ("command", f"`{command}`" if command else "none configured"),
                ("repository admin", user),
                ("password", "given, kept in memory only"),
                *((("readable while set", visible),) if visible else ()),
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
            await self._refuse_unless_down(ctx)  # again: the gate may have waited long
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
            if not result.ok:
                ctx.record("start_failed", {"exit_code": result.exit_code})
            check_command(
                ctx,
                result,
                "the start command",
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
        watch = await self._watch(ctx, self.systems.recover_node_reports)
        persists, note = persistent_note(
            self.settings.start_with_recover or "", self.settings.start
        )
        others = self.state.profile.health.other_nodes
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
            "other_nodes": list(others),
            "summary": f"healthy at {iso(watch.at)} with {watch.consumers} consumer(s) on the "
            "queue after the -Drecover start"
            + (
                f". Before it, {before['drift_before']}; now {drift_after}"
                if before.get("drift_before") and drift_after
                else ""
            )
            + (
                f". Start the other nodes now, normally (without -Drecover): {', '.join(others)}"
                if others
                else ""
            ),
        }

    async def _watch(self, ctx: StepContext, health: HealthSample) -> RecoverWatch:
        # The restored Sync DB holds the set's GUID: the service comes back as that one.
        queue = self.state.recovered_queue(ctx)

        async def consumers() -> int | None:
            return await self.systems.consumers_on(queue) if queue else None

        seen = FailingSeen()

        def on_watch(watch: RecoverWatch) -> None:
            ctx.progress(watch.text, watch)
            if seen.add(watch):
                ctx.record(UNHEALTHY_SEEN, {"checks": dict(seen.checks)})

        return await watch_until_healthy(
            health,
            consumers,
            expected_sync_id=self.state.set_sync_id or self.state.sync_id(ctx),
            timeout=self.settings.healthy_timeout,
            interval=self.settings.watch_interval,
            on_watch=on_watch,
        )

    # --- the plain restart ----------------------------------------------------------------

    def plan_plain_restart(self, ctx: StepContext) -> str:
        choice = self.state.choices.plain_restart
        if choice is False:
            return "skipped: you chose not to restart"
        return (
            f"run `{self.settings.stop}` then `{self.settings.start}`, watch it become "
            "healthy again, and check -Drecover is gone from its process"
        )

    def _persists(self, ctx: StepContext) -> bool:
        recover = ctx.results.get(RECOVER, {})
        if "option_persists" in recover:
            return bool(recover["option_persists"])
        return persistent_note(self.settings.start_with_recover or "", self.settings.start)[0]

    async def plain_restart_gate(self, ctx: StepContext) -> Gate | None:
        """After an attempt that restarted but could not see the process: the admin
        confirms -Drecover is gone from it (this attempt then restarts nothing)."""
        records = ctx.records_of(PLAIN_RESTART)
        if not _awaiting_confirmation(records) or self.state.choices.plain_restart is False:
            return None
        return Gate(
            title="Is -Drecover gone from the running Sync Service's arguments?",
            consequences="The wizard restarted the Sync Service without the option but cannot "
            f"see its process ({records['unchecked'].get('why', '')}). Look at it yourself: "
            "`ps -o args -p <pid>` on its host, `docker inspect <container>` (Env, Args), "
            "`kubectl get pod <pod> -o yaml` (env, ConfigMap). Confirm only when -Drecover is "
            "in none of them.",
            token="gone",
            facts=(("restarted at", str(records["unchecked"].get("at_iso", ""))),),
            undo="Nothing is changed by confirming.",
            destructive=False,
        )

    async def plain_restart(self, ctx: StepContext) -> Outputs:
        restart = self.state.choices.require_plain_restart()
        ctx.record("choice", {"restart": restart})
        if not restart:
            if self._persists(ctx):
                raise RefusedError(
                    "the restart without -Drecover is required: the start configuration "
                    "stores options beyond one start, so the next restart would recover again "
                    "and the password stays readable there",
                    hint="remove -Drecover where your start keeps it, choose 'Restart without "
                    "recover' and run this step again",
                    system="sync_service",
                )
            raise SkipStep(
                "not restarted: the recover start stands, and the running Sync Service keeps "
                "-Drecover in its arguments until its next restart",
                {"restarted": False},
            )
        if _awaiting_confirmation(ctx.records_of(PLAIN_RESTART)):
            # Only reached through the gate above: the admin looked and confirmed.
            ctx.record("confirmed", {"at": time.time()})
            return {
                "restarted": True,
                "option_check": "confirmed by the admin (the wizard cannot see the process)",
                "summary": "restarted without -Drecover earlier; you confirmed -Drecover is "
                "gone from its arguments",
            }
        results: dict[str, Any] = {}
        for action in ("stop", "start"):
            ctx.progress(f"{action}: {getattr(self.settings, action)}")
            result = await getattr(self.systems.sync_service, action)()
            check_command(
                ctx,
                result,
                f"the {action} command",
                hint="look at its output in the log pane; the service may need a hand",
                system="sync_service",
            )
            results[action] = result.exit_code
        watch = await self._watch(ctx, self.systems.health_reports)
        check = self._option_gone(ctx, watch.at)
        return {
            "restarted": True,
            "exit_codes": results,
            "healthy_at": watch.at,
            "healthy_at_iso": iso(watch.at),
            "option_check": check,
            "summary": f"restarted without -Drecover; healthy at {iso(watch.at)}; {check}",
        }

    def _option_gone(self, ctx: StepContext, at: float) -> str:
        """How the wizard knows -Drecover is gone from the running process; RefusedError when
        it is still there, or when the wizard cannot look (the admin confirms, at the gate)."""
        process = self.systems.service_process()
        if isinstance(process, ServiceProcess):
            if process.recover_in:
                raise RefusedError(
                    f"-Drecover is still in {' and '.join(process.recover_in)} of the Sync "
                    f"Service's {process.describe} after the restart without it: the start "
                    "configuration keeps it, so every restart recovers again and the password "
                    "is readable there",
                    hint="remove it where your start keeps options (a unit's Environment= or "
                    "`systemctl set-environment`, the compose file or its .env, the ConfigMap "
                    "or the deployment's env), then run this step again: it restarts once more "
                    "and looks again",
                    system="sync_service",
                )
            return f"-Drecover is gone from its {process.describe}"
        why = (
            "the profile has neither sync_service.pid_file nor sync_service.process_pattern"
            if process is False
            else "no process found by sync_service.pid_file / process_pattern on this host"
        )
        ctx.record("unchecked", {"why": why, "at": at, "at_iso": iso(at)})
        raise RefusedError(
            f"restarted without -Drecover and healthy, but the wizard cannot check the option "
            f"is gone from the running process: {why}",
            hint="look at the process's arguments yourself (`ps -o args -p <pid>`, `docker "
            "inspect`, the pod spec), then run this step again and confirm; or set "
            "sync_service.pid_file or process_pattern so the wizard can look",
            system="sync_service",
        )
