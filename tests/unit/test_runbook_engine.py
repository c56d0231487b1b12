"""The runbook engine: order, dependencies, gates, failures, cancellation and resume."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from syncwizard.errors import SyncWizardError
from syncwizard.runbook.engine import Engine
from syncwizard.runbook.journal import Journal, load_run, read_entries
from syncwizard.runbook.model import (
    EventKind,
    Gate,
    Outputs,
    RefusedError,
    Runbook,
    SkipStep,
    Step,
    StepContext,
    StepEvent,
    StepState,
)


class Script:
    """Steps a, b, c (b depends on a, c on b) whose behaviour a test sets."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.fail: dict[str, SyncWizardError] = {}
        self.block: dict[str, asyncio.Event] = {}
        self.skip: set[str] = set()
        self.verify_fails: set[str] = set()

    def action(self, name: str) -> Callable[[StepContext], Awaitable[Outputs]]:
        async def act(ctx: StepContext) -> Outputs:
            self.calls.append(name)
            ctx.progress(f"{name} working", detail={"step": name})
            if name in self.block:
                await self.block[name].wait()
            if name in self.fail:
                raise self.fail[name]
            if name in self.skip:
                raise SkipStep(f"{name}: nothing to do", {"skipped": name})
            ctx.record("fact", {"seen": sorted(ctx.results)})
            return {"made_by": name}

        return act

    async def verify(self, ctx: StepContext, outputs: Outputs) -> None:
        if outputs.get("made_by") in self.verify_fails:
            raise SyncWizardError(f"{outputs['made_by']} no longer holds", system="backup_dir")

    def runbook(self, gate_for: str | None = None) -> Runbook:
        async def gate(ctx: StepContext) -> Gate:
            return Gate(title="drop it?", consequences="database x is dropped", token="x")

        return Runbook(
            name="test",
            steps=tuple(
                Step(
                    id=name,
                    title=name.upper(),
                    why="because",
                    action=self.action(name),
                    verification=self.verify,
                    depends_on=deps,
                    gate=gate if name == gate_for else None,
                )
                for name, deps in (("a", ()), ("b", ("a",)), ("c", ("b",)))
            ),
        )


def new_engine(tmp_path: Path, script: Script, **kwargs: Any) -> tuple[Engine, list[StepEvent]]:
    events: list[StepEvent] = []
    journal = Journal.create(tmp_path / "runs" / "run-1")
    engine = Engine(script.runbook(), journal, "run-1", observers=[events.append], **kwargs)
    engine.start({"what": "a test"})
    return engine, events


def states(events: list[StepEvent]) -> list[tuple[str | None, str]]:
    return [(e.step_id, str(e.state)) for e in events if e.kind == EventKind.STATE]


async def test_steps_run_in_order_and_every_transition_is_journaled_then_observed(
    tmp_path: Path,
) -> None:
    script = Script()
    engine, events = new_engine(tmp_path, script)
    outcome = await engine.run()
    assert outcome.status == "finished" and outcome.error is None
    assert script.calls == ["a", "b", "c"]
    assert states(events) == [
        ("a", "running"),
        ("a", "done"),
        ("b", "running"),
        ("b", "done"),
        ("c", "running"),
        ("c", "done"),
    ]
    # a later step sees the outputs of the earlier ones
    assert engine.records["c"]["fact"] == {"seen": ["a", "b"]}
    kinds = [e["kind"] for e in read_entries(tmp_path / "runs" / "run-1" / "journal.jsonl")]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    assert "progress" not in kinds  # live progress is for the screen, not the journal
    assert any(e.kind == EventKind.PROGRESS and e.detail == {"step": "a"} for e in events)
    await engine.aclose()


async def test_a_step_is_refused_before_its_dependencies_unless_overridden_and_confirmed(
    tmp_path: Path,
) -> None:
    script = Script()
    asked: list[Gate] = []

    async def confirm(gate: Gate) -> bool:
        asked.append(gate)
        return len(asked) > 1  # refuse the first time, accept the second

    engine, _ = new_engine(tmp_path, script, confirm=confirm)
    with pytest.raises(SyncWizardError, match="cannot run before a"):
        await engine.run_step("b")
    assert await engine.run_step("b", override=True) == StepState.PENDING
    assert script.calls == []
    assert await engine.run_step("b", override=True) == StepState.DONE
    assert script.calls == ["b"] and "depends on a" in asked[0].consequences
    await engine.aclose()


async def test_a_refused_gate_leaves_the_step_undone(tmp_path: Path) -> None:
    script = Script()
    journal = Journal.create(tmp_path / "runs" / "run-1")

    async def no(gate: Gate) -> bool:
        return False

    engine = Engine(script.runbook(gate_for="b"), journal, "run-1", confirm=no)
    engine.start({})
    outcome = await engine.run()
    assert outcome.status == "failed" and outcome.step_id == "b"
    assert isinstance(outcome.error, RefusedError) and "drop it?" in outcome.error.message
    assert script.calls == ["a"]
    assert engine.states["b"] == StepState.PENDING
    await engine.aclose()


async def test_several_gates_are_asked_in_turn_each_naming_its_step_and_one_no_stops(
    tmp_path: Path,
) -> None:
    script = Script()
    runbook = script.runbook()
    second = Gate(title="and the archive is incomplete?", consequences="", token="incomplete")

    async def two_gates(ctx: StepContext) -> tuple[Gate, ...]:
        return (Gate(title="purge?", consequences="", token="abcd1234"), second)

    steps = tuple(
        Step(**{**step.__dict__, "gate": two_gates}) if step.id == "b" else step
        for step in runbook.steps
    )
    asked: list[Gate] = []
    answers = iter([True, False, True, True])

    async def confirm(gate: Gate) -> bool:
        asked.append(gate)
        return next(answers)

    journal = Journal.create(tmp_path / "runs" / "run-1")
    engine = Engine(Runbook(name="test", steps=steps), journal, "run-1", confirm=confirm)
    engine.start({})
    outcome = await engine.run()
    assert outcome.step_id == "b" and engine.states["b"] == StepState.PENDING
    assert [g.token for g in asked] == ["abcd1234", "incomplete"]
    assert {g.step for g in asked} == {"B"}
    assert script.calls == ["a"]
    assert (await engine.run()).status == "finished"
    assert script.calls == ["a", "b", "c"]
    await engine.aclose()


async def test_an_optional_gate_declined_lets_the_step_run_without_it_and_is_journaled(
    tmp_path: Path,
) -> None:
    script = Script()
    runbook = script.runbook()
    offers = (
        Gate(title="clear queue 1?", consequences="", token="one", optional="queue 1 stays"),
        Gate(title="clear queue 2?", consequences="", token="two", optional="queue 2 stays"),
    )
    seen: list[object] = []

    async def offered(ctx: StepContext) -> tuple[Gate, ...]:
        return offers

    async def act(ctx: StepContext) -> Outputs:
        seen.append(ctx.records_of("b").get("declined"))
        return {"made_by": "b"}

    steps = tuple(
        Step(**{**step.__dict__, "gate": offered, "action": act}) if step.id == "b" else step
        for step in runbook.steps
    )
    answers = iter([False, True])

    async def confirm(gate: Gate) -> bool:
        return next(answers)

    journal = Journal.create(tmp_path / "runs" / "run-1")
    engine = Engine(Runbook(name="test", steps=steps), journal, "run-1", confirm=confirm)
    engine.start({})
    assert (await engine.run()).status == "finished"
    assert seen == [{"gates": ["clear queue 1?"], "left": ["queue 1 stays"]}]
    assert "b" not in engine.errors, "an offer declined is not a refusal"
    await engine.aclose()
    assert load_run(tmp_path / "runs" / "run-1").records["b"]["declined"]["gates"] == [
        "clear queue 1?"
    ]


async def test_every_gate_answer_is_journaled_with_the_facts_shown_and_the_time_it_took(
    tmp_path: Path,
) -> None:
    script = Script()
    runbook = script.runbook()
    purge = Gate(title="purge?", consequences="", token="abcd1234", facts=(("pending", "1,234"),))

    async def gate(ctx: StepContext) -> Gate:
        return purge

    steps = tuple(
        Step(**{**step.__dict__, "gate": gate}) if step.id == "b" else step
        for step in runbook.steps
    )
    answers = iter([False, True])

    async def confirm(asked: Gate) -> bool:
        await asyncio.sleep(0.2)  # the admin reads the facts
        return next(answers)

    journal = Journal.create(tmp_path / "runs" / "run-1")
    engine = Engine(Runbook(name="test", steps=steps), journal, "run-1", confirm=confirm)
    engine.start({})
    assert (await engine.run()).step_id == "b"  # refused: b stays pending
    assert (await engine.run()).status == "finished"
    await engine.aclose()
    gates = load_run(tmp_path / "runs" / "run-1").gates
    assert [(g["step"], g["title"], g["confirmed"]) for g in gates] == [
        ("b", "purge?", False),
        ("b", "purge?", True),
    ]
    assert gates[1]["facts"] == [["pending", "1,234"]] and gates[1]["destructive"] is True
    assert all(g["seconds"] >= 0.2 for g in gates)


async def test_a_gate_that_cannot_be_stated_leaves_the_step_pending_with_its_error(
    tmp_path: Path,
) -> None:
    script = Script()
    runbook = script.runbook()

    async def undecided(ctx: StepContext) -> Gate:
        raise RefusedError("choose purge or delete first", hint="make the choice")

    steps = tuple(
        Step(**{**step.__dict__, "gate": undecided}) if step.id == "b" else step
        for step in runbook.steps
    )
    journal = Journal.create(tmp_path / "runs" / "run-1")
    engine = Engine(Runbook(name="test", steps=steps), journal, "run-1")
    engine.start({})
    outcome = await engine.run()
    assert outcome.step_id == "b" and engine.states["b"] == StepState.PENDING
    assert outcome.error is not None and "choose purge" in outcome.error.message
    assert script.calls == ["a"]
    await engine.aclose()


async def test_a_failure_stops_the_run_and_a_resume_does_not_redo_finished_steps(
    tmp_path: Path,
) -> None:
    script = Script()
    script.fail["b"] = SyncWizardError("the database went away", hint="start it", system="db")
    engine, events = new_engine(tmp_path, script)
    outcome = await engine.run()
    await engine.aclose()
    assert (outcome.status, outcome.step_id) == ("failed", "b")
    assert outcome.error is not None and outcome.error.hint == "start it"
    failed = [e for e in events if e.state == StepState.FAILED]
    assert failed[0].error is outcome.error

    record = load_run(tmp_path / "runs" / "run-1")
    assert record.status() == "failed" and record.stopped_at == "b"
    assert (
        record.last_error is not None and record.last_error["message"] == "the database went away"
    )
    assert record.results["a"] == {"made_by": "a"}

    del script.fail["b"]
    script.calls.clear()
    resumed = Engine.resume(script.runbook(), record, Journal.open(record.run_dir), observers=[])
    await resumed.recheck()
    assert (await resumed.run()).status == "finished"
    assert script.calls == ["b", "c"]  # a stays done
    await resumed.aclose()
    assert load_run(record.run_dir).status() == "finished"


async def test_a_step_that_succeeds_on_a_retry_leaves_no_last_error_behind(
    tmp_path: Path,
) -> None:
    script = Script()
    script.fail["b"] = SyncWizardError("the database went away", hint="start it", system="db")
    engine, _ = new_engine(tmp_path, script)
    assert await engine.run_step("a") == StepState.DONE
    assert await engine.run_step("b") == StepState.FAILED
    assert load_run(tmp_path / "runs" / "run-1").last_error is not None
    del script.fail["b"]
    assert await engine.run_step("b") == StepState.DONE
    await engine.aclose()
    record = load_run(tmp_path / "runs" / "run-1")
    assert record.last_error is None, "the resume prompt must not show a cured failure"
    assert record.stopped_at == "c"


async def test_cancelling_the_run_journals_the_cancellation_and_it_can_be_resumed(
    tmp_path: Path,
) -> None:
    script = Script()
    script.block["b"] = asyncio.Event()
    engine, events = new_engine(tmp_path, script)
    task = asyncio.create_task(engine.run())
    while "b" not in script.calls:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await engine.aclose()
    assert ("b", "cancelled") in states(events)
    record = load_run(tmp_path / "runs" / "run-1")
    assert record.status() == "cancelled" and record.stopped_at == "b"


async def test_a_skipped_step_satisfies_its_dependents(tmp_path: Path) -> None:
    script = Script()
    script.skip.add("b")
    engine, events = new_engine(tmp_path, script)
    assert (await engine.run()).status == "finished"
    assert ("b", "skipped") in states(events)
    assert engine.results["b"] == {"skipped": "b"}
    skipped = next(e for e in events if e.state == StepState.SKIPPED)
    assert skipped.message == "b: nothing to do"
    await engine.aclose()


async def test_resume_refuses_when_a_finished_steps_outcome_no_longer_holds(tmp_path: Path) -> None:
    script = Script()
    script.fail["c"] = SyncWizardError("boom")
    engine, _ = new_engine(tmp_path, script)
    await engine.run()
    await engine.aclose()
    script.verify_fails.add("a")
    record = load_run(tmp_path / "runs" / "run-1")
    resumed = Engine.resume(script.runbook(), record, Journal.open(record.run_dir))
    with pytest.raises(RefusedError, match="no longer holds: a no longer holds"):
        await resumed.recheck()
    await resumed.aclose()


async def test_resume_refuses_a_run_made_of_other_steps(tmp_path: Path) -> None:
    script = Script()
    engine, _ = new_engine(tmp_path, script)
    await engine.aclose()
    record = load_run(tmp_path / "runs" / "run-1")
    other = Runbook(name="test", steps=script.runbook().steps[:2])
    journal = Journal.open(record.run_dir)
    with pytest.raises(RefusedError, match="other steps"):
        Engine.resume(other, record, journal)
    journal.close()


async def test_an_observer_that_raises_does_not_stop_the_run(tmp_path: Path) -> None:
    script = Script()

    def broken(event: StepEvent) -> None:
        raise RuntimeError("a bug in a screen")

    engine, events = new_engine(tmp_path, script)
    engine.observers.insert(0, broken)
    assert (await engine.run()).status == "finished"
    assert states(events)[-1] == ("c", "done")
    await engine.aclose()


async def test_an_unexpected_exception_fails_the_step_with_a_bug_hint(tmp_path: Path) -> None:
    script = Script()
    script.fail["a"] = ZeroDivisionError("oops")  # type: ignore[assignment]
    engine, _ = new_engine(tmp_path, script)
    outcome = await engine.run()
    assert outcome.status == "failed" and outcome.error is not None
    assert "ZeroDivisionError" in outcome.error.message and "bug" in outcome.error.hint
    await engine.aclose()
