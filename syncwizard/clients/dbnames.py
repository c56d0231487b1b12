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
    room = MAX_NAME_BYTES - len(tail.encode()) - len(digest)
    head = live.encode()[: max(room, 0)].decode(errors="ignore")  # no half character
    return head + digest + tail


def scratch_name(live: str, run_id: str) -> str:
    return derived_name(live, "restore", run_id)


def aside_name(live: str, run_id: str) -> str:
    return derived_name(live, "before", run_id)
