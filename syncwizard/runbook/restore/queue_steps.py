"""Restore steps before the clear: stop the services, then make sure nothing still arrives.
The clear itself is clear.py."""

from __future__ import annotations

import time
from typing import Any

from syncwizard import systems
from syncwizard.clients.service import ServiceControl
from syncwizard.runbook.commands import check_command
from syncwizard.runbook.model import Gate, Outputs, RefusedError, SkipStep, StepContext
from syncwizard.runbook.restore.state import RestoreState
from syncwizard.runbook.restore.still_running import wait_until_down

QUIET_WAIT = 300.0  # how long "wait" watches for the repository to stop
PREFETCH_NOTE = (
    "a live Sync consumer works through up to 3000 prefetched events the archive never sees"
)


class QueueSteps:
    def __init__(self, state: RestoreState) -> None:
        self.state = state
        self.systems = state.systems

    # --- stop the services ----------------------------------------------------------------

    def _services(self) -> list[tuple[str, ServiceControl, str | None]]:
        profile = self.state.profile
        return [
            ("Sync Service", self.systems.sync_service, profile.sync_service.stop),
            ("repository", self.systems.repository, profile.repository.stop),
        ]

    def plan_stop(self, ctx: StepContext) -> str:
        parts = [
            f"run `{command}`" if command else f"no {label} stop command: stop it by hand"
            for label, _, command in self._services()
        ]
        return "; ".join(parts) + (
            ", then check they are down: no consumer on the queue, no producer on the topic, "
            "no health URL answering, no session on the repository database"
        )

    async def stop_gate(self, ctx: StepContext) -> Gate:
        facts = tuple(
            (label, f"`{command}`" if command else "no command configured: stop it by hand first")
            for label, _, command in self._services()
        )
        return Gate(
            title="Stop the Sync Service and the repository?",
            consequences="Both stay down while the queue and the databases are replaced: users "
            "can neither work nor sync. The restore starts the repository again once both "
            "databases are in place, then the Sync Service with -Drecover.",
            token="stop",
            facts=facts,
            undo="Starting them again undoes this.",
        )

    async def stop_services(self, ctx: StepContext) -> Outputs:
        stopped: list[dict[str, Any]] = []
        by_hand: list[str] = []
        for label, control, command in self._services():
            if not command:
                by_hand.append(label)
                continue
            ctx.progress(f"stopping the {label}: {command}")
            result = await control.stop()
            check_command(
                ctx,
                result,
                f"the {label} stop command",
                hint="look at its output in the log pane; stop it by hand, then run this "
                "step again",
                system=control.name,
            )
            stopped.append({"what": label, "command": result.command, "exit_code": 0})
        queue = self.state.queue(ctx)
        topic = self.state.topic(ctx)
        database = self._repository_database()
        timeout = self.state.profile.sync_service.down_timeout
        ctx.progress("checking that the services are down")
        running = await wait_until_down(
            self.systems,
            queue,
            topic,
            database,
            timeout,
            lambda still, left: ctx.progress(
                f"waiting for the services to be down ({left:.0f} s left): {still[0]}"
            ),
        )
        if running:
            for line in running:
                ctx.log(f"still running: {line}")
            ctx.record("still_running", {"running": running})
            by_hand_note = (
                f" (no stop command for: {', '.join(by_hand)}: stop it by hand)" if by_hand else ""
            )
            raise RefusedError(
                f"the services are not down {timeout:.0f} s after the stop"
                f"{by_hand_note}; still running: " + "; ".join(running),
                hint="a stop command that exits 0 may have stopped another unit or container "
                "than the one running (check `systemctl status`, `docker ps`, `kubectl get "
                "pods`), or a node or client the profile does not stop is still there: stop "
                "what is named, then run this step again. Nothing was cleared or restored",
                system="sync_service",
            )
        nodes = len(self.state.profile.health.urls)
        proof = [
            f"no consumer on {queue}" if queue else "no sync queue",
            f"no producer on {topic}" if topic else "no topic named",
            f"all {nodes} health URLs silent" if nodes > 1 else "the health URL silent",
            f"no session on {database!r}",
        ]
        summary = ", ".join(f"stopped the {s['what']}" for s in stopped) or "nothing stopped"
        if by_hand:
            summary += f" (stopped by hand: {', '.join(by_hand)})"
        summary += "; down: " + ", ".join(proof)
        return {
            "stopped": stopped,
            "by_hand": by_hand,
            "consumers_after": 0,
            "down": proof,
            "summary": summary,
        }

    def _repository_database(self) -> str:
        return systems.database_name(self.state.profile, "repository_db")

    # --- nothing still arriving ----------------------------------------------------------

    def plan_quiet(self, ctx: StepContext) -> str:
        window = self.state.profile.repository.quiet_window
        what = self._watched(ctx)
        return (
            f"watch the enqueue counters of {what} for {window:g} s: nothing may arrive; if "
            "events still arrive, you choose: stop the repository, wait, or go on knowingly"
        )

    def _watched(self, ctx: StepContext) -> str:
        queue, topic = self.state.queue(ctx) or "the sync queue", self.state.topic(ctx)
        return f"{queue} and topic {topic}" if topic else queue

    async def _arrived(self, ctx: StepContext, window: float) -> int:
        queue, topic = self.state.queue(ctx), self.state.topic(ctx)
        return await self.systems.arrivals(
            queue,
            topic,
            window,
            lambda count: ctx.progress(
                f"watching for events that still arrive: {count:,} in the last {window:g} s"
            ),
        )

    async def check_quiet(self, ctx: StepContext) -> Outputs:
        queue = self.state.queue(ctx)
        if not self.state.found(ctx).get("queue_exists") or not await self.systems.queue_exists(
            queue
        ):
            raise SkipStep(
                f"the queue {queue} is not on the broker: there is nothing to clear",
                {"quiet": None},
            )
        window = self.state.profile.repository.quiet_window
        arrived = await self._arrived(ctx, window)
        if not arrived:
            return {
                "quiet": True,
                "window": window,
                "summary": f"nothing arrived in {window:g} s: the repository is quiet",
            }
        rate = arrived / window
        choice = self.state.choices.while_producing
        if choice is None:
            raise RefusedError(
                f"the repository is still producing: {arrived:,} events arrived at "
                f"{self._watched(ctx)} in {window:g} s ({rate:.1f}/s)",
                hint="choose: stop the repository (runs repository.stop), wait until it has "
                "stopped, or go on knowingly (the clear then keeps consuming into the archive "
                "until you end it); then run this step again",
                system="repository",
            )
        ctx.record("choice", {"while_producing": choice})
        if choice == "go_on":
            return {
                "quiet": False,
                "producing": True,
                "rate": round(rate, 2),
                "window": window,
                "summary": f"events still arrive ({rate:.1f}/s): going on knowingly; the "
                "clear keeps consuming them into the archive until you end it",
            }
        if choice == "stop":
            await self._stop_repository(ctx)
        return await self._wait_for_quiet(ctx, window, QUIET_WAIT if choice == "wait" else 60.0)

    async def _stop_repository(self, ctx: StepContext) -> None:
        command = self.state.profile.repository.stop
        if not command:
            raise RefusedError(
                "no repository.stop command in the profile: the wizard cannot stop it",
                hint="stop the repository by hand, then choose 'wait' and run this step again",
                system="repository",
            )
        ctx.progress(f"stopping the repository: {command}")
        result = await self.systems.repository.stop()
        check_command(
            ctx,
            result,
            "the repository stop command",
            hint="look at its output in the log pane; stop it by hand, then choose "
            "'wait' and run this step again",
            system="repository",
        )
        ctx.record("repository_stopped", {"command": result.command})

    async def _wait_for_quiet(self, ctx: StepContext, window: float, patience: float) -> Outputs:
        deadline = time.monotonic() + patience
        while True:
            arrived = await self._arrived(ctx, window)
            if not arrived:
                return {
                    "quiet": True,
                    "window": window,
                    "summary": f"nothing arrived in {window:g} s: the repository is quiet now",
                }
            if time.monotonic() >= deadline:
                raise RefusedError(
                    f"events still arrive after {patience:.0f} s: {arrived:,} in the last "
                    f"{window:g} s",
                    hint="something still publishes to the topic: stop the repository (and any "
                    "other producer), or choose to go on knowingly; then run this step again",
                    system="repository",
                )
