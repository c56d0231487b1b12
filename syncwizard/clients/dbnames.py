"""The names of a restore's databases beside the live one: `<live>__restore_<run>` (the
scratch database) and `<live>__before_<run>` (the old one, kept aside). The same for
PostgreSQL and MySQL/MariaDB."""

from __future__ import annotations

import hashlib
import re

# PostgreSQL cuts names longer than 63 bytes (NAMEDATALEN - 1); MySQL allows 64 characters.
MAX_NAME_BYTES = 63


def run_suffix(run_id: str) -> str:
    """`restore-20261126T043200Z` -> `20261126t043200z` (lower case: psql users type it)."""
    stamp = run_id.split("-", 1)[1] if "-" in run_id else run_id
    return re.sub(r"[^a-z0-9_]", "_", stamp.lower())


def derived_name(live: str, marker: str, run_id: str) -> str:
    """`<live>__<marker>_<run suffix>`, at most 63 bytes (PostgreSQL cuts longer names).

    A live name too long for that is cut (on a character boundary) and followed by 6 hex
    digits of its sha1, so two long names sharing a beginning still differ.
    """
    tail = f"__{marker}_{run_suffix(run_id)}"
    name = live + tail
    if len(name.encode()) <= MAX_NAME_BYTES:
        return name
    digest = "_" + hashlib.sha1(live.encode()).hexdigest()[:6]
    return _cut(live, len(tail.encode()) + len(digest)) + digest + tail


def _cut(live: str, after: int) -> str:
    """`live`'s beginning that leaves `after` bytes of a name's 63 (no half character)."""
    return live.encode()[: max(MAX_NAME_BYTES - after, 0)].decode(errors="ignore")


def scratch_name(live: str, run_id: str) -> str:
    return derived_name(live, "restore", run_id)


def aside_name(live: str, run_id: str) -> str:
    return derived_name(live, "before", run_id)


_ASIDE_MARK = "__before_"
_SUFFIX_ROOM = 24  # a run's stamp (16 characters) and room for more
_SUFFIX = re.compile(r"[a-z0-9_]+")


def is_aside_of(name: str, live: str) -> bool:
    """Whether `name` is the name a restore run gave `live`'s old copy: the run's suffix
    read from it, the name made again for that run, compared."""
    _, mark, suffix = name.rpartition(_ASIDE_MARK)
    return (
        bool(mark)
        and _SUFFIX.fullmatch(suffix) is not None
        and aside_name(live, "run-" + suffix) == name
    )


def aside_search_prefix(live: str) -> str:
    """A beginning every aside name of `live` has, to narrow a server's list of
    databases before `is_aside_of`: `live` itself, or the cut head of a long one."""
    room = len(_ASIDE_MARK) + _SUFFIX_ROOM + len("_123456")
    return live if len(live.encode()) + room <= MAX_NAME_BYTES else _cut(live, room)
