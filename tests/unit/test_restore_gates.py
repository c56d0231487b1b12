"""What the restore's queue gates say: the queue, its pending count, the archive, and a
second gate when the archive does not hold every pending event."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from syncwizard.runbook.model import RefusedError
from syncwizard.runbook.restore_choices import RestoreChoices
from syncwizard.runbook.restore_queue import DELETE_CONSEQUENCE, QueueSteps
from syncwizard.runbook.restore_state import OfflineContext, RestoreState

GUID = "8f7b3d2e-30be-4c0a-9c61-6b1f2a9d0e11"
QUEUE = f"Consumer.{GUID}.VirtualTopic.alfresco.repo.events.nodes"


class Broker:
    """The two reads a gate makes, answered from fixed numbers."""

    def __init__(self, pending: int, consumers: int) -> None:
        self.pending, self.consumers = pending, consumers

    async def pending_on(self, queue: str) -> int:
        return self.pending

    async def consumers_on(self, queue: str) -> int:
        return self.consumers


class Context(OfflineContext):
    def __init__(self, results: dict[str, Any]) -> None:
        super().__init__("restore-1")
        self._results = results

    @property
    def results(self) -> dict[str, Any]:
        return self._results


def steps(choices: RestoreChoices, broker: Broker) -> QueueSteps:
    state = RestoreState(
        profile=SimpleNamespace(),  # type: ignore[arg-type]
        set_dir=Path("/backups/set"),
        manifest={"sync_id": GUID, "queue": QUEUE},
        run_dir=Path("/state/runs/restore-1"),
        choices=choices,
        systems=broker,  # type: ignore[arg-type]
    )
    return QueueSteps(state)


def archived(count: int, *, matches: bool) -> dict[str, Any]:
    return {
        "preflight": {"queue": QUEUE, "queue_exists": True, "sync_id": GUID},
        "archive_events": {
            "archive": "/state/runs/restore-1/events.jsonl",
            "count": count,
            "matches": matches,
            "summary": f"{count} events archived.",
        },
    }


async def test_the_purge_gate_names_the_queue_and_counts_and_asks_for_the_guid() -> None:
    (gate,) = await steps(RestoreChoices("purge"), Broker(1234, 0)).clear_gates(
        Context(archived(1234, matches=True))
    )
    assert gate.token == GUID[:8]
    assert ("queue", QUEUE) in gate.facts and ("pending now", "1,234") in gate.facts
    assert any("1,234 events in /state/runs/restore-1/events.jsonl" in v for _, v in gate.facts)
    assert "subscription stay" in gate.consequences
    assert gate.undo == ""  # a purge cannot be undone, and the gate says so


async def test_stopping_the_services_says_how_it_is_undone() -> None:
    queue_steps = steps(RestoreChoices("purge"), Broker(0, 1))
    queue_steps.state.profile = SimpleNamespace(  # type: ignore[assignment]
        sync_service=SimpleNamespace(stop="systemctl stop alfresco-sync"),
        repository=SimpleNamespace(stop=None),
    )
    queue_steps.systems = SimpleNamespace(sync_service=None, repository=None)  # type: ignore[assignment]
    gate = await queue_steps.stop_gate(Context({}))
    assert gate.token == "stop"
    assert gate.facts == (
        ("Sync Service", "`systemctl stop alfresco-sync`"),
        ("repository", "no command configured: stop it by hand first"),
    )
    assert gate.undo == "Starting them again undoes this."


async def test_deleting_says_new_events_are_not_kept_and_consumers_are_named() -> None:
    (gate,) = await steps(RestoreChoices("delete"), Broker(10, 2)).clear_gates(
        Context(archived(10, matches=True))
    )
    assert DELETE_CONSEQUENCE in gate.consequences
    assert ("topic", "VirtualTopic.alfresco.repo.events.nodes") in gate.facts
    assert any("3000 prefetched" in value for label, value in gate.facts if label == "consumers")


async def test_an_incomplete_archive_needs_a_second_explicit_gate() -> None:
    gates = await steps(RestoreChoices("purge"), Broker(500, 0)).clear_gates(
        Context(archived(120, matches=False))
    )
    assert [gate.token for gate in gates] == [GUID[:8], "incomplete"]
    assert "lost" in gates[1].consequences


async def test_no_choice_no_gate() -> None:
    with pytest.raises(RefusedError, match="choose what to do"):
        await steps(RestoreChoices(), Broker(1, 0)).clear_gates(Context(archived(1, matches=True)))
