"""Archive lines written fast, and read back for the events table."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from syncwizard.clients.event_archive_writer import ArchiveAppender, LineEncoder, message_record
from syncwizard.clients.event_fields import event_fields
from syncwizard.errors import SyncWizardError
from syncwizard.runbook.restore.archive import count_archive, iter_archive, read_archive

NODE = "5b0f7a4e-3c1d-4e8f-9a2b-6c7d8e9f0a1b"
LAB_BODY = (
    f'{{"id":"0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b","type":"NODEADDED","nodeId":"{NODE}",'
    f'"name":"generated-5b0f7a4e.txt","timestamp":1764140419123}}'
)
EVENT2_BODY = json.dumps(
    {
        "specversion": "1.0",
        "type": "org.alfresco.event.node.Created",
        "id": "368818d9-dddd-4b8b-8eab-e050253d7f61",
        "source": "/08d9b620-48de-4247-8f33-360988d3b19b",
        "time": "2021-01-26T10:29:42.99524Z",
        "data": {"resource": {"@type": "NodeResource", "id": NODE, "name": "a.txt"}},
    }
)


def headers(number: int, **extra: str) -> dict[str, str]:
    return {
        "destination": "/queue/Consumer.x.VirtualTopic.alfresco.repo.events.nodes",
        "message-id": f"ID:host-1-2:1:1:1:{number}",
        "timestamp": str(1_764_140_000_000 + number),
        "priority": "4",
        **extra,
    }


def write_archive(path: Path, bodies: list[bytes]) -> Path:
    writer = ArchiveAppender(path)
    for number, body in enumerate(bodies):
        writer.add(headers(number), body)
    writer.close()
    return path


# --- the fast line encoder writes what json would --------------------------------------------


@pytest.mark.parametrize(
    ("message_headers", "body"),
    [
        (headers(1), LAB_BODY.encode()),
        (headers(2, note='quote " back\\slash tab\t nl\n'), b"line one\nline two\r\n\x00\x1f"),
        ({"bl\u00e5b\u00e6r": "gr\u00fc\u00dfe \u2028 \U0001f600"}, "d\u00f6kument".encode()),
        ({}, b""),
        (headers(3), b"\xff\xfe not utf-8"),
    ],
)
def test_a_fast_line_is_the_json_of_the_message_record(
    message_headers: dict[str, str], body: bytes
) -> None:
    encode = LineEncoder()
    expected = json.dumps(
        message_record(message_headers, body), ensure_ascii=False, separators=(",", ":")
    )
    for _ in range(2):  # the second time from the cache of header pairs
        line = encode(message_headers, body)
        assert line == (expected + "\n").encode()
        assert line.count(b"\n") == 1


def test_the_cache_of_header_pairs_stays_bounded() -> None:
    encode = LineEncoder(cache_limit=3)
    for number in range(10):
        assert json.loads(encode(headers(number), b"x"))["headers"] == headers(number)
    assert len(encode._pairs) == 3


# --- the table's fields -----------------------------------------------------------------------


def test_a_lab_or_legacy_node_event_gives_type_node_and_time() -> None:
    assert event_fields(LAB_BODY) == ("NODEADDED", NODE, "2025-11-26T07:00:19.123Z")


def test_an_event2_cloud_event_gives_type_resource_id_and_its_time() -> None:
    assert event_fields(EVENT2_BODY) == (
        "org.alfresco.event.node.Created",
        NODE,
        "2021-01-26T10:29:42.99524Z",
    )


@pytest.mark.parametrize(
    "body",
    ["plain text", "", "[1, 2]", '{"type": 5, "nodeId": null}', "{not json}", '{"a": 1}'],
)
def test_unknown_bodies_leave_the_fields_empty(body: str) -> None:
    assert event_fields(body) == ("", "", "")


def test_a_timestamp_in_seconds_is_read_as_seconds() -> None:
    assert event_fields('{"type":"T","timestamp":1764140419}')[2] == "2025-11-26T07:00:19.000Z"


# --- reading an archive -------------------------------------------------------------------------


def test_every_event_is_read_back_with_its_table_fields(tmp_path: Path) -> None:
    bodies = [LAB_BODY.encode(), EVENT2_BODY.encode(), b"not an event", b"\xff\x00"]
    path = write_archive(tmp_path / "events.jsonl", bodies)

    rows = read_archive(path)

    assert [row.message_id for row in rows] == [f"ID:host-1-2:1:1:1:{n}" for n in range(4)]
    assert [row.event_type for row in rows] == [
        "NODEADDED",
        "org.alfresco.event.node.Created",
        "",
        "",
    ]
    assert [row.node_id for row in rows] == [NODE, NODE, "", ""]
    assert rows[0].event_time == "2025-11-26T07:00:19.123Z"
    assert rows[2].event_time == "2025-11-26T06:53:20.002Z"  # the JMSTimestamp, no body time
    assert rows[2].body == "not an event" and rows[2].timestamp == 1_764_140_000_002
    assert rows[3].body == b"\xff\x00".decode("utf-8", errors="replace")
    assert rows[1].headers["priority"] == "4"


def test_a_window_of_a_large_archive_is_read_from_its_start(tmp_path: Path) -> None:
    path = write_archive(tmp_path / "events.jsonl", [LAB_BODY.encode()] * 5000)

    window = read_archive(path, start=4200, limit=1000)

    assert len(window) == 800
    assert window[0].message_id.endswith(":4200") and window[-1].message_id.endswith(":4999")
    assert count_archive(path) == 5000
    assert len(list(iter_archive(path))) == 5000
    assert read_archive(path, start=6000) == []


def test_a_last_line_cut_short_is_neither_counted_nor_read(tmp_path: Path) -> None:
    path = write_archive(tmp_path / "events.jsonl", [b"one", b"two"])
    with path.open("ab") as file:
        file.write(b'{"headers":{"message-id":"ID:cut"},"bo')

    assert count_archive(path) == 2
    assert [row.body for row in read_archive(path)] == ["one", "two"]


def test_a_damaged_line_is_named_by_its_number(tmp_path: Path) -> None:
    path = write_archive(tmp_path / "events.jsonl", [b"one", b"two", b"three"])
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(lines[0] + b"garbage\n" + lines[2])

    with pytest.raises(SyncWizardError) as caught:
        read_archive(path)
    assert str(path) in caught.value.message and "line 2 is not JSON" in caught.value.message


def test_a_line_of_json_that_is_no_message_is_named(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    body = base64.b64encode(b"ok").decode()
    path.write_text(json.dumps({"headers": {}, "body_base64": body}) + "\n" + '{"body": "x"}\n')
    with pytest.raises(SyncWizardError, match="line 2 is not an archived message"):
        read_archive(path)


def test_a_missing_archive_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SyncWizardError, match=r"events\.jsonl cannot be read"):
        count_archive(tmp_path / "events.jsonl")
    with pytest.raises(SyncWizardError, match=r"events\.jsonl cannot be read"):
        read_archive(tmp_path / "events.jsonl")
