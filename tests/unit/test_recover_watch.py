"""Watching the Sync Service come back after the -Drecover start."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from syncwizard.clients.results import HealthCheck, HealthReport
from syncwizard.errors import SyncWizardError
from syncwizard.runbook.model import RefusedError
from syncwizard.runbook.restore.recover_watch import (
    SEEN_MESSAGE_LIMIT,
    FailingSeen,
    RecoverWatch,
    watch_until_healthy,
)

GUID = "8f7b3d2e-30be-4c0a-9c61-6b1f2a9d0e11"


def report(*, healthy: bool, sync_id: str = GUID) -> HealthReport:
    return HealthReport(
        url="https://sync:9090/alfresco/healthcheck",
        http_status=200 if healthy else 500,
        checks=(
            HealthCheck("databaseConnection", True, ""),
            HealthCheck("repositoryConnection", healthy, "" if healthy else "recovering"),
            HealthCheck("syncServiceIdCheck", True, sync_id),
        ),
        sync_id=sync_id,
        fetched_at=0.0,
    )


def scripted(answers: list[object]) -> Callable[[], Awaitable[Any]]:
    answers = list(answers)

    async def sample() -> Any:
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    return sample


async def test_it_ends_after_two_good_looks_in_a_row_and_reports_each_look() -> None:
    seen: list[RecoverWatch] = []
    down = SyncWizardError("connection refused", system="health")
    watch = await watch_until_healthy(
        scripted([down, [report(healthy=False)], [report(healthy=True)], [report(healthy=True)]]),
        scripted([None, 0, 1, 1]),
        expected_sync_id=GUID,
        timeout=5,
        interval=0,
        on_watch=seen.append,
    )
    assert watch.good and watch.consumers == 1
    assert [w.good for w in seen] == [False, False, True, True]
    assert "does not answer yet" in seen[0].text
    assert "not yet healthy: repositoryConnection" in seen[1].text


async def test_a_healthy_service_without_a_consumer_is_not_back() -> None:
    with pytest.raises(RefusedError) as caught:
        await watch_until_healthy(
            scripted([[report(healthy=True)]]),
            scripted([0]),
            expected_sync_id=GUID,
            timeout=0.05,
            interval=0.01,
        )
    assert "no consumer" in caught.value.message
    assert "log" in caught.value.hint and "again" in caught.value.hint


async def test_the_timeout_says_which_checks_fail_and_with_what_message() -> None:
    with pytest.raises(RefusedError) as caught:
        await watch_until_healthy(
            scripted([[report(healthy=False)]]),
            scripted([1]),
            expected_sync_id=GUID,
            timeout=0.05,
            interval=0.01,
        )
    assert "repositoryConnection: recovering" in caught.value.message


async def test_another_sync_guid_is_never_taken_for_the_restored_service() -> None:
    other = "00000000-30be-4c0a-9c61-6b1f2a9d0e11"
    with pytest.raises(RefusedError) as caught:
        await watch_until_healthy(
            scripted([[report(healthy=True, sync_id=other)]]),
            scripted([1]),
            expected_sync_id=GUID,
            timeout=0.05,
            interval=0.01,
        )
    assert other in caught.value.message


def look(*checks: tuple[str, bool | None, str], at: float = 100.0) -> RecoverWatch:
    return RecoverWatch(at=at, checks=checks, sync_id=GUID, consumers=0, seconds_left=5.0)


def test_failing_seen_keeps_each_check_that_failed_once_with_its_first_message() -> None:
    seen = FailingSeen()
    assert seen.add(look(("databaseConnection", True, "connected"))) is False
    assert seen.add(look(("databaseConnection", False, "refused: " + "x" * 400), at=101.0))
    assert seen.add(look(("databaseConnection", False, "again"), at=102.0)) is False
    assert seen.add(look(("activeMQConnection", False, "refused\npassword from file"), at=102.0))
    assert seen.add(look(("eventsHealthCheck", None, ""), at=103.0)) is False  # unknown
    assert seen.add(look(("databaseConnection", True, ""), ("deadlocks", False, "1")))
    assert list(seen.checks) == ["databaseConnection", "activeMQConnection", "deadlocks"]
    assert seen.checks["activeMQConnection"]["message"] == "refused password from file"
    first = seen.checks["databaseConnection"]
    assert first["at"] == 101.0 and first["message"].startswith("refused: x")
    assert len(first["message"]) == SEEN_MESSAGE_LIMIT
