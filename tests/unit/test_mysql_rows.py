"""The dump row counter (`mysql_rows`) against a character-by-character reading of the
same dumps: exact in both tools' formats, whatever the strings hold and however the
stream is cut into chunks."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest

from syncwizard.clients import mysql_rows
from syncwizard.clients.mysql_rows import RowCounter, rows_in_values

# Pieces that trip a careless counter: parentheses and row separators inside strings,
# statement ends inside strings, escaped quotes and backslashes, escaped line breaks.
TRICKY = [
    "(",
    ")",
    "),(",
    "),\n(",
    ");",
    ";",
    "; ",
    "'",
    "\\",
    "\\'",
    "''",
    "\n",
    "\r",
    "x",
    "Report (final).pdf",
    "INSERT INTO `t` VALUES",
    "0x2829",
    " ",
    "é",
]


def sql_string(text: str) -> str:
    """A string literal as mariadb-dump/mysqldump write it (backslash escapes)."""
    escaped = (
        text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r")
    )
    return "'" + escaped + "'"


def a_row(rng: random.Random, number: int) -> str:
    values = [str(number)]
    for _ in range(rng.randint(1, 4)):
        kind = rng.random()
        if kind < 0.6:
            values.append(sql_string("".join(rng.choices(TRICKY, k=rng.randint(0, 6)))))
        elif kind < 0.75:
            values.append("NULL")
        elif kind < 0.9:
            values.append(str(rng.randint(-(10**6), 10**6)))
        else:
            values.append("0x" + rng.randbytes(rng.randint(1, 4)).hex().upper())
    return "(" + ",".join(values) + ")"


def a_dump(rng: random.Random, *, one_line: bool) -> tuple[bytes, dict[str, int]]:
    """A dump in mariadb-dump 10.11's (rows on lines of their own) or mysqldump's (a
    statement on one line) format, and how many rows each table has."""
    parts = ["-- MariaDB dump 10.19\n", "/*!40101 SET NAMES utf8mb4 */;\n"]
    expected: dict[str, int] = {}
    for t in range(rng.randint(1, 4)):
        name = rng.choice(["t", "we`ird", "a b", "x"]) + str(t)
        quoted = name.replace("`", "``")
        parts.append(f"DROP TABLE IF EXISTS `{quoted}`;\nCREATE TABLE `{quoted}` (\n")
        parts.append("  `id` int(11) NOT NULL,\n  `v` varchar(9) DEFAULT '(a),(b);'\n);\n")
        rows = rng.choice([0, 1, 2, 5, 40])
        expected[name] = rows
        number = 0
        while number < rows:
            batch = [a_row(rng, number + i) for i in range(min(rows - number, rng.randint(1, 9)))]
            number += len(batch)
            if one_line:
                parts.append(f"INSERT INTO `{quoted}` VALUES " + ",".join(batch) + ";\n")
            else:
                parts.append(f"INSERT INTO `{quoted}` VALUES\n" + ",\n".join(batch) + ";\n")
        parts.append("UNLOCK TABLES;\n")
    parts.append("-- Dump completed on 2026-12-06 12:01:06\n")
    return "".join(parts).encode(), expected


def rows_by_hand(values: bytes) -> int:
    """The `(` outside quoted strings, one character at a time (the oracle)."""
    rows, quoted, i = 0, False, 0
    while i < len(values):
        char = values[i : i + 1]
        if quoted:
            if char == b"\\":
                i += 1
            elif char == b"'":
                quoted = False
        elif char == b"'":
            quoted = True
        elif char == b"(":
            rows += 1
        i += 1
    return rows


def feed(data: bytes, sizes: list[int]) -> RowCounter:
    counter = RowCounter()
    pos, turn = 0, 0
    while pos < len(data):
        size = sizes[turn % len(sizes)]
        counter.feed(data[pos : pos + size])
        pos += size
        turn += 1
    counter.finish()
    return counter


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("one_line", [False, True])
def test_rows_are_exact_whatever_the_strings_and_the_chunks(seed: int, one_line: bool) -> None:
    rng = random.Random(seed)
    data, expected = a_dump(rng, one_line=one_line)
    for sizes in ([len(data)], [1], [2, 3, 5], [rng.randint(1, 300) for _ in range(50)]):
        counter = feed(data, sizes)
        assert counter.counts == expected, sizes[:5]
        assert counter.completed and counter.bytes == len(data)


def test_the_oracle_agrees_with_the_counter_on_single_statements() -> None:
    rng = random.Random(7)
    for number in range(500):
        rows = rng.randint(1, 5)
        values = ",".join(a_row(rng, number + i) for i in range(rows)).encode()
        assert rows_in_values(values) == rows_by_hand(values) == rows


@pytest.mark.parametrize(
    ("line", "rows"),
    [
        (b"(1,'a),(b'),", 1),  # a row separator inside a string
        (b"(1,'it\\'s (2)'),", 1),  # an escaped quote, then a parenthesis, in the string
        (b"(1,'x\\\\'),(2,'(')", 2),  # a string ending in a backslash
        (b"(1,'a'),(2,'b'),(3,NULL);", 3),
        (b"(1,'it''s'),(2,'(y),(z)')", 2),  # a quote doubled (mysqldump reads it back)
        (b"(1,0x2829)", 1),
    ],
)
def test_rows_in_values(line: bytes, rows: int) -> None:
    assert rows_in_values(line) == rows == rows_by_hand(line.replace(b"''", b"\\'"))


def test_a_statement_end_inside_a_string_does_not_end_the_rows() -> None:
    data = (
        b"INSERT INTO `t` VALUES\n(1,'a;'),\n(2,'b;  '),\n(3,'c);\\n'),\n(4,'d');\n"
        b"INSERT INTO `u` VALUES\n(1,'x');\n"
    )
    for size in (1, 3, len(data)):
        assert feed(data, [size]).counts == {"t": 4, "u": 1}


def test_rows_on_lines_of_their_own_are_counted_in_large_chunks_too() -> None:
    rows = b",\n".join(b"(%d,'Document %d (copy).pdf','a),(b')" % (i, i) for i in range(20000))
    data = b"CREATE TABLE `big` (\n  `id` int\n);\nINSERT INTO `big` VALUES\n" + rows + b";\n"
    assert feed(data, [1 << 16]).counts == {"big": 20000}
    plain = rows.replace(b" (copy)", b"").replace(b"a),(b", b"ab")
    assert feed(b"INSERT INTO `big` VALUES\n" + plain + b";\n", [1 << 16]).counts == {"big": 20000}


@pytest.mark.parametrize("one_line", [False, True])
def test_a_finished_dump_is_read_once_for_its_rows_size_and_sha256(
    one_line: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mysql_rows, "READ_CHUNK", 1000)  # many chunks, cut anywhere
    rng = random.Random(7)
    parts = [a_dump(rng, one_line=one_line) for _ in range(30)]
    data = b"".join(dump for dump, _ in parts)
    path = tmp_path / "d.sql"
    path.write_bytes(data)
    read: list[int] = []
    reading = mysql_rows.read_dump(path, read.append)
    assert reading.counts == feed(data, [len(data)]).counts
    assert reading.completed and reading.size == len(data)
    assert reading.sha256 == hashlib.sha256(data).hexdigest()
    assert read == sorted(read) and read[-1] == len(data) and len(read) > 1


def test_a_cut_dump_reads_as_not_whole(tmp_path: Path) -> None:
    dump, _ = a_dump(random.Random(3), one_line=False)
    path = tmp_path / "cut.sql"
    path.write_bytes(dump[: dump.index(b"-- Dump completed")])
    assert not mysql_rows.read_dump(path).completed


@pytest.mark.parametrize("one_line", [False, True])
def test_the_rows_written_are_estimated_from_samples_of_the_file(
    one_line: bool, tmp_path: Path
) -> None:
    """Three tables whose rows differ 4x in length, as a dump grows 4 KB a look."""
    parts, rows = ["-- MariaDB dump 10.19\n"], 0
    for table, width, count in (("short", 20, 3000), ("long", 80, 1000), ("mid", 40, 2000)):
        values = [f"({n},'{'x' * width}')" for n in range(count)]
        joined = ",".join(values) if one_line else ",\n".join(values)
        parts.append(f"INSERT INTO `{table}` VALUES{' ' if one_line else chr(10)}{joined};\n")
        rows += count
    data = "".join(parts).encode()
    path = tmp_path / "d.sql"
    path.write_bytes(data)
    estimate = mysql_rows.RowEstimate()
    with path.open("rb") as handle:
        for size in range(0, len(data) + 4096, 4096):
            estimate.grown_to(handle.fileno(), min(size, len(data)))
    assert estimate.size == len(data)
    assert 0.95 * rows <= estimate.rows <= 1.05 * rows
