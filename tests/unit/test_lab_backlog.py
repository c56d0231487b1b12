"""The backlog mode's pieces that need no lab: the plan of changes and the STOMP frames."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from pathlib import Path

import pytest
from stomp.utils import parse_frame

from syncwizard.cli import parse_args
from syncwizard.errors import SyncWizardError
from syncwizard.lab.backlog import RECEIPT_ID, _frame_head, _frames, _Pool, make_backlog
from syncwizard.lab.layout import LabLayout
from syncwizard.lab.node_events import (
    HEADERS,
    NODE_ADDED,
    NODE_REMOVED,
    NODE_UPDATED,
    new_event,
    parse_event,
)


def _pool(nodes: int, seed: int = 1) -> _Pool:
    documents = [(str(uuid.uuid4()), f"document-{n}.txt") for n in range(nodes)]
    return _Pool(random.Random(seed), documents, folders=[2, 3, 4])


def test_a_batch_changes_each_node_at_most_once_in_the_generators_mix() -> None:
    pool = _pool(5000)
    before = dict(pool.nodes)
    changes = pool.plan(10_000)
    assert len({c.node_id for c in changes}) == len(changes)
    kinds = Counter(c.kind for c in changes)
    assert 0.77 < kinds[NODE_ADDED] / 10_000 < 0.83, kinds
    assert 0.10 < kinds[NODE_UPDATED] / 10_000 < 0.14, kinds
    assert 0.06 < kinds[NODE_REMOVED] / 10_000 < 0.10, kinds
    for change in changes:
        if change.kind == NODE_UPDATED:
            assert change.name.startswith(before[change.node_id] + " (rev ")
        elif change.kind == NODE_REMOVED:
            assert change.name == before[change.node_id]
    # What the next batch may pick: the untouched, the added and the edited, never the removed.
    after = dict(pool.nodes)
    assert len(after) == len(before) + kinds[NODE_ADDED] - kinds[NODE_REMOVED]
    assert not {c.node_id for c in changes if c.kind == NODE_REMOVED} & set(after)
    assert all(after[c.node_id] == c.name for c in changes if c.kind != NODE_REMOVED)


def test_an_edit_of_an_edited_document_drops_the_old_revision() -> None:
    pool = _pool(1)
    for _ in range(200):
        pool.plan(1)
    names = [name for _, name in pool.nodes if name.startswith("document-0.txt")]
    assert all(name.count("(rev ") <= 1 for name in names), names


def test_with_nothing_to_edit_every_change_is_an_add() -> None:
    changes = _pool(0).plan(50)
    assert {c.kind for c in changes} == {NODE_ADDED}


def test_the_frames_are_the_generators_events_as_stomp_send_frames() -> None:
    events = [
        new_event(NODE_ADDED, str(uuid.uuid4()), f"n{i}.txt", 1_700_000 + i) for i in range(3)
    ]
    data = _frames(_frame_head("/topic/VirtualTopic.x"), events, receipt=RECEIPT_ID)
    raw = data.split(b"\x00")
    assert raw[-1] == b"" and len(raw) == 4
    for number, (chunk, event) in enumerate(zip(raw[:-1], events, strict=True)):
        frame = parse_frame(chunk)
        assert frame.cmd == "SEND"
        assert frame.headers["destination"] == "/topic/VirtualTopic.x"
        for key, value in HEADERS.items():
            assert frame.headers[key] == value
        assert int(frame.headers["content-length"]) == len(event.to_json().encode())
        assert parse_event(frame.body) == event
        assert ("receipt" in frame.headers) == (number == 2)
    assert parse_frame(raw[2]).headers["receipt"] == RECEIPT_ID


def test_no_receipt_is_asked_but_on_the_last_batch() -> None:
    events = [new_event(NODE_ADDED, str(uuid.uuid4()), "n.txt", 1)]
    assert b"receipt" not in _frames(_frame_head("/topic/t"), events, receipt=None)


@pytest.mark.parametrize("count", [0, -1, 1_000_001])
async def test_a_backlog_out_of_range_is_refused_before_touching_the_lab(count: int) -> None:
    nowhere = LabLayout(Path("/nonexistent/lab"))
    with pytest.raises(SyncWizardError, match="Cannot make a backlog") as caught:
        await make_backlog(nowhere, count)
    assert "--backlog 100000" in caught.value.hint


def test_lab_generate_takes_a_backlog() -> None:
    args = parse_args(["lab", "generate", "--backlog", "100000"])
    assert args.backlog == 100_000
    assert parse_args(["lab", "generate"]).backlog is None
