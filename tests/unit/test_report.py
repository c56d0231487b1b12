"""`syncwizard report RUN`: a run's journal told as Markdown for a change ticket."""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Any

import pytest

from syncwizard.errors import SyncWizardError
from syncwizard.runbook.journal import Journal, RunRecord, load_run
from syncwizard.runbook.model import EventKind, StepEvent, StepState
from syncwizard.runbook.report import render_report, report_for, write_report

T = 1_795_671_092.0  # 2026-11-26 05:31:32 UTC
BACKUP_STEPS = ["preflight", "repository_db", "wait_drain", "sync_db", "seal"]
RESTORE_STEPS = [
    "verify_set",
    "preflight",
    "stop_services",
    "check_quiet",
    "clear_events",
    "restore_repository",
    "swap_repository",
    "restore_sync",
    "swap_sync",
    "start_repository",
    "start_recover",
    "plain_restart",
    "report",
]
SYNC_ID = "e40046b4-3d2a-44f5-934c-42073f82e850"
QUEUE = f"Consumer.{SYNC_ID}.VirtualTopic.alfresco.repo.events.nodes"
SHA = "c9c8a0cb8cd60f36b42e0c597208d61dcc78b9cd52f22648382fa807d03521ff"


class RunWriter:
    """Writes a synthetic journal the way the engine does (nothing masked at write time)."""

    def __init__(
        self, root: Path, run_id: str, runbook: str, steps: list[str], **header: Any
    ) -> None:
        self.run_dir = root / run_id
        self.run_id = run_id
        self.at = T
        self.journal = Journal.create(self.run_dir)
        self.emit(
            EventKind.RUN_STARTED,
            data={
                "runbook": runbook,
                "steps": steps,
                "profile": "prod",
                "tool_version": "0.1.0",
                **header,
            },
        )

    def emit(self, kind: EventKind, step: str | None = None, **fields: Any) -> None:
        self.at += 1.5
        self.journal.append(
            StepEvent(run_id=self.run_id, kind=kind, step_id=step, at=self.at, **fields)
        )

    def step(self, step: str, title: str, outputs: dict[str, Any] | None = None) -> None:
        self.emit(EventKind.STATE, step, state=StepState.RUNNING, message=f"{title}: started")
        outputs = outputs or {}
        message = str(outputs.get("summary", f"{title}: done"))
        self.emit(EventKind.STATE, step, state=StepState.DONE, message=message, data=outputs)

    def skipped(self, step: str, title: str, why: str) -> None:
        self.emit(EventKind.STATE, step, state=StepState.RUNNING, message=f"{title}: started")
        self.emit(EventKind.STATE, step, state=StepState.SKIPPED, message=why)

    def fail(self, step: str, title: str, error: SyncWizardError) -> None:
        self.emit(EventKind.STATE, step, state=StepState.RUNNING, message=f"{title}: started")
        self.emit(
            EventKind.STATE,
            step,
            state=StepState.FAILED,
            message=f"{title}: {error.message}",
            error=error,
        )
        self.emit(EventKind.RUN_STOPPED, step, message=error.message, data={"outcome": "failed"})

    def record(self, step: str, name: str, data: dict[str, Any]) -> None:
        self.emit(EventKind.RECORD, step, message=name, data=data)

    def finish(self) -> RunRecord:
        self.emit(EventKind.RUN_FINISHED)
        return self.load()

    def load(self) -> RunRecord:
        self.journal.close()
        return load_run(self.run_dir)


def dump(path: str, database: str, files: int) -> dict[str, Any]:
    return {
        "path": path,
        "database": database,
        "format": "directory",
        "size_bytes": 2_094_470,
        "snapshot_at": T + 3,
        "snapshot_at_iso": "2026-11-26T05:31:35.000Z",
        "row_counts": {"public.a": 1000, "public.b": 234},
        "files": [
            {"path": f"{path}/{n}.dat.gz", "size": 1000 + n, "sha256": f"{n:02d}" + SHA[2:]}
            for n in range(files)
        ],
    }


def backup_until(root: Path, last: str) -> RunWriter:
    """A backup run with every step up to and including `last` done."""
    run = RunWriter(
        root, "backup-20261126T053132Z", "backup", BACKUP_STEPS, backup_set="/backups/b1"
    )
    outputs: dict[str, tuple[str, dict[str, Any]]] = {
        "preflight": (
            "Preflight",
            {"sync_id": SYNC_ID, "queue": QUEUE, "topic": "VirtualTopic.x", "warnings": []},
        ),
        "repository_db": (
            "Repository DB backup",
            {
                "dump": dump("repository_db.dump", "alfresco", 2),
                "t0": T + 3,
                "t0_iso": "2026-11-26T05:31:35.000Z",
                "queue_at_t0": {"pending": 7, "dequeued": 18474, "consumers": 1},
                "summary": "repository DB: 2.1 MB, 1,234 rows in 2 tables",
            },
        ),
        "wait_drain": (
            "Wait for the Sync Service to track it",
            {
                "mode": "drain",
                "clause": "the queue is empty",
                "drained_at": T + 20,
                "queue_at_drain": {"elapsed": 6.1},
                "summary": "drained (the queue is empty): 7 of 7 events consumed",
            },
        ),
        "sync_db": ("Sync DB backup", {"dump": dump("sync_db.dump", "syncservice", 3)}),
        "seal": (
            "Verify and seal",
            {"manifest": "/backups/b1/manifest.json", "backup_set": "/backups/b1", "files": 5},
        ),
    }
    for step in BACKUP_STEPS:
        title, out = outputs[step]
        run.step(step, title, out)
        if step == last:
            break
    return run


def cleared(action: str, *, given_up: int = 0, still_pending: int = 0) -> dict[str, Any]:
    archived = 4321 - given_up
    return {
        "action": action,
        "queue": QUEUE,
        "topic": "VirtualTopic.alfresco.repo.events.nodes",
        "archive": None if action == "give_up" else "/state/runs/restore-1/events.jsonl",
        "archived": 0 if action == "give_up" else archived,
        "removed": 4321 - still_pending,
        "given_up": given_up,
        "still_pending": still_pending,
        "pending_at_start": 4300,
        "arrived": 21,
        "broker_removed": 4321 - still_pending,
        "counts_agree": True,
        "complete": given_up == 0,
        "ended_by": "ended" if still_pending else "empty",
    }


def restore_outputs(action: str = "clear") -> dict[str, tuple[str, dict[str, Any]]]:
    return {
        "verify_set": (
            "Verify the backup set",
            {
                "set_dir": "/backups/backup-20261120T010000Z",
                "set_run_id": "backup-20261120T010000Z",
                "created_at": "2026-11-20T01:02:03.000Z",
                "sync_id": "11111111-2222-3333-4444-555555555555",
                "dumps": [{"path": "repository_db.dump", "database": "alfresco", "roles": []}],
                "files_checked": 8,
                "bytes_checked": 3_086_980,
                "summary": "8 files checked",
            },
        ),
        "preflight": (
            "Preflight",
            {
                "sync_id": SYNC_ID,
                "set_sync_id": "11111111-2222-3333-4444-555555555555",
                "sync_id_differs": True,
                "queue": QUEUE,
                "databases": {"repository_db": {"name": "alfresco", "connections": 3}},
                "room": {"repository_db": {"free_bytes": None, "mode": "side_by_side"}},
                "warnings": ["the set's sync id differs from the one the health check reports"],
            },
        ),
        "stop_services": (
            "Stop the Sync Service and the repository",
            {
                "stopped": [
                    {"what": "Sync Service", "command": "systemctl stop sync", "exit_code": 0},
                    {"what": "repository", "command": "systemctl stop alfresco", "exit_code": 0},
                ],
                "consumers_after": 0,
            },
        ),
        "check_quiet": ("Check that nothing still arrives", {"quiet": True, "window": 3.0}),
        "clear_events": (
            "Clear the undelivered events",
            cleared(action, given_up=4321 if action == "give_up" else 0),
        ),
        "restore_repository": (
            "Restore the repository DB",
            {
                "database": "alfresco",
                "scratch": "alfresco__restoring_1",
                "mode": "side_by_side",
                "tables": 2,
                "rows": 39356,
                "seconds": 12.5,
            },
        ),
        "swap_repository": (
            "Put the restored repository DB in place",
            {"database": "alfresco", "aside": "alfresco__before_restore_1", "terminated": 2},
        ),
        "restore_sync": (
            "Restore the Sync DB",
            {"database": "syncservice", "scratch": "syncservice__restoring_1", "rows": 33996},
        ),
        "swap_sync": (
            "Put the restored Sync DB in place",
            {"database": "syncservice", "aside": "syncservice__before_restore_1"},
        ),
        "start_repository": (
            "Start the repository",
            {"started": True, "summary": "the repository answers at http://acs/ready since 05:33"},
        ),
        "start_recover": (
            "Start the Sync Service with -Drecover",
            {
                "command": "/opt/sync/syncservice.sh start",
                "exit_code": 0,
                "healthy_at": T + 90,
                "consumers": 1,
                "health": {"databaseCheck": True, "eventsHealthCheck": True},
                "persistent_note": "remove the recover option from JAVA_OPTS in setenv.sh",
            },
        ),
        "plain_restart": ("Restart without recover", {"exit_code": 0, "healthy_at": T + 120}),
        "report": ("Summary and report", {"report": "/state/runs/restore-1/report.md"}),
    }


def restore_run(root: Path, last: str = "report", action: str = "clear") -> RunWriter:
    run = RunWriter(root, "restore-20261126T061500Z", "restore", RESTORE_STEPS)
    for step, (title, out) in restore_outputs(action).items():
        run.step(step, title, out)
        if step == "swap_repository":
            run.record(step, "dropped_aside", {"database": "alfresco__before_restore_1"})
        if step == last:
            break
    return run


def table_rows(report: str, header_start: str) -> list[list[str]]:
    """The cells of the table whose header row begins with `header_start`."""
    lines = report.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]])
    return rows


# --- backup runs -------------------------------------------------------------------------


def test_a_finished_backup_names_its_run_profile_and_outcome_and_times(tmp_path: Path) -> None:
    report = render_report(backup_until(tmp_path, "seal").finish())
    assert report.startswith("# Backup run `backup-20261126T053132Z`: finished\n")
    facts = dict(row[:2] for row in table_rows(report, "| Fact |"))
    assert facts["Profile"] == "`prod`" and facts["Outcome"] == "finished"
    assert facts["Started"] == "2026-11-26 05:31:33 UTC"
    assert facts["Tool version"] == "syncwizard 0.1.0"
    assert facts["Duration"] == "16 s"  # 11 entries after run_started, 1.5 s apart


def test_the_timeline_lists_every_step_with_title_state_times_and_summary(
    tmp_path: Path,
) -> None:
    report = render_report(backup_until(tmp_path, "seal").finish())
    timeline = table_rows(report, "| # | Step |")
    assert [row[1] for row in timeline] == [
        "Preflight",
        "Repository DB backup",
        "Wait for the Sync Service to track it",
        "Sync DB backup",
        "Verify and seal",
    ]
    repository = timeline[1]
    assert repository[2:6] == ["done", "05:31:38", "05:31:39", "1.5 s"]
    assert repository[6] == "repository DB: 2.1 MB, 1,234 rows in 2 tables"


def test_a_backup_report_has_the_set_t0_the_drain_and_every_dump_with_checksums(
    tmp_path: Path,
) -> None:
    report = render_report(backup_until(tmp_path, "seal").finish())
    assert "- **Set folder:** `/backups/b1`" in report
    assert "- **Sealed:** `/backups/b1/manifest.json` (5 files" in report
    assert "- **t0:** 2026-11-26 05:31:35 UTC (the repository dump's snapshot)" in report
    assert "- **Queue at t0:** 7 pending, 18,474 dequeued, 1 consumer\n" in report
    assert "the queue is empty, after 6.1 s" in report
    dumps = table_rows(report, "| Dump |")
    assert dumps[0][:6] == [
        "`repository_db.dump`",
        "`alfresco`",
        "directory",
        "2.1 MB",
        "1,234",
        "2",
    ]
    assert dumps[1][1] == "`syncservice`"
    checksums = table_rows(report, "| File |")
    assert len(checksums) == 5  # 2 files of the repository dump, 3 of the Sync dump
    assert checksums[4] == ["`sync_db.dump/2.dat.gz`", "1,002", f"`02{SHA[2:]}`"]


def test_a_backup_that_failed_midway_renders_what_was_done_and_the_error_with_its_hint(
    tmp_path: Path,
) -> None:
    run = backup_until(tmp_path, "repository_db")
    run.fail(
        "wait_drain",
        "Wait for the Sync Service to track it",
        SyncWizardError("no consumer on the queue for 1800 s", hint="start the Sync Service"),
    )
    report = render_report(run.load())
    assert report.startswith(
        "# Backup run `backup-20261126T053132Z`: stopped at step Wait for the Sync Service to "
        "track it (failed)"
    )
    states = [row[2] for row in table_rows(report, "| # | Step |")]
    assert states == ["done", "done", "**FAILED**", "not run", "not run"]
    assert "`repository_db.dump`" in report and "`sync_db.dump`" not in report
    assert "- **Sealed:** not sealed" in report
    assert "## Errors" in report
    assert "failed at 05:31:42: no consumer on the queue for 1800 s" in report
    assert "  - what to do: start the Sync Service" in report


def test_an_error_later_resolved_on_resume_says_so(tmp_path: Path) -> None:
    run = backup_until(tmp_path, "preflight")
    run.fail("repository_db", "Repository DB backup", SyncWizardError("disk full", hint="free"))
    run.emit(EventKind.RUN_RESUMED, message="resuming")
    run.step("repository_db", "Repository DB backup", {"summary": "dumped"})
    report = render_report(run.load())
    assert "disk full (the step was done later, on resume)" in report
    assert table_rows(report, "| # | Step |")[1][2] == "done"
    facts = dict(row[:2] for row in table_rows(report, "| Fact |"))
    assert facts["Resumed"] == "2026-11-26 05:31:42 UTC"


def test_a_killed_run_is_told_as_interrupted_at_the_step_it_was_in(tmp_path: Path) -> None:
    run = backup_until(tmp_path, "preflight")
    run.emit(EventKind.STATE, "repository_db", state=StepState.RUNNING, message="Repo: started")
    report = render_report(run.load())  # the journal's lock is released: nobody drives it
    assert "stopped at step Repo (interrupted: the process ended mid-run)" in report
    row = table_rows(report, "| # | Step |")[1]
    assert row[2] == "interrupted" and row[6] == "the process ended during this step"


def test_a_run_still_driven_by_a_process_is_running(tmp_path: Path) -> None:
    run = backup_until(tmp_path, "preflight")
    record = load_run(run.run_dir)  # the writer still holds the run's lock
    try:
        assert "`: running (at step Repository DB backup)" in render_report(record)
    finally:
        run.journal.close()


def test_an_abandoned_run_says_why(tmp_path: Path) -> None:
    run = backup_until(tmp_path, "preflight")
    run.emit(EventKind.RUN_ABANDONED, message="a fresh run was started")
    report = render_report(run.load())
    assert "`: abandoned (a fresh run was started)" in report
    assert "| Abandoned | 2026-11-26 05:31:38 UTC |" in report


# --- restore runs ------------------------------------------------------------------------


def test_a_restore_report_names_the_chosen_set_and_the_preflight_warnings(tmp_path: Path) -> None:
    report = render_report(restore_run(tmp_path).finish())
    assert report.startswith("# Restore run `restore-20261126T061500Z`: finished\n")
    assert "- **Set folder:** `/backups/backup-20261120T010000Z`" in report
    assert "- **Backup run:** `backup-20261120T010000Z`" in report
    assert "- **Created:** 2026-11-20 01:02:03 UTC" in report
    assert "- **Checksums verified:** 8 files, 3.1 MB" in report
    assert "(**differs** from the set's `11111111-2222-3333-4444-555555555555`)" in report
    assert "  - the set's sync id differs from the one the health check reports" in report
    databases = table_rows(report, "| Role |")
    assert databases == [["repository_db", "`alfresco`", "", "3", "unknown", "", "side by side"]]


def test_a_restore_report_shows_what_was_stopped_and_every_event_archived(tmp_path: Path) -> None:
    report = render_report(restore_run(tmp_path).finish())
    stopped = table_rows(report, "| What | Command |")
    assert stopped == [
        ["Sync Service", "`systemctl stop sync`", "0"],
        ["repository", "`systemctl stop alfresco`", "0"],
    ]
    assert "Consumers on the queue afterwards: 0." in report
    assert "## Events still arriving before the clear\n\n- nothing in 3.0 s" in report
    assert (
        "- **What:** cleared into the archive; the queue and its subscription stay\n"
        "- **Archive:** `/state/runs/restore-1/events.jsonl`\n"
        "- **Events archived:** 4,321\n"
        "- **Events removed from the queue:** 4,321\n"
        "- **Given up (lost, not archived):** 0\n"
        "- **Still pending:** 0\n"
        "- **Pending when the clear began:** 4,300\n"
        "- **Arrived during the clear:** 21\n"
        "- **Removed by the broker's own count:** 4,321, the same\n"
        "- **Complete:** yes: every event removed from the queue is in the archive"
    ) in report
    assert "## Repository started\n\n- the repository answers at http://acs/ready" in report


def test_a_run_that_gave_events_up_names_the_number_lost_and_is_not_complete(
    tmp_path: Path,
) -> None:
    report = render_report(restore_run(tmp_path, action="give_up").finish())
    assert f"- **What:** given up: the queue `{QUEUE}` purged without an archive" in report
    assert "- **Events archived:** 0" in report
    assert "- **Given up (lost, not archived):** 4,321" in report
    assert "- **Complete:** no: 4,321 events were given up, not archived (lost)" in report
    assert "Complete:** yes" not in report


def test_events_left_pending_by_an_ended_clear_are_said(tmp_path: Path) -> None:
    run = restore_run(tmp_path, last="stop_services")
    run.step(
        "check_quiet",
        "Check that nothing still arrives",
        {"quiet": False, "producing": True, "rate": 2.5},
    )
    run.step("clear_events", "Clear the undelivered events", cleared("clear", still_pending=12))
    report = render_report(run.load())
    assert "- yes, 2.5 a second: the admin went on knowingly" in report
    assert "- **Still pending:** 12 (arrived after the clear was ended" in report
    assert "- **Complete:** yes" in report


def test_counts_that_disagree_are_never_called_complete(tmp_path: Path) -> None:
    run = restore_run(tmp_path, last="check_quiet")
    disagreeing = {**cleared("clear"), "broker_removed": 4400, "counts_agree": False}
    disagreeing["complete"] = False
    run.step("clear_events", "Clear the undelivered events", disagreeing)
    report = render_report(run.load())
    assert "- **Removed by the broker's own count:** 4,400: they DISAGREE" in report
    assert "- **Complete:** no: the counts disagree" in report


def test_deleting_the_topic_and_queue_is_told_as_such(tmp_path: Path) -> None:
    report = render_report(restore_run(tmp_path, action="delete").finish())
    assert (
        "- **What:** cleared into the archive, then the queue "
        f"`{QUEUE}` and the topic `VirtualTopic.alfresco.repo.events.nodes` deleted"
    ) in report


def test_each_database_restore_shows_scratch_rows_time_swap_and_whether_the_old_one_was_dropped(
    tmp_path: Path,
) -> None:
    report = render_report(restore_run(tmp_path).finish())
    repository, sync = table_rows(report, "| DB |")
    assert repository[:7] == [
        "repository DB",
        "`alfresco`",
        "`alfresco__restoring_1`",
        "side by side",
        "2",
        "39,356",
        "12 s",
    ]
    assert repository[7] == "`alfresco__before_restore_1`; 2 connections ended"
    assert repository[8].startswith("yes, `alfresco__before_restore_1` at 2026-11-26 ")
    assert sync[7] == "`syncservice__before_restore_1`" and sync[8] == "no, kept"


def test_the_recover_start_plain_restart_and_health_at_the_end_are_reported(
    tmp_path: Path,
) -> None:
    report = render_report(restore_run(tmp_path).finish())
    assert "- **Command:** `/opt/sync/syncservice.sh start`" in report
    assert "- **Healthy at:** 2026-11-26 05:33:02 UTC" in report
    assert "- remove the recover option from JAVA_OPTS in setenv.sh" in report
    assert "## Plain restart (without recover)" in report
    assert "Every check healthy (after: Start the Sync Service with -Drecover)." in report
    assert table_rows(report, "| Check |") == [
        ["`databaseCheck`", "healthy"],
        ["`eventsHealthCheck`", "healthy"],
    ]
    assert "Report written to `/state/runs/restore-1/report.md`." in report


def test_a_restore_stopped_before_the_swap_renders_without_the_later_sections(
    tmp_path: Path,
) -> None:
    run = restore_run(tmp_path, last="restore_repository")
    run.fail(
        "swap_repository",
        "Put the restored repository DB in place",
        SyncWizardError("3 sessions would not end", hint="stop the repository first"),
    )
    report = render_report(run.load())
    assert "stopped at step Put the restored repository DB in place (failed)" in report
    repository = table_rows(report, "| DB |")[0]
    assert repository[7] == "not yet" and repository[8] == ""
    for later in ("-Drecover\n", "## Plain restart", "## Health at the end", "syncservice"):
        assert later not in report
    assert "None" not in report


def test_a_swap_recorded_before_a_kill_is_reported_even_though_the_step_did_not_finish(
    tmp_path: Path,
) -> None:
    run = restore_run(tmp_path, last="restore_repository")
    run.emit(EventKind.STATE, "swap_repository", state=StepState.RUNNING, message="Swap: started")
    run.record(
        "swap_repository", "swapped", {"database": "alfresco", "aside": "alfresco__before_r"}
    )
    report = render_report(run.load())
    cell = table_rows(report, "| DB |")[0][7]
    assert cell == "`alfresco__before_r` (recorded; the step did not finish)"


def test_a_shared_database_restore_says_the_sync_restore_was_skipped(tmp_path: Path) -> None:
    run = RunWriter(tmp_path, "restore-1", "restore", RESTORE_STEPS)
    outputs = restore_outputs()
    for step in ("verify_set", "preflight", "restore_repository", "swap_repository"):
        run.step(step, *outputs[step])
    run.skipped("restore_sync", "Restore the Sync DB", "one restore covers both databases")
    report = render_report(run.load())
    assert "- Sync DB: skipped (one restore covers both databases)" in report
    assert len(table_rows(report, "| DB |")) == 1


def test_a_chosen_but_not_yet_done_clear_is_reported_as_chosen(tmp_path: Path) -> None:
    run = restore_run(tmp_path, last="check_quiet")
    run.emit(EventKind.STATE, "clear_events", state=StepState.RUNNING, message="Clear: started")
    run.record("clear_events", "choice", {"action": "delete"})
    report = render_report(run.load())
    assert (
        "- Chosen, not done: cleared into the archive, then the queue `?` and the topic `?` deleted"
    ) in report


# --- no secret, ever ---------------------------------------------------------------------


def test_values_of_secret_named_keys_never_appear_even_where_else_they_are_copied(
    tmp_path: Path,
) -> None:
    run = restore_run(tmp_path, last="stop_services")
    run.step(
        "check_quiet",
        "Check that nothing still arrives",
        {
            "archive": "/runs/x/events.jsonl",
            "recover_password": "S3cr3t|pa*ss_w`rd",
            "nested": {"api_token": "tok-98765", "client_secret": "cs-4444"},
            "summary": "archived; (debug) S3cr3t|pa*ss_w`rd tok-98765 cs-4444",
        },
    )
    report = render_report(run.load())
    for secret in ("S3cr3t", "pa*ss", "pa\\*ss", "tok-98765", "cs-4444"):
        assert secret not in report
    assert "archived; (debug) ******** ******** ********" in report


def test_secrets_the_caller_names_are_masked_before_markdown_escaping_can_split_them(
    tmp_path: Path,
) -> None:
    run = restore_run(tmp_path, last="verify_set")
    run.fail("preflight", "Preflight", SyncWizardError("login failed for hunt|er_2* at host"))
    report = render_report(run.load(), secrets=["hunt|er_2*"])
    assert "hunt" not in report and "login failed for ******** at host" in report


def test_recover_options_conninfo_passwords_and_url_passwords_are_masked(tmp_path: Path) -> None:
    run = restore_run(tmp_path, last="report")
    run.journal.close()
    run = RunWriter(tmp_path, "restore-2", "restore", RESTORE_STEPS)
    run.step(
        "start_recover",
        "Start the Sync Service with -Drecover",
        {
            "command": "env JAVA_OPTS=-Drecover=admin:Adm1nPw /opt/sync/start.sh",
            "exit_code": 0,
            "persistent_note": "jolokia at http://admin:BrokerPw9@mq:8161 and password=DbPw77",
        },
    )
    report = render_report(run.load())
    for secret in ("Adm1nPw", "admin:Adm1nPw", "BrokerPw9", "DbPw77"):
        assert secret not in report
    # the password is masked; the user stays readable (the one masking policy, issue 8)
    assert "`env JAVA_OPTS=-Drecover=admin:******** /opt/sync/start.sh`" in report


def test_report_for_masks_secret_environment_values_without_printing_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNCWIZARD_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("PGPASSWORD", "pg-env-secret")
    monkeypatch.setenv("HOME_OF_NOTHING", "not-a-secret-value")
    run = RunWriter(tmp_path / "runs", "backup-1", "backup", BACKUP_STEPS)
    run.fail("preflight", "Preflight", SyncWizardError("auth failed for pg-env-secret"))
    run.journal.close()
    report = report_for("backup-1")
    assert "pg-env-secret" not in report and "auth failed for ********" in report
    assert "not-a-secret-value" not in report and "PGPASSWORD" not in report


# --- Markdown that renders in a ticket ---------------------------------------------------


def test_pipes_and_newlines_in_cells_keep_every_table_row_whole(tmp_path: Path) -> None:
    run = backup_until(tmp_path, "preflight")
    run.step(
        "repository_db",
        "Repository DB backup",
        {"summary": "a | b\nsecond line", "dump": dump("odd|name.dump", "db|x", 1)},
    )
    report = render_report(run.load())
    for line in report.splitlines():
        if line.startswith("| # |"):
            header_cells = len(re.split(r"(?<!\\)\|", line))
        if line.startswith("| 2 |"):
            assert len(re.split(r"(?<!\\)\|", line)) == header_cells
            assert "a \\| b<br>second line" in line
    assert "| `odd\\|name.dump` | `db\\|x` |" in report


def test_paths_and_commands_with_backticks_stay_code(tmp_path: Path) -> None:
    run = restore_run(tmp_path, last="preflight")
    run.step(
        "stop_services",
        "Stop",
        {"stopped": [{"what": "x", "command": "sh -c `which stop`", "exit_code": 1}]},
    )
    report = render_report(run.load())
    assert "| x | `` sh -c `which stop` `` | 1 |" in report


def test_free_text_cannot_inject_markup(tmp_path: Path) -> None:
    run = backup_until(tmp_path, "preflight")
    run.fail("repository_db", "Repo", SyncWizardError("<script>*bold* [link](x)</script>"))
    report = render_report(run.load())
    assert "<script>" not in report
    assert "\\<script\\>\\*bold\\* \\[link\\](x)\\</script\\>" in report


# --- finding and writing reports ---------------------------------------------------------


def test_report_for_finds_a_run_by_id_or_by_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNCWIZARD_STATE_DIR", str(tmp_path / "state"))
    run = backup_until(tmp_path / "state" / "runs", "seal")
    run.finish()
    by_id = report_for("backup-20261126T053132Z")
    assert by_id.startswith("# Backup run `backup-20261126T053132Z`: finished")
    assert report_for(str(run.run_dir)) == by_id
    assert report_for(str(run.run_dir / "journal.jsonl")) == by_id


def test_an_unknown_run_is_named_with_the_newest_five_and_a_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNCWIZARD_STATE_DIR", str(tmp_path))
    for n in range(7):
        writer = RunWriter(tmp_path / "runs", f"backup-2026112{n}", "backup", BACKUP_STEPS)
        writer.at = T + n * 100
        writer.finish()
    with pytest.raises(SyncWizardError) as raised:
        report_for("backup-nope")
    error = raised.value
    assert "backup-nope" in error.message and str(tmp_path / "runs") in error.message
    assert (
        "backup-20261126, backup-20261125, backup-20261124, backup-20261123, backup-20261122;"
        in (error.hint)
    )
    assert "backup-20261121" not in error.hint and "`syncwizard runs`" in error.hint


def test_a_missing_run_folder_given_by_path_is_named(tmp_path: Path) -> None:
    with pytest.raises(SyncWizardError) as raised:
        report_for(str(tmp_path / "gone"))
    assert str(tmp_path / "gone") in raised.value.message
    assert "there are no runs yet" in raised.value.hint or "newest runs" in raised.value.hint


def test_write_report_writes_0600_atomically_into_the_run_folder_by_default(
    tmp_path: Path,
) -> None:
    record = backup_until(tmp_path, "seal").finish()
    stale = record.run_dir / "report.md.partial"
    stale.write_text("left by a kill")
    stale.chmod(0o644)
    path = write_report(record)
    assert path == record.run_dir / "report.md"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == render_report(record)
    assert not stale.exists()
    elsewhere = write_report(record, tmp_path / "ticket.md")
    assert elsewhere.read_text() == path.read_text()
    assert stat.S_IMODE(elsewhere.stat().st_mode) == 0o600


def test_write_report_into_a_missing_folder_fails_clearly(tmp_path: Path) -> None:
    record = backup_until(tmp_path, "preflight").load()
    with pytest.raises(SyncWizardError) as raised:
        write_report(record, tmp_path / "nowhere" / "report.md")
    assert "cannot write the report" in raised.value.message
    assert str(tmp_path / "nowhere" / "report.md") in raised.value.message


def test_the_plain_restart_and_the_report_path_are_told_even_without_health_checks(
    tmp_path: Path,
) -> None:
    run = RunWriter(tmp_path, "restore-3", "restore", RESTORE_STEPS)
    outputs = restore_outputs()
    recover = dict(outputs["start_recover"][1])
    recover.pop("health")
    run.step("start_recover", outputs["start_recover"][0], recover)
    run.step("plain_restart", *outputs["plain_restart"])
    run.step("report", *outputs["report"])
    report = render_report(run.finish())
    assert "## Health at the end" not in report
    assert "Report written to `/state/runs/restore-1/report.md`." in report

    run = RunWriter(tmp_path, "restore-4", "restore", RESTORE_STEPS)
    run.step("start_recover", *outputs["start_recover"])
    run.step("plain_restart", *outputs["plain_restart"])
    report = render_report(run.finish())
    assert "Healthy again after the plain restart, at 2026-11-26 05:33:32 UTC." in report


def test_names_of_password_files_and_variables_are_not_mistaken_for_secrets(
    tmp_path: Path,
) -> None:
    run = backup_until(tmp_path, "seal")
    run.fail(
        "preflight",
        "Preflight",
        SyncWizardError("cannot read /etc/sw/pgpass as SW_DB_PASSWORD pw-1234", hint="fix it"),
    )
    record = run.load()
    record.header.update(
        {"passfile": "/etc/sw/pgpass", "password_env": "SW_DB_PASSWORD", "db_pass": "pw-1234"}
    )
    report = render_report(record)
    assert "cannot read /etc/sw/pgpass as SW_DB_PASSWORD ********" in report


DRIFT = "the Sync DB lacks 0 node(s) of the repository DB and"


def test_what_the_recover_did_is_reported_with_the_logs_own_words(tmp_path: Path) -> None:
    run = restore_run(tmp_path, last="start_repository")
    run.step(
        "start_recover",
        "Start the Sync Service with -Drecover",
        {
            "command": "/opt/sync/syncservice.sh start",
            "exit_code": 0,
            "healthy_at": T + 90,
            "consumers": 1,
            "drift_before": f"{DRIFT} has 17 it should not",
            "drift_after": f"{DRIFT} has 0 it should not",
            "log": "/var/log/alfresco/sync.log",
            "log_lines": ["INFO recover done: 0 nodes added, 17 removed in 0.40 s"],
        },
    )
    run.emit(
        EventKind.RECORD,
        "start_recover",
        message="unhealthy_seen",
        data={
            "checks": {
                "databaseConnection": {
                    "at": T + 30,
                    "message": "cannot reach the Sync DB:\n jdbc:postgresql://db/sync?password=pw9",
                }
            }
        },
    )
    report = render_report(run.load())
    assert "- **Failing on the way:**" in report
    assert (
        "  - `databaseConnection` from 2026-11-26 05:32:02 UTC: cannot reach the Sync DB: "
        "jdbc:postgresql://db/sync?password=********"
    ) in report
    assert "- **Drift before the start:** the Sync DB lacks 0 node(s)" in report
    assert "has 17 it should not" in report and "has 0 it should not" in report
    assert "What the Sync Service's log (`/var/log/alfresco/sync.log`) says of it:" in report
    assert "INFO recover done: 0 nodes added, 17 removed in 0.40 s" in report


def test_orphaned_queues_cleared_and_left_are_reported_with_their_archives(
    tmp_path: Path,
) -> None:
    run = restore_run(tmp_path, last="clear_events")
    gone, kept = (f"Consumer.{guid}.VirtualTopic.alfresco.repo.events.nodes" for guid in "ab")
    archive = f"/state/runs/restore-1/orphan-{gone}.jsonl"
    run.step(
        "clear_orphans",
        "Clear orphaned queues (optional)",
        {
            "orphans": [{"queue": gone, "pending": 120, "grew": 0, "consumers": 0}],
            "cleared": [
                {"queue": gone, "archive": archive, "removed": 120, "archived": 120,
                 "still_pending": 0}
            ],
            "left": [{"queue": kept, "pending": 75, "why": "left on the broker: you declined"}],
            "not_offered": ["queue Consumer.c.topic (1 consumer, 3 pending): consumed"],
            "summary": "one cleared, one left",
        },
    )  # fmt: skip
    report = render_report(run.load())
    assert "## Orphaned consumer queues" in report
    rows = table_rows(report, "| Queue | Done")
    assert rows[0][:3] == [f"`{gone}`", "cleared", "120"] and archive in rows[0][3]
    assert rows[1][0] == f"`{kept}`" and "declined" in rows[1][1] and rows[1][5] == "75"
    assert "Not offered: queue Consumer.c.topic" in report


def test_every_confirmation_is_listed_with_its_answer_and_how_long_it_was_read(
    tmp_path: Path,
) -> None:
    run = restore_run(tmp_path, last="check_quiet")
    facts = {"facts": [["pending", "500"]], "destructive": True}
    run.emit(
        EventKind.GATE,
        "clear_events",
        message="Remove the undelivered events?",
        data={**facts, "optional": False, "confirmed": False, "seconds": 2.0},
    )
    run.emit(
        EventKind.GATE,
        "clear_events",
        message="Remove the undelivered events?",
        data={**facts, "optional": False, "confirmed": True, "seconds": 7.46},
    )
    report = render_report(run.load())
    rows = table_rows(report, "| At |")
    assert [row[2:] for row in rows] == [
        ["Remove the undelivered events?", "refused"],
        ["Remove the undelivered events?", "confirmed after 7.5 s"],
    ]
    assert report.index("## Timeline") < report.index("## Confirmations")
