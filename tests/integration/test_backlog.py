"""The lab's backlog mode against the real lab: N changes committed to the repository DB in
batches, their N events pending on `Consumer.<guid>.<topic>` while the Sync Service
stand-in is stopped, and consumed by it, to no drift, once it starts again."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from dataclasses import replace

import pytest
import stomp
from broker_fixture import subscribe_confirmed
from standin_support import (
    db,
    drained,
    eventually,
    pending,
    plain_env,
    running_standin,  # noqa: F401  (the fixture every test here uses)
)
from test_generator import _TopicListener

from syncwizard.cli import main
from syncwizard.errors import SyncWizardError
from syncwizard.lab import postgres, standin
from syncwizard.lab.backlog import make_backlog
from syncwizard.lab.layout import HOST, LabLayout, read_settings
from syncwizard.lab.node_events import EVENT_TYPES, NODE_ADDED, NODE_REMOVED, parse_event

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("running_standin")]

BACKLOG = 5000
# 5,000 events in under 10 s on 2 busy cores (measured: ~1 s); 100,000 are timed by
# bench/backlog.py and by the weekend-outage scenario's setup in test_training.py.
BACKLOG_BUDGET_S = 10.0


def _count(lab: LabLayout, sql: str) -> int:
    with db(lab, "repository") as repo:
        row = repo.execute(sql).fetchone()
    assert row is not None
    return int(row[0])


async def consume_backlog(lab: LabLayout) -> None:
    """Start the stopped stand-in, wait until it has taken every event to no drift, and
    start it once more: the backlog's lag (seconds) would keep its event lag check
    unhealthy for the minute it looks back over, as the real one's would."""
    standin.start(lab, env=plain_env())
    await eventually(lambda: drained(lab), "the stand-in consuming the backlog", timeout=120)
    await eventually(lambda: postgres.node_drift(lab).in_sync, "no drift")
    standin.stop(lab)
    standin.start(lab, env=plain_env())


def _names(lab: LabLayout) -> tuple[dict[str, str], dict[str, str]]:
    """uuid -> name of the repository's live nodes and of the Sync DB's nodes."""
    with db(lab, "repository") as repo:
        live = repo.execute("SELECT uuid::text, name FROM alf_node WHERE NOT deleted").fetchall()
    with db(lab, "sync") as sync:
        synced = sync.execute("SELECT node_uuid::text, name FROM sync_node").fetchall()
    return dict(live), dict(synced)


async def test_a_backlog_waits_on_the_queue_and_the_restarted_standin_consumes_it(
    lab: LabLayout,
) -> None:
    rows_before = _count(lab, "SELECT count(*) FROM alf_node")
    removed_before = _count(lab, "SELECT count(*) FROM alf_node WHERE deleted")
    with db(lab, "sync") as sync:
        last_logged = sync.execute("SELECT coalesce(max(id), 0) FROM sync_event_log").fetchone()
    assert last_logged is not None
    standin.stop(lab)
    assert await pending(lab) == 0
    progress: list[int] = []

    started = time.monotonic()
    made = await make_backlog(lab, BACKLOG, seed=11, on_progress=progress.append)
    elapsed = time.monotonic() - started

    print(f"TIMING backlog of {BACKLOG:,}: {elapsed:.2f} s ({made.db_seconds:.2f} s in the DB)")
    assert made.events == BACKLOG
    assert elapsed < BACKLOG_BUDGET_S, f"{BACKLOG:,} events took {elapsed:.1f} s"
    assert progress[-1] == BACKLOG and progress == sorted(progress)
    # On the queue as the receipt came: nothing consumes it while the stand-in is down.
    assert await pending(lab) == BACKLOG
    # The repository changes are committed: every add is a new row, every removal marked.
    added = _count(lab, "SELECT count(*) FROM alf_node") - rows_before
    removed = _count(lab, "SELECT count(*) FROM alf_node WHERE deleted") - removed_before
    assert added > BACKLOG * 0.7 and removed > 0
    # Each add and edit also wrote the node's cm:name property, as the generator does.
    unnamed = _count(
        lab,
        "SELECT count(*) FROM alf_node n LEFT JOIN alf_node_properties p "
        "ON p.node_id = n.id AND p.qname = '{http://www.alfresco.org/model/content/1.0}name' "
        "WHERE p.string_value IS DISTINCT FROM n.name",
    )
    assert unnamed == 0
    assert not postgres.node_drift(lab).in_sync  # the Sync DB has not heard of them yet

    await consume_backlog(lab)
    with db(lab, "sync") as sync:
        logged = sync.execute(
            "SELECT event_type, count(*) FROM sync_event_log WHERE id > %s GROUP BY event_type",
            last_logged,
        ).fetchall()
    kinds = Counter({str(kind): int(n) for kind, n in logged})
    assert sum(kinds.values()) == BACKLOG, kinds
    assert set(kinds) == set(EVENT_TYPES), kinds
    assert kinds[NODE_ADDED] == added and kinds[NODE_REMOVED] == removed, (kinds, added, removed)
    live, synced = _names(lab)
    assert synced == live  # the same nodes, each under the name its last event gave it


async def test_each_backlog_event_follows_its_commit_in_the_generators_shape(
    lab: LabLayout,
) -> None:
    listener = _TopicListener()
    listener.db = db(lab, "repository")
    watcher = stomp.Connection12([(HOST, lab.ports.stomp)])
    watcher.set_listener("watch", listener)
    password = lab.broker_password_file.read_text(encoding="utf-8").strip()
    watcher.connect("admin", password, wait=True)
    count = 600
    try:
        subscribe_confirmed(watcher, f"/topic/{read_settings(lab).topic}", id="watch")
        await make_backlog(lab, count, seed=5, batch_size=100)  # six batches
        deadline = time.monotonic() + 20
        while len(listener.frames) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        watcher.disconnect()
        listener.db.close()

    assert len(listener.frames) == count
    events = [parse_event(frame.body) for frame in listener.frames]
    kinds: Counter[str] = Counter()
    for number, (frame, event, row) in enumerate(
        zip(listener.frames, events, listener.repository_rows, strict=True)
    ):
        assert frame.headers["persistent"] == "true"
        assert frame.headers["content-type"].startswith("application/json")
        assert set(json.loads(frame.body)) == {"id", "type", "nodeId", "name", "timestamp"}
        assert abs(event.timestamp_ms / 1000 - time.time()) < 60
        kinds[event.type] += 1
        # Its batch had committed before the event went out: on arrival the node is as
        # the event says, unless a later batch changed it again (its event comes later).
        assert row is not None, f"{event.type} {event.node_id} not in alf_node on arrival"
        if row != (event.name, event.type == NODE_REMOVED):
            later = [e for e in events[number + 1 :] if e.node_id == event.node_id]
            assert later, (event, row)
    assert set(kinds) == set(EVENT_TYPES), kinds
    ids = [parse_event(frame.body).id for frame in listener.frames]
    assert len(set(ids)) == len(ids)
    await eventually(lambda: postgres.node_drift(lab).in_sync, "no drift", timeout=30)


@pytest.mark.parametrize("count", [0, -5])
async def test_a_nonsense_backlog_is_refused(lab: LabLayout, count: int) -> None:
    with pytest.raises(SyncWizardError, match=f"backlog of {count:,} events") as caught:
        await make_backlog(lab, count)
    assert "--backlog" in caught.value.hint


async def test_an_unreachable_broker_is_named_and_nothing_is_changed(lab: LabLayout) -> None:
    unreachable = LabLayout(lab.root, replace(lab.ports, stomp=1))
    rows = "SELECT count(*), max(id), max(modified_at)::text FROM alf_node"
    with db(lab, "repository") as repo:
        before = repo.execute(rows).fetchone()
    with pytest.raises(SyncWizardError) as caught:
        await make_backlog(unreachable, 1000)
    assert caught.value.system == "stomp"
    assert f"{HOST}:1" in caught.value.message
    with db(lab, "repository") as repo:
        assert repo.execute(rows).fetchone() == before


async def test_lab_generate_backlog_command(
    lab: LabLayout, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SYNCWIZARD_STATE_DIR", str(lab.root.parent))  # its lab is this one
    standin.stop(lab)
    assert await asyncio.to_thread(main, ["lab", "generate", "--backlog", "2000"]) == 0
    out = capsys.readouterr().out
    assert "2,000 events published" in out, out
    assert await pending(lab) == 2000
    await consume_backlog(lab)
