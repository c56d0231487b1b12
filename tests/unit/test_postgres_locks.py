"""A dump that waited too long for a table lock: reading pg_dump's output, naming the holder."""

from __future__ import annotations

import pytest

from syncwizard.clients.pglocks import (
    LockHolder,
    lock_wait_error,
    lock_wait_relations,
    sql_name,
)

CONNINFO = "host=db.example.org port=5432 dbname=alfresco user=alfresco"
PG_DUMP_15 = [
    "pg_dump: reading dependency data",
    "pg_dump: error: query failed: ERROR:  canceling statement due to statement timeout",
    "pg_dump: detail: Query was: LOCK TABLE public.alf_node_properties IN ACCESS SHARE MODE",
]
PG_DUMP_OLDER = [
    "pg_dump: error: query failed: ERROR:  canceling statement due to statement timeout",
    'pg_dump: error: query was: LOCK TABLE "Odd Schema"."My ""T""", public.alf_node '
    "IN ACCESS SHARE MODE",
]


def holder(**changes: object) -> LockHolder:
    values: dict[str, object] = {
        "relation": "public.alf_node_properties",
        "pid": 4242,
        "granted": True,
        "user": "migrator",
        "application": "flyway",
        "client": "10.0.0.7",
        "state": "idle in transaction",
        "open_seconds": 312.4,
        "statement": "ALTER",
    }
    values.update(changes)
    return LockHolder(**values)  # type: ignore[arg-type]


def test_the_table_pg_dump_gave_up_on_is_read_from_its_output() -> None:
    assert lock_wait_relations(PG_DUMP_15) == ("public.alf_node_properties",)


def test_several_tables_of_one_lock_statement_are_read_quoted_names_and_all() -> None:
    assert lock_wait_relations(PG_DUMP_OLDER) == ('"Odd Schema"."My ""T"""', "public.alf_node")


@pytest.mark.parametrize(
    "lines",
    [
        ["pg_dump: error: connection to server failed: Connection refused"],
        # a lock statement in the output, but the failure was not its timeout
        [
            "pg_dump: error: query failed: ERROR:  permission denied for table alf_node",
            "pg_dump: detail: Query was: LOCK TABLE public.alf_node IN ACCESS SHARE MODE",
        ],
    ],
)
def test_other_failures_are_not_taken_for_a_lock_wait(lines: list[str]) -> None:
    assert lock_wait_relations(lines) == ()


def test_sql_names_are_quoted_only_where_needed() -> None:
    assert sql_name("public", "alf_node") == "public.alf_node"
    assert sql_name("public", "user") == "public.user"  # to_regclass reads keywords as names
    assert sql_name("Odd Schema", 'My "T"') == '"Odd Schema"."My ""T"""'


def test_the_error_names_the_database_the_table_the_bound_and_the_holder() -> None:
    error = lock_wait_error(
        ["public.alf_node_properties"],
        (holder(),),
        CONNINFO,
        system="repository_db",
        waiter="pg_dump",
        bound=60,
    )
    assert error.system == "repository_db"
    assert error.message == (
        "repository database: pg_dump waited 60 s (the bound set by repository_db.lock_timeout) "
        "for a lock on table public.alf_node_properties in database 'alfresco' on "
        "db.example.org:5432 and gave up: session 4242 (user 'migrator', application 'flyway', "
        "from 10.0.0.7, idle in transaction, transaction open for 312 s, last statement "
        "ALTER ...) holds an ACCESS EXCLUSIVE lock"
    )
    assert "let it finish" in error.hint
    assert "SELECT pg_terminate_backend(4242)" in error.hint
    assert "raise repository_db.lock_timeout" in error.hint
    assert error.relations == ("public.alf_node_properties",) and error.holders == (holder(),)


def test_a_session_queued_first_for_the_lock_is_named_as_such() -> None:
    error = lock_wait_error(
        ["public.alf_node", "public.alf_node_properties"],
        (holder(relation="public.alf_node", granted=False, client="", state=""),),
        CONNINFO,
        system="sync_db",
        waiter="the exact row count",
        bound=2.5,
    )
    assert "Sync database: the exact row count waited 2.5 s" in error.message
    assert "(the bound set by sync_db.lock_timeout) for a lock on table public.alf_node in" in (
        error.message
    )
    assert "is queued for an ACCESS EXCLUSIVE lock, and every later request waits" in (
        error.message
    )


def test_holders_of_several_tables_are_named_with_their_table() -> None:
    error = lock_wait_error(
        ["public.alf_node", "public.alf_node_properties"],
        (holder(), holder(relation="public.alf_node", pid=77, granted=False)),
        CONNINFO,
        system="repository_db",
        waiter="pg_dump",
        bound=60,
    )
    assert "for a lock on tables public.alf_node_properties, public.alf_node in" in error.message
    assert "holds an ACCESS EXCLUSIVE lock on public.alf_node_properties; session 77" in (
        error.message
    )


def test_a_prepared_transaction_holding_the_lock_is_named_with_its_way_out() -> None:
    error = lock_wait_error(
        ["public.alf_node"],
        (holder(pid=None, user="", application="", client="", state="", open_seconds=None),),
        CONNINFO,
        system="repository_db",
        waiter="pg_dump",
        bound=60,
    )
    assert "a prepared transaction holds an ACCESS EXCLUSIVE lock (pg_prepared_xacts)" in (
        error.message
    )
    assert "ROLLBACK PREPARED" in error.hint


@pytest.mark.parametrize(
    ("holders", "said"), [(None, "(who could not be read)"), ((), "(released since)")]
)
def test_without_a_holder_to_name_the_error_says_why_and_how_to_look(
    holders: tuple[LockHolder, ...] | None, said: str
) -> None:
    error = lock_wait_error(
        ["public.alf_node"], holders, CONNINFO, system="repository_db", waiter="pg_dump", bound=9
    )
    assert error.message.endswith(
        f"and gave up: another session held an ACCESS EXCLUSIVE lock on it {said}"
    )
    assert "pg_locks joined with pg_stat_activity" in error.hint
    assert "raise repository_db.lock_timeout" in error.hint


def test_only_the_first_holders_are_listed() -> None:
    many = tuple(holder(pid=pid) for pid in range(100, 106))
    error = lock_wait_error(
        ["public.alf_node_properties"],
        many,
        CONNINFO,
        system="repository_db",
        waiter="pg_dump",
        bound=60,
    )
    assert "session 102" in error.message and "session 103" not in error.message
    assert error.message.endswith("; and 3 more")
