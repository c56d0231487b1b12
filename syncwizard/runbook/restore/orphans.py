"""The restore's offer to clear orphaned consumer queues, after the sync queue is cleared.

An orphan is another `Consumer.<id>.<topic>` queue with no consumer and events pending:
an installation that is gone (a staging set restored here once), or a Sync Service
nobody restarted. The virtual topic keeps copying every repository event into it until
the broker's flow control blocks the repository. Whose it is only the admin knows, so
each orphan is offered behind its own optional gate naming it and its pending count;
declining leaves it (the default: no confirm, no clear). A cleared orphan goes the way
of the sync queue (clients/event_consumer.py): each event is removed only once its line
is durable in the run's `orphan-<queue>.jsonl`, so nothing pending is ever lost.

Never a queue with a consumer: it is not offered, and it is looked at again right before
its clear (someone may have started consuming since the gate) and on every round of it.
The sync queue and the queue the restored Sync Service will consume (another
installation's set brings its own GUID) are never offered either.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from syncwizard.clients.event_consumer import ClearCounts
from syncwizard.clients.results import Subscriber
from syncwizard.errors import SyncWizardError
from syncwizard.runbook.model import Gate, Outputs, SkipStep, StepContext
from syncwizard.runbook.restore.archive import count_archive
from syncwizard.runbook.restore.state import RestoreState
from syncwizard.runbook.restore.step_names import CLEAR, GUID_TOKEN_LENGTH, ORPHANS
from syncwizard.runbook.restore.stomp_window import RECORD as WINDOW
from syncwizard.runbook.restore.stomp_window import window_facts

ORPHAN_LOOK = 2.0  # seconds between the two looks that tell whether an orphan still grows
LEFT = "left on the broker: you declined its gate"


@dataclass(frozen=True)
class Orphan:
    """A queue of the topic nobody consumes that holds events, as two looks saw it."""

    queue: str
    pending: int  # QueueSize at the second look
    grew: int  # events added between the two looks (0: it did not grow)
    consumers: int = 0

    @property
    def owner(self) -> str:
        """The `<id>` of `Consumer.<id>.<topic>`: whose queue it was."""
        parts = self.queue.split(".", 2)
        return parts[1] if len(parts) == 3 else self.queue

    def describe(self) -> str:
        grew = f"grew by {self.grew:,} in {ORPHAN_LOOK:g} s" if self.grew else "not growing"
        return f"{self.queue}: {self.pending:,} pending, 0 consumers, {grew}"


def archive_name(queue: str) -> str:
    """The run folder's archive of one orphan (queue names are `Consumer.<id>.<topic>`:
    letters, digits, dots and dashes, safe as a file name)."""
    return f"orphan-{queue.replace('/', '_')}.jsonl"


class OrphanSteps:
    def __init__(self, state: RestoreState) -> None:
        self.state = state
        self.systems = state.systems
        # What the gates offered, by gate title: the action clears these (less the declined).
        self._offered: dict[str, Orphan] = {}
        self._not_offered: list[str] = []

    def archive_path(self, queue: str) -> Path:
        return self.state.run_dir / archive_name(queue)

    def _own_queues(self, ctx: StepContext) -> set[str]:
        return {self.state.queue(ctx), self.state.recovered_queue(ctx)}

    # --- the two looks --------------------------------------------------------------------

    async def look(self, ctx: StepContext) -> tuple[list[Orphan], list[str]]:
        """The orphans (no consumer at either look, events pending) and, described, the
        topic's other queues that are not offered (they have a consumer, or nothing)."""
        topic = self.state.topic(ctx)
        if not topic:
            return [], []
        own = self._own_queues(ctx)
        jolokia = self.systems.jolokia
        ctx.progress(f"looking at the other queues of {topic} twice, {ORPHAN_LOOK:g} s apart")
        first = await jolokia.topic_subscribers(topic, self.state.queue(ctx))
        second = first
        if any(s.orphaned and s.name not in own for s in first.others):
            await asyncio.sleep(ORPHAN_LOOK)  # a second look only where there is a candidate
            second = await jolokia.topic_subscribers(topic, self.state.queue(ctx))
        before = {s.name: s for s in first.others if s.kind == "queue"}
        orphans: list[Orphan] = []
        others: list[str] = []
        for queue in (s for s in second.others if s.kind == "queue" and s.name not in own):
            earlier = before.get(queue.name)
            if queue.orphaned and earlier is not None and earlier.consumers == 0:
                grew = max(0, (queue.pending or 0) - (earlier.pending or 0))
                orphans.append(Orphan(queue.name, queue.pending or 0, grew))
            else:
                others.append(_not_offered(queue))
        return orphans, others

    # --- plan and gates -------------------------------------------------------------------

    def plan(self, ctx: StepContext) -> str:
        topic = self.state.topic(ctx) or "the topic"
        return (
            f"look twice at the other Consumer.*.{topic} queues: each with no consumer and "
            "events pending is offered for clearing behind its own gate (declining leaves "
            f"it; the default). A cleared one goes into {archive_name('<queue>')} in the run "
            "folder, each event removed only once it is on disk; a queue with a consumer is "
            "never touched"
        )

    async def gates(self, ctx: StepContext) -> tuple[Gate, ...]:
        orphans, self._not_offered = await self.look(ctx)
        self._offered = {}
        gates: list[Gate] = []
        for orphan in orphans:
            archive = self.archive_path(orphan.queue)
            held = count_archive(archive) if archive.exists() else 0
            growing = (
                f"yes: {orphan.grew:,} more in {ORPHAN_LOOK:g} s (something still publishes)"
                if orphan.grew
                else f"no (two looks {ORPHAN_LOOK:g} s apart)"
            )
            gate = Gate(
                # Its owner's id (a GUID) keeps the title short and one per queue of the topic.
                title=f"Clear the orphaned queue of {orphan.owner}?",
                consequences="Nobody consumes this queue: it keeps a copy of every event of "
                "the topic until the broker's flow control blocks the repository. Clear it "
                "only if you know its installation is gone (a staging set restored here, a "
                "Sync Service removed): its events are taken into the archive and removed "
                "from the queue; the queue stays. Cancel leaves it as it is and the restore "
                "goes on.",
                token=orphan.owner[:GUID_TOKEN_LENGTH],
                facts=(
                    ("queue", orphan.queue),
                    ("pending", f"{orphan.pending:,}"),
                    ("consumers", "0"),
                    ("growing", growing),
                    (
                        "archive",
                        f"{archive} ({held:,} events in it already)" if held else str(archive),
                    ),
                ),
                undo=f"The events are kept, one per line, in {archive.name}: nothing is lost.",
                optional=f"{orphan.queue} left with {orphan.pending:,} pending",
            )
            self._offered[gate.title] = orphan
            gates.append(gate)
        return tuple(gates)

    # --- the action -----------------------------------------------------------------------

    async def clear_orphans(self, ctx: StepContext) -> Outputs:
        offered, self._offered = self._offered, {}
        declined = set(ctx.records_of(ORPHANS).get("declined", {}).get("gates", []))
        # Earlier attempts' clears (a clear cut short is run again: it appends).
        cleared: dict[str, dict[str, Any]] = {
            str(entry["queue"]): dict(entry)
            for entry in ctx.records_of(ORPHANS).get("cleared", {}).get("queues", [])
        }
        left: list[dict[str, Any]] = []
        for title, orphan in offered.items():
            if title in declined:
                left.append({"queue": orphan.queue, "pending": orphan.pending, "why": LEFT})
                continue
            why = await self._clear_one(ctx, orphan, cleared)
            if why:
                left.append({"queue": orphan.queue, "pending": orphan.pending, "why": why})
        outputs: dict[str, Any] = {
            "orphans": [asdict(o) for o in offered.values()],
            "cleared": list(cleared.values()),
            "left": left,
            "not_offered": self._not_offered,
        }
        outputs["summary"] = _summary(outputs, self.state.topic(ctx))
        # A STOMP connector the clear opened on a broker shipped without one: closed now,
        # after the orphans' clears used it too.
        await self.systems.stomp_window(self.state.queue(ctx)).close(ctx)
        window = window_facts(
            ctx.records_of(CLEAR).get(WINDOW, {}), ctx.records_of(ORPHANS).get(WINDOW, {})
        )
        if window:
            outputs["stomp_window"] = window
        if not cleared:
            raise SkipStep(outputs["summary"], outputs)
        return outputs

    async def _clear_one(
        self, ctx: StepContext, orphan: Orphan, cleared: dict[str, dict[str, Any]]
    ) -> str:
        """Clear one orphan into its archive; why it was not (or not wholly) cleared, or "".
        Only what was pending right before the clear is taken: what arrives meanwhile (a
        repository still producing) stays, so the clear ends."""
        queue, path = orphan.queue, self.archive_path(orphan.queue)
        stats = await self.systems.queue_stats(queue)  # right before: a consumer since?
        if stats is None:
            return "gone from the broker before its clear: nothing to do"
        if stats.consumers:
            return (
                f"{stats.consumers} consumer(s) attached since its gate: not touched (it is "
                "somebody's queue after all)"
            )
        target = stats.pending
        attached = [False]

        async def until(counts: ClearCounts) -> bool:
            now = await self.systems.queue_stats(queue)
            if now is None:
                return True
            if now.consumers > 1:  # ours, and someone else's: stop taking their events
                attached[0] = True
                return True
            ctx.progress(
                f"clearing the orphaned queue {queue} into {path.name}: "
                f"{counts.removed:,} of {target:,} taken, {now.pending:,} pending"
            )
            return now.pending == 0 or counts.removed >= target

        ctx.progress(f"clearing the orphaned queue {queue} into {path.name}")
        result = await self.systems.clear_into_archive(
            queue, path, until=until, on_progress=lambda counts: None
        )
        entry = cleared.setdefault(queue, {"queue": queue, "archive": str(path), "removed": 0})
        entry["removed"] = int(entry["removed"]) + result.counts.removed
        entry["archived"] = count_archive(path) if path.exists() else 0
        after = await self.systems.queue_stats(queue)
        entry["still_pending"] = after.pending if after else 0
        entry["pending_at_clear"] = target
        ctx.record("cleared", {"queues": list(cleared.values())})
        if result.failure:
            raise SyncWizardError(
                f"clearing the orphaned queue {queue} stopped after {result.counts.removed:,} "
                f"events: {result.failure}",
                hint=f"every event taken off it is in {path.name}; run this step again: it "
                "appends to the same archive and writes an event delivered again only once",
                system="broker",
            )
        if attached[0]:
            return (
                f"a consumer attached while it was cleared: stopped after "
                f"{result.counts.removed:,} events (all in {path.name})"
            )
        return ""


def _not_offered(queue: Subscriber) -> str:
    if queue.consumers:
        return f"{queue.describe()}: consumed, not offered"
    if not queue.pending:
        return f"{queue.describe()}: nothing pending, not offered"
    return f"{queue.describe()}: a consumer at the first look, not offered"


def _summary(outputs: dict[str, Any], topic: str | None) -> str:
    cleared, left = outputs["cleared"], outputs["left"]
    if not outputs["orphans"] and not cleared:
        return f"no orphaned queue on {topic or 'the topic'}: nothing to offer"
    parts = [
        f"{e['queue']} cleared: {int(e['removed']):,} events into {Path(e['archive']).name}"
        for e in cleared
    ]
    parts += [f"{e['queue']} ({int(e['pending']):,} pending) {e['why']}" for e in left]
    return "; ".join(parts)
