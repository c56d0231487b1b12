"""The drain wait against the lab when the counter lies and when the clocks disagree.

- An event from before t0 held unacknowledged by a second consumer (prefetch) while the
  stand-in consumes newer ones: DequeueCount - D0 passes P0, yet the wait must not end.
- The clocks: the lab's hosts share one clock, so a skew is injected where one side's
  clock is read (the other side is the real service): refused past backup.clock_skew,
  and within it the margin grows by it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import stomp
from standin_support import plain_env, restore, sync_queue
from test_backup_support import lab_profile, partial_files, the_set

from syncwizard.config import Profile, broker_password
from syncwizard.lab import standin
from syncwizard.lab.generator import generate
from syncwizard.lab.layout import HOST, LabLayout
from syncwizard.runbook import backupset
from syncwizard.runbook.backup.clocks import ClockReading
from syncwizard.runbook.backup.drain import DrainStatus
from syncwizard.runbook.backup.runbook import BackupOptions, resume_backup, start_backup
from syncwizard.runbook.backup.systems import BackupSystems
from syncwizard.runbook.engine import Engine
from syncwizard.runbook.journal import find_unfinished
from syncwizard.runbook.model import EventKind, StepEvent

pytestmark = pytest.mark.integration

DRAIN_TIMEOUT = "20"  # the wait that must not end gives up after this many seconds


class Holder(stomp.ConnectionListener):
    """A second consumer of the sync queue that takes one message and never acknowledges
    it: a Sync Service node stuck on an event in its prefetch."""

    def __init__(self) -> None:
        self.got = threading.Event()
        self.timestamps: list[int] = []

    def on_message(self, frame: stomp.utils.Frame) -> None:
        self.timestamps.append(int(frame.headers.get("timestamp", "0")))
        self.got.set()


@dataclasses.dataclass
class HeldEvent:
    connection: stomp.Connection12
    listener: Holder

    def release(self) -> None:
        """Disconnect without acknowledging: the broker redelivers it to the stand-in."""
        if self.connection.is_connected():
            self.connection.disconnect()


@pytest.fixture
async def held_event(lab: LabLayout) -> AsyncIterator[HeldEvent]:
    """One real repository event published now (before any t0 of the test), held by a
    second consumer; the stand-in consumes everything else."""
    await restore(lab)
    queue = sync_queue(lab)
    standin.stop(lab)  # so the event goes to the holder, the only consumer for a moment
    password = lab.broker_password_file.read_text(encoding="utf-8").strip()
    connection = stomp.Connection12([(HOST, lab.ports.stomp)], reconnect_attempts_max=1)
    listener = Holder()
    connection.set_listener("holder", listener)
    connection.connect("admin", password, wait=True)
    held = HeldEvent(connection, listener)
    try:
        connection.subscribe(
            f"/queue/{queue}",
            id="holder",
            ack="client-individual",
            headers={"activemq.prefetchSize": "1"},
        )
        await generate(lab, rate=10, duration=0.1, seed=11)  # one change, one event
        assert await asyncio.to_thread(listener.got.wait, 30), "the holder got no event"
        await asyncio.to_thread(standin.start, lab, env=plain_env())
        yield held
    finally:
        held.release()
        await restore(lab)  # the stand-in consumes the redelivered event; no drift left


def drain_statuses(events: list[StepEvent]) -> list[DrainStatus]:
    return [
        e.detail
        for e in events
        if e.kind == EventKind.PROGRESS and isinstance(e.detail, DrainStatus)
    ]


async def test_an_event_older_than_t0_held_by_a_consumer_keeps_the_wait_open_past_p0(
    lab: LabLayout, lab_config: Path, tmp_path: Path, held_event: HeldEvent
) -> None:
    backups = tmp_path / "backups"
    profile = lab_profile(lab_config, backups, SYNCWIZARD_BACKUP__DRAIN_TIMEOUT=DRAIN_TIMEOUT)
    events: list[StepEvent] = []
    engine = start_backup(
        profile,
        BackupOptions.from_settings(profile.backup),
        broker_password=broker_password(profile.broker),
        observers=[events.append],
    )
    # the repository keeps changing: the stand-in consumes those events, past P0
    generator = asyncio.create_task(generate(lab, rate=20, duration=10, seed=12))
    try:
        outcome = await engine.run()
    finally:
        await engine.aclose()
        await generator
    assert (outcome.status, outcome.step_id) == ("failed", "wait_drain")
    assert outcome.error is not None and "did not drain within 20 s" in outcome.error.message
    repository = engine.results["repository_db"]
    t0 = float(repository["t0"])
    assert held_event.listener.timestamps[0] / 1000 < t0  # the held event is from before t0
    p0 = repository["queue_at_t0"]["pending"]
    assert p0 >= 1  # the held event is one of them
    statuses = drain_statuses(events)
    # the counter's clause held, nothing else blocked: the old criterion called it drained
    passed = [
        s
        for s in statuses
        if s.consumed is not None and s.p0 is not None and s.consumed >= s.p0 and not s.problems
    ]
    assert passed, [s.text for s in statuses[-3:]]
    assert all(not s.ready and s.clause is None for s in passed)
    assert "is still pending" in passed[-1].text and "unacknowledged" in passed[-1].text

    # the stuck consumer lets go: the event is redelivered to the stand-in, the run resumes
    held_event.release()
    unfinished = find_unfinished("backup")
    assert unfinished is not None
    resumed = await resume_backup(
        unfinished, profile, broker_password=broker_password(profile.broker)
    )
    try:
        assert (await resumed.run()).status == "finished"
    finally:
        await resumed.aclose()
    manifest = json.loads((the_set(backups) / "manifest.json").read_text())
    assert manifest["wait"]["clause"] is not None
    assert (await backupset.verify_set(the_set(backups))).ok


class SkewedSystems(BackupSystems):
    """The lab's systems, one clock reading shifted: the lab cannot move a host's clock."""

    def __init__(self, profile: Profile, *, broker_by: float = 0.0, db_by: float = 0.0) -> None:
        super().__init__(profile, broker_password(profile.broker))
        self.broker_by, self.db_by = broker_by, db_by

    async def broker_clock(self) -> ClockReading:
        real = await super().broker_clock()
        return dataclasses.replace(real, reading=real.reading + self.broker_by)

    async def database_clock(self, role: str) -> ClockReading:
        real = await super().database_clock(role)
        return dataclasses.replace(real, reading=real.reading + self.db_by)


def skewed_engine(profile: Profile, events: list[StepEvent], systems: BackupSystems) -> Engine:
    return start_backup(
        profile,
        BackupOptions.from_settings(profile.backup),
        broker_password=broker_password(profile.broker),
        observers=[events.append],
        systems=systems,
    )


@pytest.mark.parametrize(
    ("skew", "named"),
    [
        ({"broker_by": 30.0}, "the broker's clock (Jolokia at http"),
        ({"db_by": -30.0}, "the repository database server's clock"),
    ],
)
async def test_clocks_further_apart_than_allowed_are_refused_before_anything_is_dumped(
    lab: LabLayout,
    lab_config: Path,
    tmp_path: Path,
    skew: dict[str, float],
    named: str,
) -> None:
    await restore(lab)
    backups = tmp_path / "backups"
    profile = lab_profile(lab_config, backups, SYNCWIZARD_BACKUP__CLOCK_SKEW="2")
    events: list[StepEvent] = []
    engine = skewed_engine(profile, events, SkewedSystems(profile, **skew))
    try:
        outcome = await engine.run()
    finally:
        await engine.aclose()
    assert (outcome.status, outcome.step_id) == ("failed", "repository_db")
    error = outcome.error
    assert error is not None and outcome.refused
    assert named in error.message
    assert "the broker's clock" in error.message and "database server's clock" in error.message
    assert "backup.clock_skew = 2 s" in error.message and "backup.publish_lag" in error.message
    assert "NTP" in error.hint and "raise backup.clock_skew to at least 3" in error.hint
    set_dir = the_set(backups)
    assert partial_files(set_dir) == [] and list(set_dir.iterdir()) == []


async def test_a_skew_within_the_allowed_widens_the_margin_of_the_snapshot_and_the_wait(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    await restore(lab)
    backups = tmp_path / "backups"
    profile = lab_profile(lab_config, backups, SYNCWIZARD_BACKUP__CLOCK_SKEW="2")
    events: list[StepEvent] = []
    engine = skewed_engine(profile, events, SkewedSystems(profile, broker_by=2.0))
    try:
        outcome = await engine.run()
    finally:
        await engine.aclose()
    assert outcome.status == "finished", outcome.error and outcome.error.render()
    manifest = json.loads((the_set(backups) / "manifest.json").read_text())
    wait = manifest["wait"]
    assert wait["margin"] >= 0.5 + 2.0  # publish_lag + at least the injected skew
    # the wider of the two measurements (before the dump, at the wait) is kept
    assert wait["margin"] >= wait["clocks"]["margin"]
    assert wait["clocks"]["skew"] >= 2.0
    (said,) = [n for n in wait["notes"] if "the clocks differ by up to" in n]
    assert "the margin after t0 is" in said and "backup.publish_lag 0.5 s" in said
    # P0 and D0 were read after t0 + the widened margin, not after t0 + 0.5 s
    (repo_dump, _) = manifest["dumps"]
    taken = manifest["queue_snapshots"]["t0"]["taken_at"]
    assert taken - repo_dump["snapshot_at"] >= 2.5
    # t0 is the database server's clock at the snapshot, just before this host's stamp
    assert manifest["t0"]["at"] <= repo_dump["snapshot_at_iso"]
