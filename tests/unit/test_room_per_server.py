"""Room per database server (runbook/restore/room.py): both restored copies and the WAL
of one server added up; the biggest databases dropped first until it fits."""

from __future__ import annotations

from syncwizard.runbook.restore.room import ROOM_FACTOR, Need, plan_rooms, server_key

GB = 1024**3


def need(role: str, server: str, size: int, free: int | None, live: int = 0) -> Need:
    return Need(role, role.removesuffix("_db"), server, int(size * ROOM_FACTOR), live, free, GB)


def test_loopback_names_and_sockets_are_one_server() -> None:
    keys = {
        server_key(f"host={host} port=5432 dbname=x user=u")
        for host in ("127.0.0.1", "localhost", "/var/run/postgresql")
    }
    assert keys == {"localhost:5432"}
    assert server_key("host=db.example port=5433 dbname=x user=u") == "db.example:5433"


def test_two_databases_that_each_fit_alone_but_not_together_drop_the_bigger_first() -> None:
    # 8 GB free; copies of 4.8 and 3.6 GB each fit alone, not with each other and the WAL.
    rooms, warnings = plan_rooms(
        [
            need("repository_db", "a:5432", 4 * GB, 8 * GB, live=5 * GB),
            need("sync_db", "a:5432", 3 * GB, 8 * GB, live=3 * GB),
        ]
    )
    assert rooms["repository_db"]["mode"] == "drop_first"
    assert rooms["sync_db"]["mode"] == "side_by_side"
    total = int(4 * GB * ROOM_FACTOR) + int(3 * GB * ROOM_FACTOR) + GB
    assert rooms["sync_db"]["server_needed_bytes"] == total
    assert rooms["repository_db"]["server_roles"] == ["repository_db", "sync_db"]
    assert len(warnings) == 1 and "'repository' would have to be dropped FIRST" in warnings[0]
    assert "even then" not in warnings[0]


def test_databases_on_two_servers_are_counted_apart() -> None:
    rooms, warnings = plan_rooms(
        [
            need("repository_db", "a:5432", 4 * GB, 10 * GB),
            need("sync_db", "b:5432", 3 * GB, 10 * GB),
        ]
    )
    assert {r["mode"] for r in rooms.values()} == {"side_by_side"}
    assert rooms["sync_db"]["server_needed_bytes"] == int(3 * GB * ROOM_FACTOR) + GB
    assert warnings == []


def test_unknown_free_space_is_said_and_marked_for_the_gate() -> None:
    rooms, warnings = plan_rooms([need("repository_db", "a:5432", GB, None)])
    assert rooms["repository_db"]["free_bytes"] is None
    assert rooms["repository_db"]["free_known"] is False
    assert rooms["repository_db"]["mode"] == "side_by_side"
    assert "cannot be read from here" in warnings[0] and "confirm the room" in warnings[0]


def test_old_copies_kept_aside_are_named() -> None:
    kept = Need("sync_db", "sync", "a:1", GB, 0, 100 * GB, 0, (("sync__before_x", 2_000_000_000),))
    _, warnings = plan_rooms([kept])
    assert warnings == [
        "old copies of 'sync' kept aside by earlier restores take room on a:1: "
        "sync__before_x (2,000.0 MB); drop them if they are no longer needed"
    ]
