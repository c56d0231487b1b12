"""The STOMP window around the clear, on a broker shipped without STOMP: the admin's commands
run for real (shell), the broker is a file the commands create and remove (its presence is
"STOMP answers"), and the pending counts are what a test says the broker reports."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from syncwizard.config import BrokerSettings
from syncwizard.errors import SyncWizardError
from syncwizard.runbook.model import Outputs, RefusedError
from syncwizard.runbook.restore.step_names import CLEAR, ORPHANS
from syncwizard.runbook.restore.stomp_window import RECORD, StompWindow, window_facts


class Context:
    """A StepContext keeping what a step records and logs."""

    run_id = "restore-test"
    rechecking = False

    def __init__(self) -> None:
        self.step = CLEAR  # the step now running: the clear opens, the next step closes
        self.by_step: dict[str, dict[str, dict[str, Any]]] = {}
        self.lines: list[str] = []

    @property
    def records(self) -> dict[str, dict[str, Any]]:
        return self.by_step.get(CLEAR, {})

    @property
    def results(self) -> Mapping[str, Outputs]:
        return {}

    def records_of(self, step_id: str) -> Mapping[str, Mapping[str, Any]]:
        return self.by_step.get(step_id, {})

    def step_times(self) -> Mapping[str, tuple[float, float | None]]:
        return {}

    def progress(self, message: str, detail: object = None) -> None:
        pass

    def log(self, line: str) -> None:
        self.lines.append(line)

    def record(self, name: str, data: Mapping[str, Any]) -> None:
        # As the engine: kept under the running step; a record replaces the one before.
        self.by_step.setdefault(self.step, {})[name] = dict(data)


class Broker:
    """STOMP answers while `connector` exists; `pending` is what it reports."""

    def __init__(self, tmp_path: Path, pending: list[int], non_persistent: list[str]) -> None:
        self.connector = tmp_path / "stomp-connector"
        self.counts = pending
        self.lost = non_persistent

    async def probe(self) -> None:
        if not self.connector.exists():
            raise SyncWizardError("connection refused", hint="", system="broker")

    async def pending(self) -> int | None:
        return self.counts.pop(0) if len(self.counts) > 1 else self.counts[0]

    async def non_persistent(self) -> list[str]:
        return self.lost


def window(
    broker: Broker, *, open_command: str | None = None, close_command: str | None = None
) -> StompWindow:
    settings = BrokerSettings(
        jolokia_url="http://127.0.0.1:8161/api/jolokia",
        stomp="stomp://127.0.0.1:61613",
        stomp_open=open_command or f"touch {broker.connector}",
        stomp_close=close_command or f"rm {broker.connector}",
        restart_timeout=2.0,
    )
    return StompWindow(settings, broker.probe, broker.pending, broker.non_persistent)


async def test_stomp_is_opened_for_the_clear_and_closed_after_with_the_events_kept(
    tmp_path: Path,
) -> None:
    broker, ctx = Broker(tmp_path, [1200, 1200], []), Context()
    stomp = window(broker)
    assert not await stomp.is_open()
    await stomp.open(ctx)
    assert broker.connector.exists()
    assert ctx.records[RECORD] == {"opening": True, "pending_before": 1200, "opened": True,
                                   "pending_after_open": 1200}  # fmt: skip
    assert "NOT closed again yet" in window_facts(ctx.records[RECORD], {})
    ctx.step = ORPHANS
    await stomp.close(ctx)
    closed = ctx.records_of(ORPHANS)[RECORD]
    assert not broker.connector.exists() and closed["closed"] is True
    assert window_facts(ctx.records[RECORD], closed).endswith("and closed again")
    await stomp.close(ctx)  # a step run again closes nothing twice


async def test_a_broker_that_has_stomp_is_left_alone(tmp_path: Path) -> None:
    broker, ctx = Broker(tmp_path, [5], []), Context()
    broker.connector.touch()
    stomp = window(broker, open_command="false", close_command="false")
    await stomp.open(ctx)
    ctx.step = ORPHANS
    await stomp.close(ctx)  # nothing was opened: nothing to close
    assert ctx.by_step == {} and broker.connector.exists()


async def test_non_persistent_events_refuse_the_restart_before_it(tmp_path: Path) -> None:
    broker, ctx = Broker(tmp_path, [3], ["ID:repo-1:1:1:1:7"]), Context()
    with pytest.raises(RefusedError) as refused:
        await window(broker).open(ctx)
    assert (
        "non-persistent" in refused.value.message and "ID:repo-1:1:1:1:7" in refused.value.message
    )
    assert not broker.connector.exists() and ctx.records == {}


async def test_a_restart_that_lost_events_is_refused_naming_both_counts(tmp_path: Path) -> None:
    broker, ctx = Broker(tmp_path, [1200, 1100], []), Context()
    with pytest.raises(RefusedError) as refused:
        await window(broker).open(ctx)
    assert "1,100 pending events; 1,200 were pending before" in refused.value.message
    assert ctx.records[RECORD]["opening"] is True  # so the close still runs afterwards


async def test_a_failing_open_command_is_named_with_its_output(tmp_path: Path) -> None:
    broker, ctx = Broker(tmp_path, [3], []), Context()
    stomp = window(broker, open_command="echo 'activemq.xml: permission denied' >&2; exit 3")
    with pytest.raises(SyncWizardError) as failed:
        await stomp.open(ctx)
    assert "broker.stomp_open" in failed.value.message
    assert any("permission denied" in line for line in ctx.lines)


async def test_a_broker_that_never_opens_stomp_is_given_up_at_the_restart_timeout(
    tmp_path: Path,
) -> None:
    broker, ctx = Broker(tmp_path, [3], []), Context()
    with pytest.raises(SyncWizardError) as failed:
        await window(broker, open_command="true").open(ctx)
    assert "is not open 2 s after broker.stomp_open succeeded" in failed.value.message
    assert "broker.restart_timeout" in failed.value.hint
