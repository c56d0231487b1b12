"""What the restore finds out on the broker before anything is stopped, against the real
lab: a set of another installation (a gate naming both sync GUIDs), the queues nobody
consumes, a topic someone else subscribes to (never deleted), and a STOMP channel the
clear could not use."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import time
import uuid
from pathlib import Path

import pytest
import stomp
from broker_fixture import ReceiptWaiter, await_receipt
from standin_support import healthy, jolokia, restore, sync_queue
from test_backup_support import FAST, lab_profile

from syncwizard.clients.names import sync_queue_name
from syncwizard.config import broker_password, load_settings
from syncwizard.errors import SyncWizardError
from syncwizard.lab.generator import generate
from syncwizard.lab.layout import HOST, LabLayout, read_settings
from syncwizard.runbook.model import Gate, StepState
from syncwizard.runbook.restore.runbook import RestoreChoices, start_restore

pytestmark = pytest.mark.integration


def set_of_another_installation(set_dir: Path, to: Path) -> tuple[Path, str]:
    """The set as if taken on staging: the same dumps, another sync GUID in its manifest."""
    copy = Path(shutil.copytree(set_dir, to / set_dir.name))
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["sync_id"] = str(uuid.uuid4())
    (copy / "manifest.json").write_text(json.dumps(manifest))
    return copy, manifest["sync_id"]


async def test_a_set_of_another_installation_is_a_gate_naming_both_guids_before_any_stop(
    lab: LabLayout, lab_config: Path, backup_set: Path, tmp_path: Path
) -> None:
    await restore(lab)
    staging, theirs = set_of_another_installation(backup_set, tmp_path)
    live = sync_queue(lab).split(".")[1]
    asked: list[Gate] = []

    async def declined(gate: Gate) -> bool:
        asked.append(gate)
        return False  # the admin sees the GUIDs differ and stops here

    profile = lab_profile(lab_config, tmp_path / "backups")
    run = start_restore(
        profile,
        staging,
        RestoreChoices("clear"),
        broker_password=broker_password(profile.broker),
        confirm=declined,
    )
    try:
        for step in ("verify_set", "preflight"):
            assert await run.run_step(step) == StepState.DONE, run.errors.get(step)
        assert run.results["preflight"]["sync_id_differs"] is True
        assert any("a gate naming both" in w for w in run.results["preflight"]["warnings"])
        assert await run.run_step("stop_services") != StepState.DONE
    finally:
        await run.aclose()
    gate = asked[0]
    assert gate.title == "Restore the backup of another Sync Service?"
    assert gate.token == theirs[:8]
    assert ("GUID in the set", theirs) in gate.facts and ("GUID running here", live) in gate.facts
    assert len(asked) == 1, "the stop's own gate comes only after this one is passed"
    assert await healthy(lab) is not None, "nothing was stopped"


async def test_a_queue_nobody_consumes_is_named_at_the_preflight(
    lab: LabLayout, lab_config: Path, backup_set: Path, tmp_path: Path
) -> None:
    await restore(lab)
    topic = read_settings(lab).topic
    orphan = sync_queue_name(str(uuid.uuid4()), topic)
    async with jolokia(lab) as client:
        await client.add_queue(orphan)
    try:
        await generate(lab, rate=50, duration=1, seed=53)  # copied into the orphan too
        profile = lab_profile(lab_config, tmp_path / "backups")
        run = start_restore(
            profile,
            backup_set,
            RestoreChoices("clear"),
            broker_password=broker_password(profile.broker),
            confirm=_no,
        )
        try:
            for step in ("verify_set", "preflight"):
                assert await run.run_step(step) == StepState.DONE, run.errors.get(step)
        finally:
            await run.aclose()
        preflight = run.results["preflight"]
        assert any(orphan in line for line in preflight["other_subscribers"])
        (warning,) = [w for w in preflight["warnings"] if orphan in w]
        assert "no consumer but hold events" in warning and "flow control" in warning
    finally:
        async with jolokia(lab) as client:
            await client.remove_queue(orphan)
        await restore(lab)


async def _no(gate: Gate) -> bool:
    return False


def durable_subscription(lab: LabLayout, topic: str) -> stomp.Connection12:
    """Search Enterprise's live indexing, as the broker sees it: a durable subscription."""
    password = lab.broker_password_file.read_text(encoding="utf-8").strip()
    connection = stomp.Connection12([(HOST, lab.ports.stomp)], timeout=5)
    connection.connect("admin", password, wait=True, headers={"client-id": "search"})
    waiter = ReceiptWaiter("durable")
    connection.set_listener("durable", waiter)
    connection.subscribe(
        f"/topic/{topic}",
        id="live-indexing",
        headers={"activemq.subscriptionName": "live-indexing", "receipt": "durable"},
    )
    await_receipt(waiter, "the durable subscription search/live-indexing")
    return connection


async def test_deleting_a_topic_another_subscriber_takes_is_refused_and_both_stay(
    lab: LabLayout, lab_config: Path, backup_set: Path, tmp_path: Path
) -> None:
    await restore(lab)
    topic, queue = read_settings(lab).topic, sync_queue(lab)
    search = durable_subscription(lab, topic)
    profile = lab_profile(lab_config, tmp_path / "backups")
    run = start_restore(
        profile,
        backup_set,
        RestoreChoices("delete"),
        broker_password=broker_password(profile.broker),
        confirm=_yes,
    )
    try:
        for step in ("verify_set", "preflight", "stop_services", "check_quiet"):
            assert await run.run_step(step) == StepState.DONE, run.errors.get(step)
        assert any(
            "search/live-indexing" in s for s in run.results["preflight"]["other_subscribers"]
        )
        assert await run.run_step("clear_events") != StepState.DONE
        error = run.errors["clear_events"]
        assert "other subscribers" in error.message and "search/live-indexing" in error.message
        async with jolokia(lab) as client:
            assert queue in await client.list_queues() and topic in await client.list_topics()
    finally:
        await run.aclose()
        search.disconnect()
        async with jolokia(lab) as client:  # an UNSUBSCRIBE does not end a durable one
            deadline = time.monotonic() + 15
            while True:  # the broker ends it once the disconnect has made it inactive
                try:
                    await client.destroy_durable_subscription("search", "live-indexing")
                    break
                except SyncWizardError:
                    assert time.monotonic() < deadline, "the subscription stayed active"
                    await asyncio.sleep(0.2)
            assert (await client.topic_subscribers(topic, queue)).alone
        await restore(lab)


async def _yes(gate: Gate) -> bool:
    return True


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


async def test_a_closed_stomp_port_is_found_at_the_preflight_before_anything_is_stopped(
    lab: LabLayout, lab_config: Path, backup_set: Path, tmp_path: Path
) -> None:
    await restore(lab)
    environ = {
        "SYNCWIZARD_BACKUP__DIR": str(tmp_path / "backups"),
        **FAST,
        "SYNCWIZARD_BROKER__STOMP": f"stomp://{HOST}:{closed_port()}",
    }
    profile = load_settings(lab_config, "lab", environ=environ).profile
    run = start_restore(
        profile,
        backup_set,
        RestoreChoices("clear"),
        broker_password=broker_password(profile.broker),
        confirm=_yes,
    )
    try:
        assert await run.run_step("verify_set") == StepState.DONE
        assert await run.run_step("preflight") == StepState.FAILED
        error = run.errors["preflight"]
        assert "the broker has no STOMP connector at stomp://" in error.message
        assert "broker.stomp_open" in error.hint and "nothing was stopped" in error.hint
    finally:
        await run.aclose()
    assert await healthy(lab) is not None, "nothing was stopped"
