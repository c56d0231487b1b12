"""What the restore's queue gates say: the queue, its pending count, the archive the events
go to, and the exact number an admin gives up."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from syncwizard.clients.results import QueueStats, Subscriber, TopicSubscribers
from syncwizard.runbook.model import RefusedError
from syncwizard.runbook.restore.choices import RestoreChoices
from syncwizard.runbook.restore.clear import ClearSteps
from syncwizard.runbook.restore.queue_steps import QueueSteps
from syncwizard.runbook.restore.state import OfflineContext, RestoreState
from syncwizard.runbook.restore.step_names import DELETE_CONSEQUENCE

GUID = "8f7b3d2e-30be-4c0a-9c61-6b1f2a9d0e11"
QUEUE = f"Consumer.{GUID}.VirtualTopic.alfresco.repo.events.nodes"
RUN_DIR = Path("/state/runs/restore-1")


class Broker:
    """The queue's counters a gate reads, and the topic's other subscribers, answered from
    fixed numbers."""

    def __init__(self, pending: int, consumers: int, *others: Subscriber) -> None:
        self.pending, self.consumers, self.others = pending, consumers, others
        self.jolokia = self

    async def queue_stats(self, queue: str) -> QueueStats:
        return QueueStats(queue, self.pending, 5000, 5000 - self.pending, 0, self.consumers)

    async def topic_subscribers(self, topic: str, own_queue: str) -> TopicSubscribers:
        attached = sum(1 for s in self.others if "durable" in s.kind)
        return TopicSubscribers(topic, self.others, attached)


class Context(OfflineContext):
    def __init__(self, results: dict[str, Any]) -> None:
        super().__init__("restore-1")
        self._results = results

    @property
    def results(self) -> dict[str, Any]:
        return self._results


def state(choices: RestoreChoices, broker: Broker) -> RestoreState:
    return RestoreState(
        profile=SimpleNamespace(),  # type: ignore[arg-type]
        set_dir=Path("/backups/set"),
        manifest={"sync_id": GUID, "queue": QUEUE},
        run_dir=RUN_DIR,
        choices=choices,
        systems=broker,  # type: ignore[arg-type]
    )


def found(*, producing: bool = False) -> dict[str, Any]:
    quiet = {"quiet": not producing, "producing": producing, "rate": 2.5 if producing else 0}
    return {
        "preflight": {"queue": QUEUE, "queue_exists": True, "sync_id": GUID},
        "check_quiet": quiet,
    }


async def gates_for(choices: RestoreChoices, broker: Broker, **found_options: bool) -> Any:
    return await ClearSteps(state(choices, broker)).gates(Context(found(**found_options)))


async def test_the_clear_gate_names_the_queue_the_count_and_the_archive() -> None:
    (gate,) = await gates_for(RestoreChoices("clear"), Broker(1234, 0))
    assert gate.token == GUID[:8]
    assert ("queue", QUEUE) in gate.facts and ("pending now", "1,234") in gate.facts
    assert ("archive", str(RUN_DIR / "events.jsonl")) in gate.facts
    assert "subscription stay" in gate.consequences
    assert "nothing is lost" in gate.undo


async def test_a_clear_while_events_arrive_says_it_runs_until_ended() -> None:
    (gate,) = await gates_for(RestoreChoices("clear"), Broker(10, 0), producing=True)
    assert ("still arriving", "2.5/s: the clear runs until you end it") in gate.facts


async def test_deleting_says_new_events_are_not_kept_and_consumers_are_named() -> None:
    (gate,) = await gates_for(RestoreChoices("delete"), Broker(10, 2))
    assert DELETE_CONSEQUENCE in gate.consequences
    topic = "VirtualTopic.alfresco.repo.events.nodes"
    assert ("topic", f"{topic} (no other subscriber)") in gate.facts
    assert any("3000 prefetched" in value for label, value in gate.facts if label == "consumers")
    assert gate.undo == ""


@pytest.mark.parametrize(
    ("other", "named"),
    [
        (
            Subscriber("search/live-indexing", "durable subscription", 1),
            "durable subscription search/live-indexing (1 consumer)",
        ),
        (
            Subscriber("audit/trail", "inactive durable subscription"),
            "inactive durable subscription audit/trail (0 consumers)",
        ),
        (
            Subscriber(
                f"Consumer.other.{'VirtualTopic.alfresco.repo.events.nodes'}", "queue", 0, 7
            ),
            "queue Consumer.other.VirtualTopic.alfresco.repo.events.nodes (0 consumers, 7 pending)",
        ),
    ],
    ids=["live indexing", "an audit subscription away", "another Sync Service's queue"],
)
async def test_deleting_the_topic_is_refused_while_another_subscriber_takes_its_events(
    other: Subscriber, named: str
) -> None:
    with pytest.raises(RefusedError, match="other subscribers") as refused:
        await gates_for(RestoreChoices("delete"), Broker(10, 0, other))
    assert named in refused.value.message
    assert "clear the sync queue into the archive" in (refused.value.hint or "")


async def test_clearing_stays_possible_beside_other_subscribers() -> None:
    other = Subscriber("search/live-indexing", "durable subscription", 1)
    (gate,) = await gates_for(RestoreChoices("clear"), Broker(10, 0, other))
    assert "subscription stay" in gate.consequences


async def test_giving_up_names_the_exact_number_lost_and_asks_for_it() -> None:
    (gate,) = await gates_for(RestoreChoices("give_up"), Broker(4321, 0))
    assert gate.title == "Give up 4,321 pending events?"
    assert gate.token == "4321"
    assert "lost" in gate.consequences and "report says so" in gate.consequences


@pytest.mark.parametrize("action", ["delete", "give_up"])
async def test_deleting_or_giving_up_while_events_arrive_is_refused(action: str) -> None:
    with pytest.raises(RefusedError, match="events still arrive"):
        await gates_for(RestoreChoices(action), Broker(10, 0), producing=True)  # type: ignore[arg-type]


async def test_no_choice_no_gate() -> None:
    with pytest.raises(RefusedError, match="choose what to do"):
        await gates_for(RestoreChoices(), Broker(1, 0))


async def test_stopping_the_services_says_how_it_is_undone_and_who_starts_them() -> None:
    queue_steps = QueueSteps(state(RestoreChoices("clear"), Broker(0, 1)))
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
    assert "starts the repository again" in gate.consequences


def test_after_a_set_of_another_installation_the_recover_is_watched_on_the_sets_guid() -> None:
    theirs = "0a1b2c3d-0000-4000-8000-000000000001"
    restore_state = RestoreState(
        profile=SimpleNamespace(),  # type: ignore[arg-type]
        set_dir=Path("/backups/set"),
        manifest={"sync_id": theirs, "queue": QUEUE.replace(GUID, theirs)},
        run_dir=RUN_DIR,
        choices=RestoreChoices("clear"),
        systems=Broker(0, 0),  # type: ignore[arg-type]
    )
    ctx = Context(found())  # the service here reported GUID before the restore
    assert restore_state.queue(ctx) == QUEUE  # the queue cleared is this installation's
    assert restore_state.recovered_queue(ctx) == QUEUE.replace(GUID, theirs)
    same = state(RestoreChoices("clear"), Broker(0, 0))
    assert same.recovered_queue(ctx) == QUEUE


async def test_an_owner_role_the_server_lacks_fails_the_preflight_before_anything_stops(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from support.fake_restore import FakeRestore, FakeRestoreLauncher, FakeRestoreSystems
    from support.fake_status import demo_settings

    from syncwizard.errors import SyncWizardError
    from syncwizard.runbook.model import Gate, StepState
    from syncwizard.runbook.restore import step_names as steps
    from syncwizard.runbook.restore.database import RestorePlan

    async def lacks_a_role(self: FakeRestoreSystems, plan: RestorePlan) -> None:
        raise SyncWizardError(
            "the dump's objects belong to role 'alfresco_ro', which does not exist",
            hint="create it as a superuser (CREATE ROLE alfresco_ro)",
            system=plan.role,
        )

    monkeypatch.setattr(FakeRestoreSystems, "check_owners", lacks_a_role)
    fake = FakeRestore(demo_settings())
    launcher = FakeRestoreLauncher(fake)

    async def never(gate: Gate) -> bool:
        raise AssertionError(f"no gate before the preflight's refusal: {gate.title}")

    engine = await launcher.start(fake.set_dir, await launcher.make_choices(), [], never)
    try:
        assert await engine.run_step(steps.VERIFY) == StepState.DONE
        assert await engine.run_step(steps.PREFLIGHT) == StepState.FAILED
    finally:
        await engine.aclose()
    assert "role 'alfresco_ro', which does not exist" in engine.errors[steps.PREFLIGHT].message
    assert fake.sync_up, "nothing was stopped"
