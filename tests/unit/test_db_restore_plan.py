"""The restore plan's pure parts: database names (63 bytes at most) and what it describes."""

from __future__ import annotations

from pathlib import Path

from syncwizard.clients.dbnames import aside_search_prefix, is_aside_of
from syncwizard.runbook.restore.database import (
    MAX_NAME_BYTES,
    RestorePlan,
    aside_name,
    derived_name,
    run_suffix,
    scratch_name,
)

RUN_ID = "restore-20261126T043200Z"
DUMP = {
    "path": "repository_db.dump",
    "roles": ["repository_db"],
    "database": "alfresco",
    "tool_major": 15,
    "format": "directory",
    "row_counts": {"public.alf_node": 2000, "public.alf_node_properties": 6000},
}


def plan(**changes: object) -> RestorePlan:
    made = RestorePlan.for_dump(
        role="repository_db",
        conninfo="host=db.example port=5432 dbname=alfresco user=alfresco",
        passfile=None,
        set_dir=Path("/backups/backup-20261125T010000Z"),
        dump=DUMP,
        run_id=RUN_ID,
        **changes,  # type: ignore[arg-type]
    )
    return made


def test_names_carry_the_live_name_and_the_run_in_lower_case() -> None:
    assert run_suffix(RUN_ID) == "20261126t043200z"
    assert run_suffix("restore-20261126T043200Z-2") == "20261126t043200z_2"
    assert scratch_name("alfresco", RUN_ID) == "alfresco__restore_20261126t043200z"
    assert aside_name("alfresco", RUN_ID) == "alfresco__before_20261126t043200z"


def test_a_long_live_name_is_cut_to_63_bytes_deterministically_and_stays_distinct() -> None:
    long_a = "a" * 40 + "_repository_one"
    long_b = "a" * 40 + "_repository_two"
    name_a = scratch_name(long_a, RUN_ID)
    assert len(name_a.encode()) == MAX_NAME_BYTES
    assert name_a.endswith("__restore_20261126t043200z")
    assert name_a == scratch_name(long_a, RUN_ID)  # the same on a resume
    assert name_a != scratch_name(long_b, RUN_ID)
    assert aside_name(long_a, RUN_ID) != name_a


def test_a_multibyte_live_name_is_cut_on_a_character_boundary() -> None:
    live = "données_" + "é" * 30  # 2 bytes per é
    name = derived_name(live, "before", RUN_ID)
    assert len(name.encode()) <= MAX_NAME_BYTES
    assert name.encode().decode() == name  # valid UTF-8: no half character
    assert name.startswith("données_é")


def test_an_old_copy_kept_aside_is_known_by_its_name_whatever_the_live_names_length() -> None:
    for live in ("alfresco", "a" * 40 + "_repository_one", "données_" + "é" * 30):
        for run in (RUN_ID, "restore-20261127T010203Z", "restore-20261126T043200Z-2"):
            aside = aside_name(live, run)
            assert is_aside_of(aside, live), (live, run)
            assert aside.startswith(aside_search_prefix(live)), (live, run)
            assert not is_aside_of(scratch_name(live, run), live)


def test_another_databases_old_copy_is_not_taken_for_this_ones() -> None:
    assert not is_aside_of(aside_name("alfresco_two", RUN_ID), "alfresco")
    assert not is_aside_of(aside_name("a" * 40 + "_two", RUN_ID), "a" * 40 + "_one")
    assert not is_aside_of("alfresco__before_", "alfresco")
    assert not is_aside_of("alfresco__before_2026-11-26", "alfresco")
    assert not is_aside_of("alfresco", "alfresco")


def test_a_short_name_is_left_whole() -> None:
    name = derived_name("x" * 30, "restore", RUN_ID)
    assert name == "x" * 30 + "__restore_20261126t043200z"


def test_plan_from_a_manifest_dump_targets_the_profiles_database() -> None:
    made = plan()
    assert made.live == "alfresco"
    assert made.archive == Path("/backups/backup-20261125T010000Z/repository_db.dump")
    assert made.total_rows == 8000
    assert made.dump_tool_major == 15
    assert (made.restore_step, made.swap_step) == ("restore_repository", "swap_repository")
    assert not made.single_transaction and made.pg_restore_options() == "--jobs=2"


def test_custom_or_single_job_dumps_restore_in_one_transaction() -> None:
    assert plan(jobs=1).single_transaction
    custom = RestorePlan.for_dump(
        role="sync_db",
        conninfo="dbname=syncservice user=sync",
        passfile=None,
        set_dir=Path("/b"),
        dump={**DUMP, "format": "custom", "path": "sync_db.dump"},
        run_id=RUN_ID,
    )
    assert custom.single_transaction and custom.pg_restore_options() == "--single-transaction"
    assert (custom.restore_step, custom.swap_step) == ("restore_sync", "swap_sync")


def test_describe_says_exactly_what_happens_side_by_side() -> None:
    text = plan().describe()
    assert "pg_restore --jobs=2 of repository_db.dump" in text
    assert "'alfresco__restore_20261126t043200z' on db.example:5432" in text
    assert "2 tables hold the manifest's 8,000 rows" in text
    assert "'alfresco' is not touched until then" in text
    assert "in one transaction, rename it to 'alfresco__before_20261126t043200z'" in text
    assert "DROP" not in text


def test_describe_of_the_drop_first_path_says_no_copy_is_kept() -> None:
    text = plan(mode="drop_first").describe()
    assert text.startswith("DROP database 'alfresco' first (no copy of it is kept")
    assert "rename 'alfresco__restore_20261126t043200z' to 'alfresco'" in text
    assert "__before_" not in text


def test_a_shared_databases_sync_tables_restore_into_the_same_scratch_database_after() -> None:
    sync_dump = {
        "path": "sync_db.dump",
        "roles": ["sync_db"],
        "tool_major": 16,
        "row_counts": {"public.sync_node": 1990},
    }
    shared = plan(then_dumps=[sync_dump])
    assert [archive.name for archive in shared.archives] == ["repository_db.dump", "sync_db.dump"]
    assert shared.row_counts["public.sync_node"] == 1990 and shared.total_rows == 9990
    assert shared.dump_tool_major == 16
    text = shared.describe()
    assert "of repository_db.dump then sync_db.dump into a new database" in text
    assert "3 tables hold the manifest's 9,990 rows" in text
