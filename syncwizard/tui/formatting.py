"""How numbers, sizes and ages read on screen. Plain functions, no Textual."""

from __future__ import annotations

from syncwizard import units


def count(value: int) -> str:
    """`1234567` -> `1,234,567`: counters are read aloud on calls, separators help."""
    return f"{value:,}"


def size(num_bytes: int) -> str:
    """On screen a byte count reads in binary units, as PostgreSQL's pg_size_pretty says it."""
    return units.size(num_bytes, binary=True)


def age(seconds: float | None) -> str:
    """How long ago an answer came: `just now`, `12 s ago`, `3 min ago`, `2 h ago`."""
    if seconds is None:
        return "never"
    if seconds < 1:
        return "just now"
    if seconds < 120:
        return f"{int(seconds)} s ago"
    if seconds < 7200:
        return f"{int(seconds // 60)} min ago"
    return f"{int(seconds // 3600)} h ago"


def rate(per_second: float | None) -> str:
    """A per-second rate for a column labelled `.../s`; `--` while it is not known yet."""
    return "--" if per_second is None else f"{per_second:,.1f}"


def middle_ellipsis(text: str, width: int) -> str:
    """Shorten `text` to `width` by cutting its middle: queue names differ at both ends."""
    if len(text) <= width:
        return text
    if width < 5:
        return text[:width]
    head = (width - 1) // 2
    tail = width - 1 - head
    return f"{text[:head]}…{text[-tail:]}"
