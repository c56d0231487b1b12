"""Room for a restore is a database SERVER's (runbook/restore/room.py), against the lab: its
repository DB and Sync DB live on one PostgreSQL, so the preflight adds both restored
copies and the server's WAL; and where the free space cannot be read, the first restore on
that server asks the admin to confirm the room (one gate for both databases)."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest
from standin_support import restore
from test_restore_modes import backup, profile_with, restore_all

from syncwizard import units
from syncwizard.lab import postgres, standin
from syncwizard.lab.layout import HOST, LabLayout

pytestmark = pytest.mark.integration

NAME = "db.lab.invalid"  # not a name of this machine: its free space is not read


def max_wal_bytes(lab: LabLayout) -> int:
    with psycopg.connect(postgres.superuser_conninfo(lab)) as conn:
        row = conn.execute("SELECT pg_size_bytes(current_setting('max_wal_size'))").fetchone()
    assert row is not None
    return int(row[0])


def remote_looking(lab: LabLayout, tmp_path: Path) -> dict[str, str]:
    """Both databases reached as `NAME` (hostaddr 127.0.0.1), with a password file for it."""
    passfile = tmp_path / "pgpass"
    passfile.write_text(lab.pgpass.read_text().replace(f"{HOST}:", f"{NAME}:"))
    os.chmod(passfile, 0o600)
    environ = {}
    for role, conninfo in (
        ("REPOSITORY_DB", postgres.conninfo(lab, "repository")),
        ("SYNC_DB", postgres.conninfo(lab, "sync")),
    ):
        conninfo = conninfo.replace(f"host={HOST}", f"host={NAME} hostaddr={HOST}")
        environ[f"SYNCWIZARD_{role}__CONNINFO"] = conninfo
        environ[f"SYNCWIZARD_{role}__PASSFILE"] = str(passfile)
    return environ


async def test_room_is_added_up_per_server_and_unknown_room_is_a_gate_asked_once(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    await restore(lab)
    set_dir = await backup(profile_with(lab_config, tmp_path / "backups"))
    profile = profile_with(lab_config, tmp_path / "backups", **remote_looking(lab, tmp_path))
    standin.stop(lab)

    run, gates = await restore_all(profile, set_dir, lab)

    preflight = run["engine"].results["preflight"]
    repository, sync = preflight["room"]["repository_db"], preflight["room"]["sync_db"]
    wal = max_wal_bytes(lab)
    assert repository["server"] == sync["server"] == f"{NAME}:{lab.ports.postgres}"
    assert repository["server_roles"] == sync["server_roles"] == ["repository_db", "sync_db"]
    assert repository["wal_bytes"] == wal
    both = repository["needed_bytes"] + sync["needed_bytes"] + wal
    assert repository["server_needed_bytes"] == sync["server_needed_bytes"] == both
    assert repository["free_bytes"] is None and repository["mode"] == "side_by_side"
    assert any(
        "cannot be read from here" in w and "before anything is stopped" in w
        for w in preflight["warnings"]
    )
    tokens = [gate.token for gate in gates]
    assert tokens.count("room") == 1  # one confirmation covers both databases of the server
    assert tokens.index("room") < tokens.index("stop")  # before anything is stopped
    room_gate = gates[tokens.index("room")]
    facts = dict(room_gate.facts)
    assert facts["server"] == f"{NAME}:{lab.ports.postgres}"
    assert facts["the server needs"].startswith(f"{units.size(both)} for both restores")
    assert "both restored copies" in room_gate.consequences
    await restore(lab)
