"""Orphaned consumer queues after the clear, against the real lab: another installation's
`Consumer.<guid>.<topic>` queue nobody consumes is offered behind its own gate, cleared
into its own archive (every event in it) only when the gate is accepted, left as it is
when declined; a queue with a consumer is never offered."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import stomp
from broker_fixture import ReceiptWaiter, await_receipt
from standin_support import jolokia, restore
from test_backup_support import lab_profile

from syncwizard.clients.jolokia import destination_mbean
from syncwizard.clients.names import sync_queue_name
from syncwizard.config import broker_password
from syncwizard.lab.generator import generate
from syncwizard.lab.layout import HOST, LabLayout, read_settings
from syncwizard.runbook.journal import load_run, runs_dir
from syncwizard.runbook.model import Gate, StepState
from syncwizard.runbook.report import write_report
from syncwizard.runbook.restore.runbook import RestoreChoices, start_restore

pytestmark = pytest.mark.integration

ORPHANS = "clear_orphans"


def attached_consumer(lab: LabLayout, queue: str) -> stomp.Connection12:
    """Somebody's consumer on `queue`: it holds one event unacknowledged and takes no more."""
    password = lab.broker_password_file.read_text(encoding="utf-8").strip()
    connection = stomp.Connection12([(HOST, lab.ports.stomp)], timeout=5)
    connection.connect("admin", password, wait=True)
    waiter = ReceiptWaiter("attached")
    connection.set_listener("attached", waiter)
    connection.subscribe(
        f"/queue/{queue}",
        id="someone",
        ack="client-individual",
        headers={"activemq.prefetchSize": "1", "receipt": "attached"},
    )
    await_receipt(waiter, f"a consumer on {queue}")
    return connection


async def message_ids(lab: LabLayout, queue: str) -> set[str]:
    """The JMSMessageID of every message on `queue` (a browse: the first 400)."""
    async with jolokia(lab) as client:
        mbean = destination_mbean(await client.broker_name(), "Queue", queue)
        payload = {"type": "exec", "mbean": mbean, "operation": "browse()"}
        payload["path"] = "*/JMSMessageID"
        answer = await client.request(payload, f"browsing {queue}")
    values = answer.values() if isinstance(answer, dict) else answer or []
    return {str(v) for v in values}


def owner(queue: str) -> str:
    """The GUID of `Consumer.<guid>.<topic>`: the gate's title names it."""
    return queue.split(".")[1]


async def pending(lab: LabLayout, queue: str) -> int:
    async with jolokia(lab) as client:
        stats, _ = await client.read_stats(queue, None)
    return stats.pending


def archived_ids(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["headers"]["message-id"] for line in lines]


async def test_an_orphan_is_offered_after_the_clear_and_cleared_into_its_archive_only_if_accepted(
    lab: LabLayout, lab_config: Path, backup_set: Path, tmp_path: Path
) -> None:
    await restore(lab)
    topic = read_settings(lab).topic
    gone, kept, consumed = (sync_queue_name(str(uuid.uuid4()), topic) for _ in range(3))
    async with jolokia(lab) as client:
        for queue in (gone, kept, consumed):
            await client.add_queue(queue)
    someone = attached_consumer(lab, consumed)
    try:
        published = await generate(lab, rate=50, duration=1, seed=61)  # a copy in each queue
        assert published > 0
        held = {queue: await pending(lab, queue) for queue in (gone, kept)}
        assert held == {gone: published, kept: published}
        ids_gone = await message_ids(lab, gone)
        assert len(ids_gone) == published

        asked: list[Gate] = []
        accept: set[str] = set()  # the queues whose offer the admin accepts

        async def confirm(gate: Gate) -> bool:
            if not gate.optional:
                return True  # the stop and the sync queue's clear
            asked.append(gate)
            return any(owner(queue) in gate.title for queue in accept)

        profile = lab_profile(lab_config, tmp_path / "backups")
        run = start_restore(
            profile,
            backup_set,
            RestoreChoices("clear"),
            broker_password=broker_password(profile.broker),
            confirm=confirm,
        )
        try:
            for step in ("verify_set", "preflight", "stop_services", "check_quiet"):
                assert await run.run_step(step) == StepState.DONE, run.errors.get(step)
            assert await run.run_step("clear_events") == StepState.DONE

            # Declined (the default): the step is skipped, saying why; nothing is touched.
            assert await run.run_step(ORPHANS) == StepState.SKIPPED, run.errors.get(ORPHANS)
            offered = {g.title: g for g in asked}
            assert sorted(offered) == sorted(
                f"Clear the orphaned queue of {owner(q)}?" for q in (gone, kept)
            )
            gate = offered[f"Clear the orphaned queue of {owner(gone)}?"]
            assert ("queue", gone) in gate.facts
            assert ("pending", f"{published:,}") in gate.facts and ("consumers", "0") in gate.facts
            assert gate.token == owner(gone)[:8]
            declined = run.records[ORPHANS]["declined"]["gates"]
            assert sorted(declined) == sorted(offered)
            left = run.results[ORPHANS]["left"]
            assert {e["queue"] for e in left} == {gone, kept}
            assert all("declined" in e["why"] for e in left)
            assert any(consumed in line for line in run.results[ORPHANS]["not_offered"])
            assert await pending(lab, gone) == published and await pending(lab, kept) == published
            run_dir = runs_dir() / run.run_id
            assert not list(run_dir.glob("orphan-*")), "nothing archived when declined"

            # Accepted for one: every event of it is in its archive; the other stays.
            asked.clear()
            accept.add(gone)
            assert await run.run_step(ORPHANS) == StepState.DONE, run.errors.get(ORPHANS)
            assert all(owner(consumed) not in g.title for g in asked), "a consumed queue: no offer"
            (cleared,) = run.results[ORPHANS]["cleared"]
            assert cleared["queue"] == gone and cleared["removed"] == published
            archive = Path(cleared["archive"])
            assert archive.parent == run_dir and archive.name == f"orphan-{gone}.jsonl"
            assert sorted(archived_ids(archive)) == sorted(ids_gone)
            assert await pending(lab, gone) == 0
            assert await pending(lab, kept) == published
            assert [e["queue"] for e in run.results[ORPHANS]["left"]] == [kept]
        finally:
            await run.aclose()
        record = load_run(run_dir)
        assert record.records[ORPHANS]["cleared"]["queues"][0]["queue"] == gone
        report = write_report(record, tmp_path / "report.md").read_text(encoding="utf-8")
        assert "## Orphaned consumer queues" in report
        assert f"orphan-{gone}.jsonl" in report and kept in report
    finally:
        someone.disconnect()
        async with jolokia(lab) as client:
            for queue in (gone, kept, consumed):
                await client.remove_queue(queue)
        await restore(lab)
