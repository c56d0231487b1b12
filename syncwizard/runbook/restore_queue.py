"""Restore steps around the broker: stop the services, archive the pending events, then purge
the queue or delete the virtual topic and its queue (DESIGN section 3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from syncwizard.clients.service import ServiceControl
from syncwizard.errors import SyncWizardError
from syncwizard.runbook.model import Gate, Outputs, RefusedError, SkipStep, StepContext
from syncwizard.runbook.restore_state import RestoreState
from syncwizard.runbook.restore_steps import ARCHIVE

CONSUMERS_GONE_TIMEOUT = 30.0
PREFETCH_NOTE = (
    "a live Sync consumer keeps working through up to 3000 prefetched events after a purge"
)
DELETE_CONSEQUENCE = (
    "Until the Sync Service subscribes again, the virtual topic copies new repository events "
    "to no queue: they are not kept for it. The -Drecover start is what reconciles them."
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
        return "; ".join(parts) + ", then wait until no consumer is left on the queue"

    async def stop_gate(self, ctx: StepContext) -> Gate:
        facts = tuple(
            (label, f"`{command}`" if command else "no command configured: stop it by hand first")
            for label, _, command in self._services()
        )
        return Gate(
            title="Stop the Sync Service and the repository?",
            consequences="Both go down until the restore starts the Sync Service again; "
            "users cannot sync meanwhile. Start the repository again yourself once the "
            "restore is done.",
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
            for line in result.output.splitlines()[-20:]:
                ctx.log(line)
            if not result.ok:
                raise SyncWizardError(
                    result.failure(f"the {label} stop command"),
                    hint="look at its output in the log pane; stop it by hand, then run this "
                    "step again",
                    system=control.name,
                )
            stopped.append({"what": label, "command": result.command, "exit_code": 0})
        queue = self.state.queue(ctx)
        consumers: int | None = None
        if self.state.found(ctx).get("queue_exists"):
            ctx.progress(f"waiting for the consumers to leave {queue}")
            consumers = await self.systems.wait_for_consumers_gone(queue, CONSUMERS_GONE_TIMEOUT)
        summary = ", ".join(f"stopped the {s['what']}" for s in stopped) or "nothing stopped"
        if by_hand:
            summary += f"; stop by hand: {', '.join(by_hand)}"
        if consumers:
            summary += f"; {consumers} consumer(s) still on the queue ({PREFETCH_NOTE})"
        return {
            "stopped": stopped,
            "by_hand": by_hand,
            "consumers_after": consumers,
            "summary": summary,
        }

    # --- archive the pending events -------------------------------------------------------

    def plan_archive(self, ctx: StepContext) -> str:
        queue = self.state.queue(ctx) or f"the queue of sync GUID {self.state.set_sync_id}"
        return (
            f"browse every pending event of {queue} over STOMP (the queue is left as is) into "
            f"{self._archive_path(queue).name} in the run folder, then count it against "
            "QueueSize"
        )

    def _archive_path(self, queue: str) -> Path:
        return self.state.run_dir / f"events-{queue or 'queue'}.jsonl"

    def _fresh_archive_path(self, queue: str) -> Path:
        """An archive of an earlier attempt is kept: a new attempt writes beside it."""
        path = self._archive_path(queue)
        number = 1
        while path.exists() or path.with_name(path.stem + ".incomplete.jsonl").exists():
            number += 1
            path = self._archive_path(queue).with_stem(f"{self._archive_path(queue).stem}-{number}")
        return path

    async def archive_events(self, ctx: StepContext) -> Outputs:
        queue = self.state.queue(ctx)
        if not self.state.found(ctx).get("queue_exists") or not await self.systems.queue_exists(
            queue
        ):
            raise SkipStep(
                f"the queue {queue} is not on the broker: no pending events to archive",
                {"archive": None, "count": 0, "complete": True, "queue_size": 0, "matches": True},
            )
        path = self._fresh_archive_path(queue)
        ctx.progress(f"archiving the pending events of {queue}", 0)
        archived = await self.systems.archive(
            queue, path, lambda count: ctx.progress(f"{count:,} events archived", count)
        )
        result = archived.result
        return {
            "archive": str(result.path),
            "count": result.count,
            "complete": result.complete,
            "reason": result.reason,
            "queue": queue,
            "queue_size": archived.queue_size,
            "matches": archived.matches,
            "summary": f"{result.count:,} events archived to {result.path.name}. "
            + archived.summary,
        }

    # --- clear the queue ------------------------------------------------------------------

    def plan_clear(self, ctx: StepContext) -> str:
        queue = self.state.queue(ctx) or "the sync queue"
        action = self.state.choices.events_action
        if action == "delete":
            topic = self.state.topic(ctx)
            return f"delete queue {queue} and topic {topic} over Jolokia; check both are gone"
        if action == "purge":
            return f"purge queue {queue} over Jolokia, then check it reports 0 pending"
        return f"you choose: purge {queue}, or delete it and its virtual topic"

    async def clear_gates(self, ctx: StepContext) -> tuple[Gate, ...]:
        action = self.state.choices.require_events_action()
        queue, topic = self.state.queue(ctx), self.state.topic(ctx)
        archive = ctx.results.get(ARCHIVE, {})
        pending = await self.systems.pending_on(queue) if queue else None
        consumers = await self.systems.consumers_on(queue) if queue else None
        facts: list[tuple[str, str]] = [
            ("queue", queue),
            ("pending now", "the queue is not there" if pending is None else f"{pending:,}"),
        ]
        if action == "delete":
            facts.append(("topic", str(topic)))
        facts.append(
            (
                "archived",
                f"{archive.get('count', 0):,} events in {archive.get('archive') or '(none)'}",
            )
        )
        if consumers:
            facts.append(("consumers", f"{consumers} still attached: {PREFETCH_NOTE}"))
        consequences = (
            f"Every pending event of {queue} is removed for good. " + DELETE_CONSEQUENCE
            if action == "delete"
            else f"Every pending event of {queue} is removed for good; the queue and its "
            "subscription stay."
        )
        sync_id = self.state.sync_id(ctx)
        gates = [
            Gate(
                title="Delete the virtual topic and its queue?"
                if action == "delete"
                else "Purge the sync queue?",
                consequences=consequences,
                token=sync_id[:8],
                facts=tuple(facts),
            )
        ]
        if archive and not archive.get("matches", True):
            gates.append(
                Gate(
                    title="The archive does not hold every pending event. Remove them anyway?",
                    consequences=f"{archive.get('summary', '')} Events not in the archive are "
                    "lost when the queue is cleared.",
                    token="incomplete",
                    facts=(("archived", f"{archive.get('count', 0):,}"),),
                )
            )
        return tuple(gates)

    async def clear_events(self, ctx: StepContext) -> Outputs:
        action = self.state.choices.require_events_action()
        ctx.record("choice", {"action": action})
        queue, topic = self.state.queue(ctx), self.state.topic(ctx)
        if action == "purge":
            if not await self.systems.queue_exists(queue):
                raise SkipStep(
                    f"the queue {queue} is not on the broker: nothing to purge",
                    {"action": action, "queue": queue, "cleared": 0},
                )
            ctx.progress(f"purging {queue}")
            cleared = await self.systems.purge(queue)
            return {
                "action": action,
                "queue": queue,
                "topic": topic,
                "cleared": cleared,
                "verified": "0 pending",
                "summary": f"purged {queue}: {cleared:,} events removed, 0 pending now",
            }
        ctx.progress(f"deleting {queue} and {topic}")
        pending = await self.systems.pending_on(queue) or 0
        gone = await self.systems.delete_topic_and_queue(queue, topic)
        if not gone["queue_gone"]:
            raise RefusedError(
                f"the queue {queue} is still on the broker after removeQueue",
                hint="a consumer or producer recreated it at once: stop the Sync Service and "
                "the repository, then run this step again",
                system="broker",
            )
        note = (
            "queue and topic are gone"
            if gone["topic_gone"]
            else "the queue is gone; the topic came back at once (something still publishes)"
        )
        return {
            "action": action,
            "queue": queue,
            "topic": topic,
            "cleared": pending,
            "verified": note,
            "summary": f"deleted {queue} ({pending:,} events) and topic {topic}: {note}",
        }
