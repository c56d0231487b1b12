"""Byte sizes, and long spans of time, in words: the one formatter of the runbooks' texts,
the report, the CLI, `syncwizard status` and the TUI. Headless (no Textual), so all of
them may import it."""

from __future__ import annotations

MEGABYTE = 1_000_000
KIBIBYTE = 1024
BINARY_UNITS = ("KiB", "MiB", "GiB", "TiB")


def size(num_bytes: float, *, binary: bool = False) -> str:
    """A byte count as people read it, with one decimal.

    Decimal, the default, is what the journal, the report and the CLI write: always
    megabytes, `1,234.5 MB`, as the procedure's doc and `df -H` count, so a size in a step's
    summary and the same size in the report's tables read alike. Binary is what the TUI
    shows beside PostgreSQL's own figures: pg_size_pretty's units, `15.6 MiB`, `3.0 GiB`
    (under 1 KiB, `512 bytes`).
    """
    if not binary:
        return f"{num_bytes / MEGABYTE:,.1f} MB"
    amount = float(num_bytes)
    if abs(amount) < KIBIBYTE:
        return f"{int(num_bytes)} bytes"
    for unit in BINARY_UNITS:
        amount /= KIBIBYTE
        if abs(amount) < KIBIBYTE or unit == BINARY_UNITS[-1]:
            return f"{amount:.1f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def duration(seconds: float) -> str:
    """A long span as people say it: `3 d 4 h`, `5 h 12 min`, `7 min` (`0 min` under one)."""
    minutes = int(max(0.0, seconds) // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"
