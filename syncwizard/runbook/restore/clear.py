"""The restore's clear of the undelivered events: nothing pending is ever lost.

Every choice consumes before anything is removed: each event is taken off the queue
by a STOMP consumer and acknowledged only once its line in the run's archive is
durable (clients/event_consumer.py). "clear" keeps the queue and its subscription;
"delete" then removes the emptied queue and its virtual topic; "give_up" is the one
bare purge, for events the admin gives up behind a gate naming their exact number.

The counts are checked three ways at the end: the archive's lines, the broker's
DequeueCount since the first attempt, and QueueSize at the start plus what arrived.
A clear cut short (a kill, a dropped connection, a full disk) is run again: it appends
to the same archive, and an event delivered again is written once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syncwizard.clients.event_consumer import ClearCounts
from syncwizard.clients.jolokia import PolicyRefusal
from syncwizard.errors import SyncWizardError
from syncwizard.runbook.model import Gate, Outputs, RefusedError, SkipStep, StepContext
from syncwizard.runbook.restore.archive import count_archive
from syncwizard.runbook.restore.queue_steps import PREFETCH_NOTE
from syncwizard.runbook.restore.state import RestoreState
from syncwizard.runbook.restore.step_names import (
    CLEAR,
    DELETE_CONSEQUENCE,
    GUID_TOKEN_LENGTH,
    QUIET,
)
from syncwizard.runbook.restore.stomp_window import RECORD, window_facts

ARCHIVE_NAME = "events.jsonl"


@dataclass(frozen=True)
class ClearProgress:
    """A live look at the clear, for the UI (never journaled)."""

    counts: ClearCounts
    pending: int | None  # QueueSize now
    arriving: float  # events per second still arriving at the queue
    ending_by_hand: bool  # events still arrive: the clear runs until the admin ends it

    @property
    def eta(self) -> float | None:
        """Seconds until the queue is empty at the present rates; None when it will not be."""
        net = self.counts.rate - self.arriving
        if self.pending is None or net <= 0:
            return None
        return self.pending / net

    @property
    def headline(self) -> str:
        counts = self.counts
        text = f"{counts.removed:,} events taken into the archive ({counts.rate:,.0f}/s)"
        if self.pending is not None:
            text += f", {self.pending:,} pending"
        if self.ending_by_hand:
            text += f"; {self.arriving:,.1f}/s still arriving: end the clear when you choose"
        elif (eta := self.eta) is not None and self.pending:
            text += f", about {eta:,.0f} s to go"
        return text


class ClearSteps:
    def __init__(self, state: RestoreState) -> None:
        self.state = state
        self.systems = state.systems
        self._give_up_confirmed: int | None = None  # the number the admin typed at the gate

    def archive_path(self, queue: str) -> Path:
        """The run's archive of the sync queue's events; every attempt appends to it."""
        return self.state.run_dir / ARCHIVE_NAME

    def _producing(self, ctx: StepContext) -> bool:
        return bool(ctx.results.get(QUIET, {}).get("producing"))

    # --- plan and gates -------------------------------------------------------------------

    def plan(self, ctx: StepContext) -> str:
        queue = self.state.queue(ctx) or "the sync queue"
        archive = self.archive_path(self.state.queue(ctx)).name
        consume = (
            f"take every event off {queue} over STOMP into {archive} in the run folder, each "
            "acknowledged (removed) only once its line is on disk"
        )
        if self.state.found(ctx).get("stomp_closed"):
            consume = (
                "open a loopback STOMP connector with broker.stomp_open (the broker restarts; "
                f"the next step closes it with broker.stomp_close), then {consume}"
            )
        action = self.state.choices.events_action
        if action == "delete":
            return f"{consume}; then delete the empty queue and topic {self.state.topic(ctx)}"
        if action == "give_up":
            return f"purge {queue} over Jolokia: its events are given up, not archived"
        if action == "clear":
            until = "until you end it" if self._producing(ctx) else "until it is empty"
            return f"{consume}, {until}; the queue and its subscription stay"
        return (
            f"you choose: clear {queue} into the archive, clear it and delete it with its "
            "virtual topic, or give its events up"
        )

    async def gates(self, ctx: StepContext) -> tuple[Gate, ...]:
        action = self.state.choices.require_events_action()
        queue, topic = self.state.queue(ctx), self.state.topic(ctx)
        stats = await self.systems.queue_stats(queue) if queue else None
        if stats is None:
            return ()  # nothing on the broker: the step skips
        if action in ("delete", "give_up") and self._producing(ctx):
            raise RefusedError(
                "events still arrive: deleting the queue or giving up its events now would "
                "remove events nobody has counted",
                hint="stop the repository and run 'Check that nothing still arrives' again, "
                "or choose to clear into the archive (it keeps consuming until you end it)",
                system="repository",
            )
        archive = self.archive_path(queue)
        held = count_archive(archive) if archive.exists() else 0
        facts: list[tuple[str, str]] = [("queue", queue), ("pending now", f"{stats.pending:,}")]
        if stats.consumers:
            facts.append(("consumers", f"{stats.consumers} still attached: {PREFETCH_NOTE}"))
        if action == "give_up":
            self._give_up_confirmed = stats.pending
            facts.append(
                ("archived already", f"{held:,} events in {archive.name}" if held else "none")
            )
            return (
                Gate(
                    title=f"Give up {stats.pending:,} pending events?",
                    consequences=f"{stats.pending:,} events are purged from {queue} without "
                    "being archived: they are lost, and the report says so. Only the "
                    "-Drecover start can reconcile what they told.",
                    token=str(stats.pending),
                    facts=tuple(facts),
                ),
            )
        facts.append(
            ("archive", f"{archive} ({held:,} events in it already)" if held else str(archive))
        )
        if self.state.found(ctx).get("stomp_closed"):
            facts.append(
                (
                    "broker restarts",
                    "STOMP is closed: broker.stomp_open restarts the broker with a loopback "
                    "STOMP connector first, broker.stomp_close restarts it without after",
                )
            )
        if self._producing(ctx):
            rate = ctx.results.get(QUIET, {}).get("rate", 0)
            facts.append(("still arriving", f"{rate}/s: the clear runs until you end it"))
        if action == "delete":
            await self._refuse_if_shared(queue, topic)
            facts.append(("topic", f"{topic} (no other subscriber)"))
            consequences = (
                f"Every event of {queue} is taken into the archive, then the empty queue and "
                f"its topic are deleted. {DELETE_CONSEQUENCE}"
            )
            title = "Clear the queue into the archive, then delete it and its topic?"
        else:
            consequences = (
                f"Every event of {queue} is taken into the archive and removed from the queue; "
                "the queue and its subscription stay."
            )
            title = "Clear the sync queue into the archive?"
        token = self.state.sync_id(ctx)[:GUID_TOKEN_LENGTH]
        undo = (
            ""
            if action == "delete"
            else f"The events are kept, one per line, in {archive.name}: nothing is lost."
        )
        return (Gate(title=title, consequences=consequences, token=token, facts=tuple(facts),
                     undo=undo),)  # fmt: skip

    # --- the action -----------------------------------------------------------------------

    async def clear(self, ctx: StepContext) -> Outputs:
        action = self.state.choices.require_events_action()
        ctx.record("choice", {"action": action})
        queue, topic = self.state.queue(ctx), self.state.topic(ctx)
        stats = await self.systems.queue_stats(queue)
        if stats is None:
            raise SkipStep(
                f"the queue {queue} is not on the broker: nothing to clear",
                {"action": action, "queue": queue, "archived": 0, "removed": 0, "given_up": 0},
            )
        window = self.systems.stomp_window(queue)
        if action != "give_up" and self.state.found(ctx).get("stomp_closed"):
            # Before the baseline: the broker's restart resets its counters.
            await window.open(ctx)
            stats = await self.systems.queue_stats(queue) or stats
        baseline = self._baseline(ctx, stats.pending, stats.enqueued, stats.dequeued, queue)
        if action == "give_up":
            given_up = await self._give_up(ctx, queue, stats.pending, stats.dequeued)
            return await self._outcome(ctx, action, queue, topic, baseline, given_up, "purged")
        if stats.consumers:
            raise RefusedError(
                f"{stats.consumers} consumer(s) still attached to {queue}: each would take "
                "events the archive never sees",
                hint="stop the Sync Service (the stop step, or by hand), then run this step again",
                system="broker",
            )
        ended_by = await self._consume(ctx, queue, topic)
        outputs = await self._outcome(ctx, action, queue, topic, baseline, 0, ended_by)
        if action == "delete":
            outputs.update(await self._delete(ctx, queue, topic))
        if note := window_facts(ctx.records_of(CLEAR).get(RECORD, {}), {}):
            outputs["stomp_window"] = note  # closed after the orphaned queues' step
        return outputs

    def _baseline(
        self, ctx: StepContext, pending: int, enqueued: int, dequeued: int, queue: str
    ) -> dict[str, Any]:
        """The counters when the first attempt began (journaled, so a resume keeps them)."""
        earlier = ctx.records_of(CLEAR).get("baseline")
        if earlier:
            return dict(earlier)
        archive = self.archive_path(queue)
        baseline = {
            "pending": pending,
            "enqueued": enqueued,
            "dequeued": dequeued,
            "archive": str(archive),
            "archived": count_archive(archive) if archive.exists() else 0,
        }
        ctx.record("baseline", baseline)
        return baseline

    async def _consume(self, ctx: StepContext, queue: str, topic: str | None) -> str:
        """Consume into the archive until the queue is empty (or the admin ends it, while
        events still arrive); how it ended: "empty" or "ended"."""
        path = self.archive_path(queue)
        by_hand = self._producing(ctx)
        quiet_window = self.state.profile.repository.quiet_window
        choices = self.state.choices
        choices.clearing_ended = False
        look: dict[str, Any] = {"pending": None, "arriving": 0.0, "enqueued": None, "at": 0.0}
        empty_since: list[float | None] = [None]

        async def until(counts: ClearCounts) -> bool:
            stats = await self.systems.queue_stats(queue)
            if stats is None:
                raise RefusedError(
                    f"the queue {queue} disappeared while it was being cleared",
                    hint="something deleted it (the web console?): every event taken off it "
                    f"is in {path.name}; look at the broker, then run this step again",
                    system="broker",
                )
            if stats.consumers > 1:
                raise RefusedError(
                    f"another consumer attached to {queue} while it was being cleared",
                    hint="stop the Sync Service; every event taken so far is in the archive; "
                    "run this step again",
                    system="broker",
                )
            if look["enqueued"] is not None and counts.elapsed > look["at"]:
                arrived = stats.enqueued - look["enqueued"]
                look["arriving"] = max(0.0, arrived / (counts.elapsed - look["at"]))
            look.update(pending=stats.pending, enqueued=stats.enqueued, at=counts.elapsed)
            progress = ClearProgress(counts, stats.pending, look["arriving"], by_hand)
            ctx.progress(progress.headline, progress)
            if choices.clearing_ended:
                return True
            if stats.pending:
                empty_since[0] = None
                return False
            if not by_hand:
                return True
            # Going on knowingly: end by itself once nothing arrived for a quiet window.
            since = empty_since[0] or counts.elapsed
            empty_since[0] = since
            return counts.elapsed - since >= quiet_window

        ctx.progress(f"clearing {queue} into {path.name}")
        result = await self.systems.clear_into_archive(
            queue, path, until=until, on_progress=lambda counts: None
        )
        if result.failure:
            counts = result.counts
            raise SyncWizardError(
                f"clearing {queue} stopped after {counts.removed:,} events: {result.failure}",
                hint=f"every event taken off the queue is in {path.name}; run this step again: "
                "it appends to the same archive and writes an event delivered again only once",
                system="broker",
            )
        return "ended" if choices.clearing_ended else "empty"

    async def _give_up(self, ctx: StepContext, queue: str, pending: int, dequeued: int) -> int:
        confirmed = self._give_up_confirmed
        self._give_up_confirmed = None
        if confirmed is None or confirmed != pending:
            raise RefusedError(
                f"{pending:,} events are pending now, not the {confirmed or 0:,} you confirmed "
                "giving up: nothing was purged",
                hint="run this step again: its gate names the number as it is now",
                system="broker",
            )
        ctx.record("giving_up", {"pending": pending})
        ctx.progress(f"purging {queue}: giving up {pending:,} events")
        await self.systems.purge(queue)
        after = await self.systems.queue_stats(queue)
        purged = after.dequeued - dequeued if after and after.dequeued >= dequeued else pending
        return purged

    async def _outcome(
        self,
        ctx: StepContext,
        action: str,
        queue: str,
        topic: str | None,
        baseline: dict[str, Any],
        given_up_now: int,
        ended_by: str,
    ) -> Outputs:
        path = self.archive_path(queue)
        archived = count_archive(path) if path.exists() else 0
        given_up = given_up_now + int(ctx.records_of(CLEAR).get("given_up", {}).get("count", 0))
        if given_up_now:
            ctx.record("given_up", {"count": given_up})
        stats = await self.systems.queue_stats(queue)
        still_pending = stats.pending if stats else 0
        removed = archived - int(baseline["archived"]) + given_up
        counters = None if stats is None or stats.dequeued < baseline["dequeued"] else stats
        reset = counters is None
        broker_removed = None if counters is None else counters.dequeued - int(baseline["dequeued"])
        arrived = None if counters is None else counters.enqueued - int(baseline["enqueued"])
        expected = None if arrived is None else int(baseline["pending"]) + arrived - still_pending
        agree = None if reset else broker_removed == removed == expected
        complete = given_up == 0 and agree is not False
        summary = f"{archived:,} events in {path.name}; {removed:,} removed from {queue}"
        if given_up:
            summary += f", {given_up:,} of them given up (lost, not archived)"
        if still_pending:
            summary += f"; {still_pending:,} still pending (arrived after the clear ended)"
        if agree is False:
            summary += (
                f". The counts disagree: the broker removed {broker_removed:,}, pending at the "
                f"start plus arrived says {expected:,}"
            )
        return {
            "action": action,
            "queue": queue,
            "topic": topic,
            "archive": str(path) if path.exists() else None,
            "archived": archived,
            "removed": removed,
            "given_up": given_up,
            "still_pending": still_pending,
            "pending_at_start": int(baseline["pending"]),
            "arrived": arrived,
            "broker_removed": broker_removed,
            "counts_agree": agree,
            "counters_reset": reset,
            "complete": complete,
            "ended_by": ended_by,
            "summary": summary,
        }

    async def _refuse_if_shared(self, queue: str, topic: str | None) -> None:
        """Deleting the topic takes every subscription of it with it, and their backlog:
        only when the sync queue is its one subscriber."""
        if not topic:
            return
        subscribers = await self.systems.jolokia.topic_subscribers(topic, queue)
        if not subscribers.alone:
            raise RefusedError(
                f"the topic {topic} has other subscribers, who would lose their subscription "
                f"and its backlog if it were deleted: {subscribers.describe()}",
                hint="choose to clear the sync queue into the archive (the topic and the "
                "others stay); remove those subscribers first only if you know whose they "
                "are and that they are gone",
                system="broker",
            )

    async def _delete(self, ctx: StepContext, queue: str, topic: str | None) -> Outputs:
        await self._refuse_if_shared(queue, topic)  # someone may have subscribed since
        ctx.progress(f"deleting the empty queue {queue} and topic {topic}")
        stats = await self.systems.queue_stats(queue)
        if stats is not None and stats.pending:
            raise RefusedError(
                f"{stats.pending:,} events arrived at {queue} after it was emptied: it was "
                "not deleted",
                hint="something still publishes: stop the repository, then run this step "
                "again (it clears them into the archive first)",
                system="broker",
            )
        try:
            gone = await self.systems.delete_topic_and_queue(queue, topic)
        except PolicyRefusal as refusal:
            # The hardened policy (ActiveMQ 5.19.7+, 6.2.6+) denies removeQueue/removeTopic.
            # The events are all archived and the queue is empty: the restore goes on, with
            # the queue and topic left as they are, and says so.
            ctx.log(f"not deleted: {refusal.message}")
            ctx.record("delete_refused", {"operation": refusal.operation})
            return {
                "deleted": {"queue_gone": False, "topic_gone": False},
                "verified": f"not deleted: the broker's policy refuses {refusal.operation}; "
                "the queue is empty (every event is in the archive) and stays with its "
                "topic; remove them in the broker's web console if they must go",
            }
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
        return {"deleted": gone, "verified": note}
