"""Backup sets without a database: the manifest, checksums, TOC listings, options, printing."""

from __future__ import annotations

import io
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from syncwizard.config import BackupSettings
from syncwizard.errors import SyncWizardError
from syncwizard.headless import HeadlessPrinter
from syncwizard.runbook import backupset
from syncwizard.runbook.backup.drain import DrainStatus
from syncwizard.runbook.backup.runbook import BackupOptions, parse_attested_time
from syncwizard.runbook.backup.systems import DatabaseProbeResult
from syncwizard.runbook.model import EventKind, RefusedError, StepEvent, StepState

TOC_LIST = """\
;
; Archive created at 2026-11-26 04:40:15 UTC
;     dbname: alfresco
;     TOC Entries: 13
;     Compression: 1
;     Dump Version: 1.14-0
;     Format: DIRECTORY
;     Dumped from database version: 15.18 (Debian 15.18-0+deb12u1)
;     Dumped by pg_dump version: 15.18 (Debian 15.18-0+deb12u1)
;
;
; Selected TOC Entries:
;
215; 1259 16386 TABLE public alf_node alfresco
216; 1259 16397 TABLE public alf_node_properties alfresco
3356; 0 16386 TABLE DATA public alf_node alfresco
3357; 0 16397 TABLE DATA public alf_node_properties alfresco
3200; 2606 16394 CONSTRAINT public alf_node alf_node_pkey alfresco
"""


def test_a_toc_listing_gives_its_entries_and_table_data() -> None:
    toc = backupset.parse_toc_list(TOC_LIST)
    assert toc.entries == 5
    assert toc.table_data == {"public.alf_node", "public.alf_node_properties"}
    assert toc.dumped_by.startswith("15.18") and toc.format == "DIRECTORY"
    # the dump id names a directory dump's data file, `3356.dat.gz`; the oid names the table
    assert toc.data_ids == {3356: 16386, 3357: 16397}


def test_a_table_that_held_rows_but_has_no_data_in_the_dump_is_a_problem() -> None:
    toc = backupset.parse_toc_list(TOC_LIST)
    assert backupset.toc_problems("r.dump", toc, {"public.alf_node": 5, "public.empty": 0}) == []
    problems = backupset.toc_problems("r.dump", toc, {"public.alf_audit": 7})
    assert problems == ["r.dump: the dump has no data for public.alf_audit, which held rows"]


def make_set(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    set_dir = tmp_path / "set"
    (set_dir / "sync_db.dump").mkdir(parents=True)
    (set_dir / "sync_db.dump" / "toc.dat").write_bytes(b"toc")
    (set_dir / "sync_db.dump" / "1.dat.gz").write_bytes(b"rows" * 100)
    files = [e.as_json() for e in backupset.hash_files(set_dir, "sync_db.dump")]
    manifest = {
        "format": backupset.MANIFEST_FORMAT,
        "version": backupset.MANIFEST_VERSION,
        "tool": {"name": "syncwizard", "version": "0"},
        "run_id": "backup-1",
        "sync_id": "guid",
        "steps": {},
        "created_at": "now",
        "dumps": [],
        "files": files,
    }
    backupset.write_manifest(set_dir, manifest)
    return set_dir, manifest


def test_the_manifest_is_written_atomically_and_privately(tmp_path: Path) -> None:
    set_dir, manifest = make_set(tmp_path)
    path = set_dir / backupset.MANIFEST_NAME
    assert json.loads(path.read_text()) == manifest
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not list(set_dir.glob("*.partial"))


async def test_a_sealed_set_verifies_and_a_changed_file_does_not(tmp_path: Path) -> None:
    set_dir, _ = make_set(tmp_path)
    report = await backupset.verify_set(set_dir)
    assert report.ok and report.files_checked == 2 and report.bytes_checked == 403
    (set_dir / "sync_db.dump" / "1.dat.gz").write_bytes(b"ROWS" * 100)  # same size
    (set_dir / "notes.txt").write_text("mine")
    (set_dir / "extra.partial").write_text("")
    report = await backupset.verify_set(set_dir)
    assert not report.ok
    assert "sync_db.dump/1.dat.gz does not match its recorded sha256" in report.problems
    assert "extra.partial is an unfinished file left in the set" in report.problems
    assert report.warnings == ["notes.txt is not listed in the manifest"]
    (set_dir / "sync_db.dump" / "toc.dat").unlink()
    report = await backupset.verify_set(set_dir)
    assert "sync_db.dump/toc.dat is missing" in report.problems


async def test_a_folder_without_a_manifest_is_not_a_backup_set(tmp_path: Path) -> None:
    with pytest.raises(SyncWizardError, match="not a sealed backup set"):
        await backupset.verify_set(tmp_path)
    (tmp_path / backupset.MANIFEST_NAME).write_text('{"format": "other"}')
    with pytest.raises(SyncWizardError, match="not a syncwizard backup manifest"):
        await backupset.verify_set(tmp_path)
    with pytest.raises(SyncWizardError, match="is not a folder"):
        await backupset.verify_set(tmp_path / "nowhere")


def rewrite_manifest(set_dir: Path, **changes: object) -> None:
    path = set_dir / backupset.MANIFEST_NAME
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"files": {"sync_db.dump/toc.dat": 3}}, "`files` must be a list of {path, size, sha256}"),
        ({"files": [{"size": 3, "sha256": "0" * 64}]}, "`files[0]` has no path"),
        (
            {"files": [{"path": "toc.dat", "size": "3", "sha256": "0" * 64}]},
            "`files[0].size` must be a whole number of bytes, found '3' (a string)",
        ),
        (
            {"files": [{"path": "toc.dat", "size": 3.5, "sha256": "0" * 64}]},
            "found 3.5 (a fraction)",
        ),
        (
            {"files": [{"path": "../../etc/passwd", "size": 3, "sha256": "0" * 64}]},
            "`files[0].path` must be a relative path inside the set, found '../../etc/passwd'",
        ),
        ({"files": [{"path": "toc.dat", "size": 3}]}, "`files[0].sha256` must be 64 hex"),
        ({"dumps": ["sync_db.dump"]}, "`dumps[0]` must be an object, found 'sync_db.dump'"),
        ({"dumps": [{"path": "d", "row_counts": {"t": "9"}}]}, "`dumps[0].row_counts` must map"),
        ({"tool": "syncwizard"}, "`tool` must be an object, found 'syncwizard' (a string)"),
        ({"t0": "2026-11-26"}, "`t0` must be an object with at"),
    ],
)
async def test_a_manifest_of_the_wrong_shape_is_named_as_damaged_not_a_traceback(
    tmp_path: Path, changes: dict[str, object], named: str
) -> None:
    set_dir, _ = make_set(tmp_path)
    rewrite_manifest(set_dir, **changes)
    with pytest.raises(SyncWizardError) as caught:
        await backupset.verify_set(set_dir)
    error = caught.value
    assert error.message.startswith(f"{set_dir / backupset.MANIFEST_NAME} is damaged: ")
    assert named in error.message
    assert "cannot be trusted" in error.hint and "syncwizard backup" in error.hint


@pytest.mark.parametrize(
    ("version", "found"),
    [("1", "'1' (a string)"), (1.0, "1.0 (a fraction)"), (True, "True (true/false)")],
)
async def test_a_manifest_version_that_is_not_an_integer_is_said_so(
    tmp_path: Path, version: object, found: str
) -> None:
    set_dir, _ = make_set(tmp_path)
    rewrite_manifest(set_dir, version=version)
    with pytest.raises(SyncWizardError) as caught:
        backupset.read_manifest(set_dir)
    message = caught.value.message
    assert "the manifest version must be an integer" in message
    assert message.endswith(f"found {found}")
    assert "is manifest version 1, this syncwizard reads version 1" not in message
    rewrite_manifest(set_dir, version=2)
    with pytest.raises(SyncWizardError, match="is manifest version 2, this syncwizard reads"):
        backupset.read_manifest(set_dir)


async def test_a_dump_lacking_what_a_restore_reads_is_a_problem_of_the_set(
    tmp_path: Path,
) -> None:
    set_dir, _ = make_set(tmp_path)
    rewrite_manifest(set_dir, dumps=[{"path": "sync_db.dump", "roles": ["sync_db"]}])
    report = await backupset.verify_set(set_dir)
    assert report.problems == ["the manifest's dumps[0] lacks row_counts, toc_entries"]


def test_files_and_folders_are_made_private(tmp_path: Path) -> None:
    dump = tmp_path / "d.dump"
    dump.mkdir(mode=0o755)
    (dump / "toc.dat").write_text("x")
    (dump / "toc.dat").chmod(0o644)
    backupset.make_private(dump)
    assert stat.S_IMODE(dump.stat().st_mode) == 0o700
    assert stat.S_IMODE((dump / "toc.dat").stat().st_mode) == 0o600


# --- options -------------------------------------------------------------------------------


def test_options_come_from_the_profile_with_command_line_overrides(tmp_path: Path) -> None:
    settings = BackupSettings(dir=str(tmp_path), jobs=4, drain_timeout=600.0)
    options = BackupOptions.from_settings(settings, format="custom", timeout=30.0, jobs=None)
    assert (options.format, options.jobs, options.compress) == ("custom", 4, "1")
    assert options.drain.timeout == 30.0 and options.backup_dir == tmp_path
    assert BackupOptions.from_json(json.loads(json.dumps(options.as_json()))) == options


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("format", "tar", '"directory" or "custom"'),
        ("compress", "zstd", "gzip level"),
        ("wait_mode", "guess", '"drain" or "countdown"'),
        ("jobs", 0, "1 or more"),
    ],
)
def test_bad_options_are_named_with_what_was_expected(
    tmp_path: Path, key: str, value: object, expected: str
) -> None:
    settings = BackupSettings(dir=str(tmp_path), **{key: value})  # type: ignore[arg-type]
    with pytest.raises(SyncWizardError, match=f"backup.{key}") as caught:
        BackupOptions.from_settings(settings)
    assert expected in caught.value.message


def test_an_attested_time_needs_its_offset_and_cannot_be_in_the_future() -> None:
    assert parse_attested_time("2026-11-26T02:00:00Z") == parse_attested_time(
        "2026-11-26T03:00:00+01:00"
    )
    with pytest.raises(SyncWizardError, match="UTC offset"):
        parse_attested_time("2026-11-26 03:00")
    with pytest.raises(SyncWizardError, match="in the future"):
        parse_attested_time("2026-11-26T03:00:00Z", now=1.0)


# --- the headless printer ------------------------------------------------------------------


def test_the_printer_prints_transitions_and_thins_progress() -> None:
    out = io.StringIO()
    printer = HeadlessPrinter(out, progress_every=60, step_titles={"wait": "Wait"})
    printer(StepEvent("r", EventKind.STATE, "wait", StepState.RUNNING))
    for n in range(5):
        printer(StepEvent("r", EventKind.PROGRESS, "wait", message=f"{n} of 5 events consumed"))
    printer(StepEvent("r", EventKind.LOG, "wait", message="pg_dump: reading"))
    error = RefusedError("the queue did not drain", hint="start the Sync Service")
    printer(StepEvent("r", EventKind.STATE, "wait", StepState.FAILED, error=error))
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("== Wait")
    assert lines[1].endswith("0 of 5 events consumed") and len(lines) == 4
    assert "Wait failed: the queue did not drain" in lines[2]
    assert lines[3].strip() == "hint: start the Sync Service"


def test_json_lines_carry_the_event_and_its_live_detail() -> None:
    out = io.StringIO()
    printer = HeadlessPrinter(out, json_lines=True)
    status = DrainStatus(
        at=1.0,
        elapsed=1.0,
        timeout=9.0,
        clause=None,
        ready=False,
        confirmed=False,
        pending=3,
        consumed=1,
        p0=4,
        consumers=1,
    )
    printer(StepEvent("r", EventKind.PROGRESS, "wait", message=status.headline, detail=status))
    error = RefusedError("refused", hint="h")
    printer(StepEvent("r", EventKind.STATE, "wait", StepState.FAILED, error=error))
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["kind"] == "progress" and first["detail"]["p0"] == 4
    assert first["message"] == "1 of 4 events consumed; 3 pending; 1 consumer"
    assert second["error"] == {"system": "", "message": "refused", "hint": "h", "refused": True}


def test_the_printer_falls_silent_when_its_reader_goes_away_and_the_run_goes_on() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # `syncwizard backup --yes | head -1` after head has exited
    out = os.fdopen(write_end, "w")
    printer = HeadlessPrinter(out, step_titles={"seal": "Verify and seal"})
    printer(StepEvent("r", EventKind.STATE, "seal", StepState.RUNNING))  # no BrokenPipeError
    assert printer.closed
    printer(StepEvent("r", EventKind.STATE, "seal", StepState.DONE, message="sealed"))
    printer.warn("r", "still quiet")
    out.close()  # what was buffered went to /dev/null: closing raises nothing either


def test_an_abandoned_run_is_printed_in_text_and_a_warning_stands_out() -> None:
    out = io.StringIO()
    printer = HeadlessPrinter(out)
    printer(StepEvent("old", EventKind.RUN_ABANDONED, message="run old left unfinished"))
    printer.warn("old", "run old cannot be resumed")
    first, second = out.getvalue().splitlines()
    assert first.endswith(" run old left unfinished")
    assert second.endswith(" warning: run old cannot be resumed")
    out = io.StringIO()
    HeadlessPrinter(out, json_lines=True).warn("old", "run old cannot be resumed")
    entry = json.loads(out.getvalue())
    assert (entry["kind"], entry["run_id"]) == ("warning", "old")


# --- does the Sync Service share the repository database? ----------------------------------


def probe(
    role: str, name: str, port: str = "5432", sync_tables: tuple[str, ...] = ()
) -> DatabaseProbeResult:
    return DatabaseProbeResult(
        role=role,
        target="",
        name=name,
        server_version="15.4",
        server_major=15,
        size_bytes=1,
        data_bytes=1,
        identity=("2026-11-26 04:00:00+00", port, name),
        sync_tables=sync_tables,
    )


def test_the_same_database_in_both_profiles_is_shared() -> None:
    from syncwizard.runbook.backup.systems import shared_database

    probes = {"repository_db": probe("r", "alfresco"), "sync_db": probe("s", "alfresco")}
    shared, why = shared_database("host=db dbname=alfresco", "host=db2 dbname=x", probes, [])
    assert shared and "same server" in why  # two names for one host: the server says so
    alike = {"repository_db": probe("r", "alfresco"), "sync_db": probe("s", "sync")}
    assert shared_database("host=db dbname=a user=x", "host=db dbname=a user=y", alike, [])[0]


def test_sync_tables_in_the_repository_database_make_it_shared_or_a_warning() -> None:
    from syncwizard.runbook.backup.systems import shared_database

    inside = {
        "repository_db": probe("r", "alfresco", sync_tables=("public.sync_node",)),
        "sync_db": probe("s", "syncservice"),
    }
    shared, why = shared_database("dbname=alfresco", "dbname=syncservice", inside, [])
    assert shared and "public.sync_node" in why
    both = {
        "repository_db": probe("r", "alfresco", sync_tables=("public.sync_node",)),
        "sync_db": probe("s", "syncservice", sync_tables=("public.sync_node",)),
    }
    warnings: list[str] = []
    assert shared_database("dbname=alfresco", "dbname=syncservice", both, warnings) == (False, "")
    assert "point sync_db.conninfo at it" in warnings[0]
    apart = {"repository_db": probe("r", "alfresco"), "sync_db": probe("s", "syncservice")}
    assert shared_database("dbname=alfresco", "dbname=syncservice", apart, []) == (False, "")


def test_the_printer_repeats_what_blocks_the_wait_only_when_it_changes() -> None:
    out = io.StringIO()
    printer = HeadlessPrinter(out, progress_every=1e-9)
    for pending in (5, 6):
        message = f"0 of 3 events consumed; {pending} pending\nno consumer is attached"
        printer(StepEvent("r", EventKind.PROGRESS, "wait", message=message))
    printer(StepEvent("r", EventKind.PROGRESS, "wait", message="3 of 3 events consumed"))
    lines = [line.strip() for line in out.getvalue().splitlines()]
    assert [line.split(" ", 1)[1].strip() for line in lines if line[:2].isdigit()] == [
        "0 of 3 events consumed; 5 pending",
        "0 of 3 events consumed; 6 pending",
        "3 of 3 events consumed",
    ]
    assert lines.count("no consumer is attached") == 1
