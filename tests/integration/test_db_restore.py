"""The restore's database steps (runbook/restore/database.py) against the lab PostgreSQL: a dump of
the lab's repository DB restored into a scratch database, verified, and swapped into the
place of a live database of the test's own (the lab's databases stay as they are)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest

from syncwizard.clients import pgadmin, pgtools
from syncwizard.clients.results import Progress
from syncwizard.errors import SyncWizardError
from syncwizard.lab import postgres as lab
from syncwizard.lab.layout import LabLayout
from syncwizard.runbook.backup.snapshot_dump import DumpPlan, dump_in_snapshot
from syncwizard.runbook.model import RefusedError
from syncwizard.runbook.restore import database
from syncwizard.runbook.restore.database import RestorePlan

pytestmark = pytest.mark.integration

RUN_ID = "restore-20261126T070000Z"


class FakeContext:
    """The engine's side of a step: results, records kept per step (as the journal does)."""

    run_id = RUN_ID
    rechecking = False

    def __init__(
        self,
        step_id: str,
        results: dict[str, Any] | None = None,
        records: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.step_id = step_id
        self.results: dict[str, Any] = results if results is not None else {}
        self.records: dict[str, dict[str, Any]] = records if records is not None else {}
        self.logs: list[str] = []
        self.reports: list[tuple[str, object]] = []

    def records_of(self, step_id: str) -> Mapping[str, Mapping[str, Any]]:
        return self.records.get(step_id, {})

    def step_times(self) -> Mapping[str, tuple[float, float | None]]:
        return {}

    def progress(self, message: str, detail: object = None) -> None:
        self.reports.append((message, detail))

    def log(self, line: str) -> None:
        self.logs.append(line)

    def record(self, name: str, data: Mapping[str, Any]) -> None:
        self.records.setdefault(self.step_id, {})[name] = dict(data)

    def next_step(self, step_id: str) -> FakeContext:
        return FakeContext(step_id, self.results, self.records)


def admin(layout: LabLayout, dbname: str = "postgres") -> psycopg.Connection:
    return psycopg.connect(lab.superuser_conninfo(layout, dbname), autocommit=True)


def database_names(layout: LabLayout) -> set[str]:
    with admin(layout) as conn:
        return {row[0] for row in conn.execute("SELECT datname FROM pg_database")}


def oid_of(layout: LabLayout, name: str) -> int | None:
    with admin(layout) as conn:
        row = conn.execute("SELECT oid FROM pg_database WHERE datname = %s", (name,)).fetchone()
        return row[0] if row else None


def tables_of(layout: LabLayout, dbname: str) -> set[str]:
    with admin(layout, dbname) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {row[0] for row in rows}


@pytest.fixture(scope="module")
def repository_dump(
    pg_lab: LabLayout, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any]]:
    """A directory dump of the lab's repository DB and its manifest entry."""
    set_dir = tmp_path_factory.mktemp("sw-restore-set")
    plan = DumpPlan(
        role="repository_db",
        roles=("repository_db",),
        conninfo=lab.conninfo(pg_lab, "repository"),
        passfile=pg_lab.pgpass,
        out_path=set_dir / "repository_db.dump",
        fmt="directory",
        jobs=2,
        compress="1",
    )
    dump = asyncio.run(dump_in_snapshot(plan, FakeContext("repository_db")))
    return set_dir, dump


@pytest.fixture
def live(pg_lab: LabLayout, request: pytest.FixtureRequest) -> Iterator[str]:
    """A live database of the test's own, owned by the repository role, holding `old_marker`;
    it and every database named after it are dropped afterwards."""
    name = "rl_" + request.node.name.removeprefix("test_")[:20]
    with admin(pg_lab) as conn:
        conn.execute(f"CREATE DATABASE {name} OWNER alfresco")
    with admin(pg_lab, name) as conn:
        conn.execute("CREATE TABLE old_marker (id int)")
        conn.execute("ALTER TABLE old_marker OWNER TO alfresco")
    try:
        yield name
    finally:
        with admin(pg_lab) as conn:
            for other in database_names(pg_lab):
                if other == name or other.startswith(name + "__"):
                    conn.execute(f'DROP DATABASE IF EXISTS "{other}" WITH (FORCE)')


def plan_for(
    layout: LabLayout,
    dump: tuple[Path, dict[str, Any]],
    live: str,
    **changes: Any,
) -> RestorePlan:
    set_dir, entry = dump
    plan = RestorePlan.for_dump(
        role="repository_db",
        conninfo=pgadmin.database_conninfo(lab.conninfo(layout, "repository"), live),
        passfile=layout.pgpass,
        set_dir=set_dir,
        dump=entry,
        run_id=RUN_ID,
    )
    return replace(plan, **changes)


async def restored(plan: RestorePlan) -> tuple[FakeContext, dict[str, Any]]:
    ctx = FakeContext(plan.restore_step)
    outputs = await database.restore_into_scratch(plan, ctx)
    ctx.results[plan.restore_step] = outputs
    return ctx, outputs


def counts_in(layout: LabLayout, dbname: str, tables: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    with admin(layout, dbname) as conn:
        for table in tables:
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            assert row is not None
            counts[table] = row[0]
    return counts


# --- restore into the scratch database ------------------------------------------------------


async def test_restore_into_scratch_equals_the_dump_and_leaves_live_alone(
    pg_lab: LabLayout, repository_dump: tuple[Path, dict[str, Any]], live: str
) -> None:
    plan = plan_for(pg_lab, repository_dump, live)
    live_oid = oid_of(pg_lab, live)

    ctx, outputs = await restored(plan)

    row_counts = repository_dump[1]["row_counts"]
    assert counts_in(pg_lab, plan.scratch, list(row_counts)) == row_counts
    assert (
        outputs["database"] == live
        and outputs["scratch"] == f"{live}__restore_{'20261126t070000z'}"
    )
    assert outputs["scratch_oid"] == oid_of(pg_lab, plan.scratch)
    assert (outputs["tables"], outputs["rows"]) == (len(row_counts), sum(row_counts.values()))
    assert outputs["owner"] == "alfresco" and outputs["no_owner"] is False
    assert oid_of(pg_lab, live) == live_oid and tables_of(pg_lab, live) == {"old_marker"}
    details = [d for _, d in ctx.reports if isinstance(d, Progress)]
    assert details and all(d.tuples_total == sum(row_counts.values()) for d in details)
    assert details[-1].phase == "done" and details[-1].tuples_done == sum(row_counts.values())
    assert {d.phase for d in details} >= {"data"}
    assert "child" in ctx.records[plan.restore_step]


async def test_a_corrupted_archive_fails_clearly_drops_scratch_and_keeps_live(
    pg_lab: LabLayout, repository_dump: tuple[Path, dict[str, Any]], live: str, tmp_path: Path
) -> None:
    set_dir, entry = repository_dump
    broken = tmp_path / entry["path"]
    shutil.copytree(set_dir / entry["path"], broken)
    biggest = max(
        (p for p in broken.iterdir() if p.name != "toc.dat"), key=lambda p: p.stat().st_size
    )
    biggest.write_bytes(b"\x1f\x8b" + os.urandom(4096))  # a gzip header, then garbage
    plan = replace(plan_for(pg_lab, repository_dump, live), archive=broken)

    with pytest.raises(SyncWizardError) as caught:
        await database.restore_into_scratch(plan, FakeContext(plan.restore_step))

    message = caught.value.message
    assert f"restoring {entry['path']} into the scratch database {plan.scratch!r} failed" in message
    assert "pg_restore" in message
    assert f"The scratch database was dropped; {live!r} is untouched" in message
    assert plan.scratch not in database_names(pg_lab)
    assert tables_of(pg_lab, live) == {"old_marker"}


async def test_rows_not_matching_the_manifest_are_named_and_scratch_dropped(
    pg_lab: LabLayout, repository_dump: tuple[Path, dict[str, Any]], live: str
) -> None:
    counts = dict(repository_dump[1]["row_counts"])
    counts["public.alf_node"] += 1
    counts["public.not_in_the_dump"] = 5
    plan = replace(plan_for(pg_lab, repository_dump, live), row_counts=counts)

    with pytest.raises(RefusedError) as caught:
        await database.restore_into_scratch(plan, FakeContext(plan.restore_step))

    message = caught.value.message
    assert f"public.alf_node has 2,000 rows, the manifest {counts['public.alf_node']:,}" in message
    assert "public.not_in_the_dump is missing (the manifest has 5 rows)" in message
    assert plan.scratch not in database_names(pg_lab)
    assert tables_of(pg_lab, live) == {"old_marker"}


async def test_a_pg_restore_too_old_for_the_dump_is_refused_before_anything(
    pg_lab: LabLayout, repository_dump: tuple[Path, dict[str, Any]], live: str
) -> None:
    plan = replace(plan_for(pg_lab, repository_dump, live), dump_tool_major=99)

    with pytest.raises(SyncWizardError) as caught:
        await database.restore_into_scratch(plan, FakeContext(plan.restore_step))

    assert "cannot read repository_db.dump: it was made by pg_dump 99" in caught.value.message
    assert "postgresql-client-99" in caught.value.hint
    assert plan.scratch not in database_names(pg_lab)


async def test_a_cancelled_restore_kills_pg_restore_and_drops_its_scratch(
    pg_lab: LabLayout, repository_dump: tuple[Path, dict[str, Any]], live: str
) -> None:
    plan = plan_for(pg_lab, repository_dump, live)
    ctx = FakeContext(plan.restore_step)
    started = asyncio.Event()
    ctx.progress = lambda message, detail=None: started.set()  # type: ignore[method-assign]

    task = asyncio.create_task(database.restore_into_scratch(plan, ctx))
    await asyncio.wait_for(started.wait(), 30)
    pid = ctx.records[plan.restore_step]["child"]["pid"]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert not Path(f"/proc/{pid}").exists()
    assert plan.scratch not in database_names(pg_lab)
    assert tables_of(pg_lab, live) == {"old_marker"}


_KILLED_ATTEMPT = """
import asyncio, json, sys
from pathlib import Path
from syncwizard.runbook.restore import database
from syncwizard.runbook.restore.database import RestorePlan

args = json.loads(sys.argv[1])
records = Path(args["records"])

class Ctx:
    run_id = "x"; results = {}; rechecking = False
    def records_of(self, step): return {}
    def step_times(self): return {}
    def progress(self, message, detail=None): pass
    def log(self, line): pass
    def record(self, name, data):  # journaled at once, as the engine does
        with records.open("a") as f:
            f.write(json.dumps({"name": name, "data": dict(data)}) + "\\n")

plan = RestorePlan(**{**args["plan"], "archive": Path(args["plan"]["archive"]),
                      "passfile": Path(args["plan"]["passfile"])})
asyncio.run(database.restore_into_scratch(plan, Ctx()))
"""


async def test_after_a_kill_9_mid_restore_the_next_attempt_drops_the_half_scratch_and_restores(
    pg_lab: LabLayout, repository_dump: tuple[Path, dict[str, Any]], live: str, tmp_path: Path
) -> None:
    plan = plan_for(pg_lab, repository_dump, live)
    records = tmp_path / "records.jsonl"
    fields = {k: str(v) if isinstance(v, Path) else v for k, v in plan.__dict__.items()}
    fields["roles"] = list(plan.roles)
    fields["row_counts"] = dict(plan.row_counts)
    attempt = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _KILLED_ATTEMPT,
            json.dumps({"plan": fields, "records": str(records)}),
        ],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and '"child"' not in (
        records.read_text() if records.exists() else ""
    ):
        await asyncio.sleep(0.02)
    os.kill(attempt.pid, signal.SIGKILL)  # pg_restore, in its own session, lives on
    attempt.wait()
    kept = {}
    for line in records.read_text().splitlines():
        entry = json.loads(line)
        kept[entry["name"]] = entry["data"]
    assert "child" in kept, "the killed attempt never started pg_restore"
    assert plan.scratch in database_names(pg_lab)  # the half-restored scratch database
    first_oid = oid_of(pg_lab, plan.scratch)

    ctx = FakeContext(plan.restore_step, records={plan.restore_step: kept})
    outputs = await database.restore_into_scratch(plan, ctx)

    assert any(
        f"dropped {plan.scratch!r}" in line and "interrupted attempt" in line for line in ctx.logs
    )
    assert outputs["dropped_leftovers"] == [plan.scratch]
    assert outputs["scratch_oid"] != first_oid
    assert not Path(f"/proc/{kept['child']['pid']}").exists()
    row_counts = repository_dump[1]["row_counts"]
    assert counts_in(pg_lab, plan.scratch, list(row_counts)) == row_counts


async def test_a_database_under_the_scratch_name_this_run_did_not_make_is_refused(
    pg_lab: LabLayout, repository_dump: tuple[Path, dict[str, Any]], live: str
) -> None:
    plan = plan_for(pg_lab, repository_dump, live)
    with admin(pg_lab) as conn:
        conn.execute(f"CREATE DATABASE {plan.scratch}")

    with pytest.raises(SyncWizardError) as caught:
        await database.restore_into_scratch(plan, FakeContext(plan.restore_step))

    assert "already exists and this run did not create it" in caught.value.message
    assert plan.scratch in database_names(pg_lab)


# --- the swap -------------------------------------------------------------------------------


async def test_swap_puts_the_restored_database_in_place_ending_the_live_sessions(
    pg_lab: LabLayout, repository_dump: tuple[Path, dict[str, Any]], live: str
) -> None:
    plan = plan_for(pg_lab, repository_dump, live)
    ctx, outputs = await restored(plan)
    live_oid = oid_of(pg_lab, live)
    client = psycopg.connect(
        pgadmin.database_conninfo(lab.conninfo(pg_lab, "repository"), live),
        passfile=str(pg_lab.pgpass),
        application_name="repository-app",
        autocommit=True,
    )
    facts = dict(database.gate_facts(plan, await database.look_before_swap(plan)))
    try:
        swapped = await database.swap(plan, ctx.next_step(plan.swap_step))
        with pytest.raises(psycopg.OperationalError):
            client.execute("SELECT 1")
    finally:
        client.close()

    assert facts["Database"].startswith(f"{live} on 127.0.0.1:")
    assert facts["Connected"].startswith("1 session: alfresco (repository-app, 127.0.0.1")
    assert facts["Renamed to"].startswith(plan.aside)
    assert "verified" in facts["Replaced by"]
    assert swapped["database"] == live and swapped["aside"] == plan.aside
    assert swapped["terminated"] == 1
    assert oid_of(pg_lab, live) == outputs["scratch_oid"]
    assert oid_of(pg_lab, plan.aside) == live_oid
    assert tables_of(pg_lab, plan.aside) == {"old_marker"}
    assert plan.scratch not in database_names(pg_lab)
    assert ctx.records[plan.swap_step]["swapped"]["aside"] == plan.aside

    assert await database.drop_aside(
        plan.conninfo, plan.aside, passfile=plan.passfile, system=plan.role
    )
    assert plan.aside not in database_names(pg_lab)


async def test_swap_run_again_is_a_no_op_with_the_same_outputs(
    pg_lab: LabLayout, repository_dump: tuple[Path, dict[str, Any]], live: str
) -> None:
    plan = plan_for(pg_lab, repository_dump, live)
    ctx, _ = await restored(plan)
    swap_ctx = ctx.next_step(plan.swap_step)
    first = await database.swap(plan, swap_ctx)
    oids = (oid_of(pg_lab, live), oid_of(pg_lab, plan.aside))

    again = await database.swap(plan, swap_ctx)
    # Killed after the commit, before "swapped" was journaled: recognised by the oid.
    swap_ctx.records[plan.swap_step].pop("swapped")
    recognised = await database.swap(plan, swap_ctx)

    assert again == first
    assert {k: recognised[k] for k in ("database", "aside")} == {
        "database": live,
        "aside": plan.aside,
    }
    assert (oid_of(pg_lab, live), oid_of(pg_lab, plan.aside)) == oids
    await database.verify_swapped(plan, swap_ctx, first)


async def test_the_drop_first_path_drops_live_before_restoring_and_keeps_no_copy(
    pg_lab: LabLayout, repository_dump: tuple[Path, dict[str, Any]], live: str
) -> None:
    plan = plan_for(pg_lab, repository_dump, live, mode="drop_first")
    facts = dict(database.gate_facts(plan, await database.look_before_swap(plan)))
    ctx = FakeContext(plan.restore_step)

    outputs = await database.restore_into_scratch(plan, ctx)
    ctx.results[plan.restore_step] = outputs
    assert live not in database_names(pg_lab)  # dropped at the start, by design
    swapped = await database.swap(plan, ctx.next_step(plan.swap_step))

    assert facts["Becomes"].startswith("DROPPED")
    assert any("the drop-first path" in line for line in ctx.logs)
    assert swapped["aside"] is None and "no copy" in swapped["summary"]
    assert oid_of(pg_lab, live) == outputs["scratch_oid"]
    assert not any(name.startswith(f"{live}__") for name in database_names(pg_lab))
    row_counts = repository_dump[1]["row_counts"]
    assert counts_in(pg_lab, live, list(row_counts)) == row_counts


async def test_swap_without_a_verified_restore_is_refused(
    pg_lab: LabLayout, repository_dump: tuple[Path, dict[str, Any]], live: str
) -> None:
    plan = plan_for(pg_lab, repository_dump, live)
    with pytest.raises(RefusedError):
        await database.swap(plan, FakeContext(plan.swap_step))
    ctx = FakeContext(plan.swap_step, results={plan.restore_step: {"scratch_oid": 1}})
    with pytest.raises(RefusedError) as caught:
        await database.swap(plan, ctx)
    assert "nothing was changed" in caught.value.message
    assert tables_of(pg_lab, live) == {"old_marker"}


# --- after pg_restore: statistics, owners, the database's own settings -----------------------


def stats_of(layout: LabLayout, dbname: str) -> tuple[set[str], set[str]]:
    """(tables with planner statistics in pg_stats, tables with a manual ANALYZE time)."""
    with admin(layout, dbname) as conn:
        in_stats = {
            f"public.{row[0]}"
            for row in conn.execute(
                "SELECT DISTINCT tablename FROM pg_stats WHERE schemaname = 'public'"
            )
        }
        analyzed = {
            f"public.{row[0]}"
            for row in conn.execute(
                "SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL"
            )
        }
    return in_stats, analyzed


async def test_the_restored_database_goes_live_with_planner_statistics(
    pg_lab: LabLayout, repository_dump: tuple[Path, dict[str, Any]], live: str
) -> None:
    plan = plan_for(pg_lab, repository_dump, live)
    ctx, outputs = await restored(plan)
    await database.swap(plan, ctx.next_step(plan.swap_step))

    filled = {key for key, rows in repository_dump[1]["row_counts"].items() if rows > 0}
    assert filled, "the lab's repository DB has rows to analyze"
    in_stats, _ = stats_of(pg_lab, live)
    assert filled <= in_stats  # pg_statistic is written by ANALYZE, in its transaction
    # The ANALYZE, not autovacuum (that sets last_autoanalyze): the server's statistics
    # collector reports it once the analyzing session has ended.
    deadline = time.monotonic() + 30
    while not filled <= stats_of(pg_lab, live)[1] and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert filled <= stats_of(pg_lab, live)[1]
    assert outputs["analyzed"] is True and ", analyzed, in " in outputs["summary"]
    assert any(line.startswith(f"ANALYZE {plan.scratch}: planner statistics") for line in ctx.logs)
    assert any("ANALYZE" in message for message, _ in ctx.reports)


@pytest.fixture
def owned_dump(pg_lab: LabLayout, tmp_path: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    """A directory dump whose tables belong to `rl_gone_owner` (dropped from the server
    afterwards), `rl_foreign_owner` (kept; alfresco is no member of it) and alfresco."""
    source = "rl_owned_source"
    with admin(pg_lab) as conn:
        conn.execute("CREATE ROLE rl_gone_owner NOLOGIN")
        conn.execute("CREATE ROLE rl_foreign_owner NOLOGIN")
        conn.execute(f"CREATE DATABASE {source} OWNER alfresco")
    try:
        with admin(pg_lab, source) as conn:
            for table, owner in (
                ("gone_t", "rl_gone_owner"),
                ("foreign_t", "rl_foreign_owner"),
                ("ours_t", "alfresco"),
            ):
                conn.execute(f"CREATE TABLE {table} AS SELECT generate_series(1, 5) AS id")
                conn.execute(f"ALTER TABLE {table} OWNER TO {owner}")
        out = tmp_path / "owned.dump"
        subprocess.run(
            [
                str(pgtools.tool_path("pg_dump")),
                "--format=directory",
                f"--file={out}",
                lab.superuser_conninfo(pg_lab, source),
            ],
            check=True,
        )
        with admin(pg_lab) as conn:
            conn.execute(f"DROP DATABASE {source} WITH (FORCE)")
            conn.execute("DROP ROLE rl_gone_owner")
        entry = {
            "path": out.name,
            "format": "directory",
            "row_counts": {"public.gone_t": 5, "public.foreign_t": 5, "public.ours_t": 5},
        }
        yield tmp_path, entry
    finally:
        with admin(pg_lab) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {source} WITH (FORCE)")
            conn.execute("DROP ROLE IF EXISTS rl_gone_owner")
            conn.execute("DROP ROLE IF EXISTS rl_foreign_owner")


async def test_owner_roles_the_server_lacks_are_refused_by_name_not_restored_without_owners(
    pg_lab: LabLayout, owned_dump: tuple[Path, dict[str, Any]], live: str
) -> None:
    for mode in ("side_by_side", "drop_first"):
        plan = plan_for(pg_lab, owned_dump, live, mode=mode)
        with pytest.raises(SyncWizardError) as caught:
            await database.restore_into_scratch(plan, FakeContext(plan.restore_step))

        message, hint = caught.value.message, caught.value.hint
        assert "belong to role 'rl_gone_owner', which does not exist on 127.0.0.1:" in message
        assert "user 'alfresco' may not give objects to 'rl_foreign_owner'" in message
        assert f"Nothing was changed; {live!r} is untouched" in message
        assert "CREATE ROLE rl_gone_owner" in hint
        assert "GRANT rl_foreign_owner TO alfresco" in hint
        assert plan.scratch not in database_names(pg_lab)
        assert tables_of(pg_lab, live) == {"old_marker"}  # drop-first: not dropped either


async def test_with_the_missing_owner_created_every_table_keeps_its_owner(
    pg_lab: LabLayout, owned_dump: tuple[Path, dict[str, Any]], live: str
) -> None:
    # A superuser may give objects to any role that exists: nothing left to refuse.
    # (A non-superuser's pg_restore also needs each owner to have CREATE on the schema.)
    with admin(pg_lab) as conn:
        conn.execute("CREATE ROLE rl_gone_owner NOLOGIN")
    conninfo = pgadmin.database_conninfo(lab.superuser_conninfo(pg_lab), live)
    plan = plan_for(pg_lab, owned_dump, live, conninfo=conninfo, passfile=None)
    try:
        _, outputs = await restored(plan)
        with admin(pg_lab, plan.scratch) as conn:
            owners: dict[str, str] = dict(
                conn.execute(
                    "SELECT tablename::text, tableowner::text FROM pg_tables"
                    " WHERE schemaname = 'public'"
                ).fetchall()
            )
    finally:
        with admin(pg_lab) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{plan.scratch}" WITH (FORCE)')
    assert outputs["no_owner"] is False
    assert owners == {
        "gone_t": "rl_gone_owner",
        "foreign_t": "rl_foreign_owner",
        "ours_t": "alfresco",
    }


_DATABASE_FACTS = """
SELECT pg_get_userbyid(d.datdba), d.datconnlimit,
       (SELECT array_agg(c ORDER BY c) FROM pg_db_role_setting s, unnest(s.setconfig) c
        WHERE s.setdatabase = d.oid AND s.setrole = 0),
       (SELECT array_agg(pg_get_userbyid(s.setrole) || ':' || c ORDER BY 1)
        FROM pg_db_role_setting s, unnest(s.setconfig) c
        WHERE s.setdatabase = d.oid AND s.setrole <> 0),
       (SELECT array_agg(a::text ORDER BY a::text) FROM unnest(d.datacl) a),
       shobj_description(d.oid, 'pg_database')
FROM pg_database d WHERE d.datname = %s
"""


def database_facts(layout: LabLayout, name: str) -> tuple[Any, ...]:
    with admin(layout) as conn:
        row = conn.execute(_DATABASE_FACTS, (name,)).fetchone()
    assert row is not None
    return tuple(row)


@pytest.mark.parametrize("mode", ["side_by_side", "drop_first"])
async def test_the_databases_settings_and_grants_survive_the_swap(
    pg_lab: LabLayout, repository_dump: tuple[Path, dict[str, Any]], live: str, mode: str
) -> None:
    with admin(pg_lab) as conn:
        conn.execute("DROP ROLE IF EXISTS rl_reader")
        conn.execute("CREATE ROLE rl_reader NOLOGIN")
        conn.execute(f"ALTER DATABASE {live} SET work_mem = '8MB'")
        conn.execute(f"""ALTER DATABASE {live} SET search_path = "$user", public, "Odd Schema" """)
        conn.execute(f"ALTER DATABASE {live} CONNECTION LIMIT 40")
        conn.execute(f"REVOKE CONNECT ON DATABASE {live} FROM PUBLIC")
        conn.execute(f"GRANT CONNECT, CREATE ON DATABASE {live} TO rl_reader")
        conn.execute(f"ALTER ROLE alfresco IN DATABASE {live} SET statement_timeout = '5min'")
        conn.execute(f"COMMENT ON DATABASE {live} IS 'the repository''s own'")
    try:
        before = database_facts(pg_lab, live)
        plan = plan_for(pg_lab, repository_dump, live, mode=mode)
        ctx, _ = await restored(plan)
        facts = dict(database.gate_facts(plan, await database.look_before_swap(plan)))
        swap_ctx = ctx.next_step(plan.swap_step)
        swapped = await database.swap(plan, swap_ctx)
        after = database_facts(pg_lab, live)
    finally:
        with admin(pg_lab) as conn:
            for name in database_names(pg_lab):
                if name == live or name.startswith(live + "__"):
                    conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            conn.execute("DROP ROLE IF EXISTS rl_reader")

    assert oid_of(pg_lab, live) is None  # dropped by the cleanup: the facts were read before
    assert before[2] is not None and len(before[2]) == 2 and before[4] is not None
    assert after == before
    assert swapped["settings_not_reapplied"] == []
    assert any("GRANT CONNECT ON DATABASE" in s for s in swapped["settings_reapplied"])
    assert "database settings and privileges set again" in swapped["summary"]
    assert any(line.startswith(f"set again on the restored {live!r}: ") for line in swap_ctx.logs)
    if mode == "side_by_side":  # the swap's gate shows what it sets again
        assert facts["Set again"].startswith(f'ALTER DATABASE "{live}" SET "work_mem" = \'8MB\'')
        assert facts["Set again"].endswith(" more")


async def test_a_setting_this_role_may_not_set_is_named_and_the_swap_still_commits(
    pg_lab: LabLayout, repository_dump: tuple[Path, dict[str, Any]], live: str
) -> None:
    with admin(pg_lab) as conn:
        conn.execute("DROP ROLE IF EXISTS rl_other")
        conn.execute("CREATE ROLE rl_other NOLOGIN")
        conn.execute(f"ALTER ROLE rl_other IN DATABASE {live} SET work_mem = '16MB'")
        conn.execute(f"ALTER DATABASE {live} SET work_mem = '8MB'")
    try:
        plan = plan_for(pg_lab, repository_dump, live)
        ctx, _ = await restored(plan)
        swap_ctx = ctx.next_step(plan.swap_step)
        swapped = await database.swap(plan, swap_ctx)
        facts = database_facts(pg_lab, live)
    finally:
        with admin(pg_lab) as conn:
            for name in database_names(pg_lab):
                if name == live or name.startswith(live + "__"):
                    conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            conn.execute("DROP ROLE IF EXISTS rl_other")

    assert facts[2] == ["work_mem=8MB"] and facts[3] is None  # one set, one not
    assert swapped["aside"] == plan.aside  # committed, the old database aside as ever
    (failed,) = swapped["settings_not_reapplied"]
    assert failed.startswith(f'ALTER ROLE "rl_other" IN DATABASE "{live}" SET "work_mem"')
    assert "permission denied" in failed
    assert "NOT set again (run them as a role that may)" in swapped["summary"]
    assert any(line.startswith("NOT set again on the restored") for line in swap_ctx.logs)
