"""The events table reads the archive file: the oldest rows of a large one, and how many
there are in all."""

from __future__ import annotations

import json
from pathlib import Path

from syncwizard.tui.widgets.events_table import MAX_ROWS, read_rows


def write_archive(path: Path, count: int) -> None:
    with path.open("w") as file:
        for number in range(count):
            headers = {"message-id": f"ID:x:1:-1:1:{number}", "timestamp": "1764140000000"}
            body = json.dumps({"type": "NODEADDED", "nodeId": f"node-{number}"})
            file.write(json.dumps({"headers": headers, "body": body}) + "\n")


def test_a_backlog_larger_than_the_table_shows_the_oldest_rows_and_counts_them_all(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.jsonl"
    write_archive(path, MAX_ROWS + 250)
    with path.open("a") as file:
        file.write('{"headers":{"message-id":"ID:cut"},"bo')  # a line cut short: not an event

    rows, widths, total = read_rows(path)

    assert len(rows) == MAX_ROWS and total == MAX_ROWS + 250
    assert str(rows[0][0]) == "ID:x:1:-1:1:0" and str(rows[-1][0]).endswith(f":{MAX_ROWS - 1}")
    assert widths[0] == len("ID:x:1:-1:1:9999")


def test_a_small_archive_is_shown_whole(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    write_archive(path, 3)
    rows, _, total = read_rows(path)
    assert (len(rows), total) == (3, 3)
