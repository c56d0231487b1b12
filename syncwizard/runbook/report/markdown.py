"""Markdown for the report: text escaped as written, code, GFM tables, times, sizes, counts."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from syncwizard import units
from syncwizard.masking import MASK

_PLAIN_SPECIAL = re.compile(r"([\\`*<>\[\]])")
_LONE_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def text(value: object) -> str:
    """Free text, escaped so Markdown shows it as written (a mask stays readable)."""
    parts = str(value).split(MASK)
    escaped = [_LONE_UNDERSCORE.sub(r"\\_", _PLAIN_SPECIAL.sub(r"\\\1", part)) for part in parts]
    return MASK.join(escaped)


def code(value: object) -> str:
    """A path, command or name as inline code (backticks inside are fenced longer)."""
    raw = " ".join(str(value).splitlines())
    fence = "`"
    while fence in raw:
        fence += "`"
    pad = " " if raw.startswith("`") or raw.endswith("`") else ""
    return f"{fence}{pad}{raw}{pad}{fence}"


def cell(markdown: str) -> str:
    """Rendered Markdown made safe for one table cell: `|` escaped, lines joined."""
    lines = [line.strip() for line in markdown.strip().splitlines() if line.strip()]
    return "<br>".join(lines).replace("|", "\\|")


def table(headers: Iterable[str], rows: Iterable[Iterable[str]]) -> list[str]:
    """A GFM table of already rendered cells."""
    heads = [cell(h) for h in headers]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    lines += ["| " + " | ".join(cell(c) or " " for c in row) + " |" for row in rows]
    return [*lines, ""]


def when(at: object, *, day: str | None = None) -> str:
    """An epoch or ISO time as `2026-11-26 05:31:33 UTC`; just the clock on `day`."""
    if isinstance(at, bool) or at in (None, ""):
        return ""
    if isinstance(at, int | float):
        moment = datetime.fromtimestamp(float(at), UTC)
    else:
        try:
            moment = datetime.fromisoformat(str(at).replace("Z", "+00:00")).astimezone(UTC)
        except ValueError:
            return text(at)
    if day is not None and moment.strftime("%Y-%m-%d") == day:
        return moment.strftime("%H:%M:%S")
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def took(seconds: float | None) -> str:
    """`0.4 s`, `41 s`, `3 min 05 s`, `1 h 02 min`."""
    if seconds is None or seconds < 0:
        return ""
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        minutes, rest = divmod(whole, 60)
        return f"{minutes} min {rest:02d} s"
    hours, rest = divmod(whole, 3600)
    return f"{hours} h {rest // 60:02d} min"


def size(value: object) -> str:
    """A journaled byte count in units.size's decimal words; "" where none was journaled."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return ""
    return units.size(value)


def count(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "" if value is None else text(value)
    return f"{value:,}"


def plural(value: object, noun: str) -> str:
    return f"{count(value)} {noun}" + ("" if value == 1 else "s")


def bullets(pairs: Iterable[tuple[str, str]]) -> list[str]:
    """`- **label:** value` for every pair whose value is not empty."""
    return [f"- **{label}:** {value}" for label, value in pairs if value]


def warning_lines(warnings: object) -> list[str]:
    """A preflight's warnings as a nested list (a list, or a record holding one)."""
    if isinstance(warnings, Mapping):
        warnings = warnings.get("warnings")
    if not isinstance(warnings, list) or not warnings:
        return []
    return ["- **Warnings:**", *(f"  - {text(w)}" for w in warnings)]
