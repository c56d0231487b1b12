"""The lab-fault scenarios' graders, the flavour a scenario plays on, the profile it changes
and the small backup volume, without a lab (issue 12)."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest

from syncwizard.errors import SyncWizardError
from syncwizard.lab import volume
from syncwizard.lab.layout import CLASSIC, CURRENT, LabLayout, LabSettings, write_settings
from syncwizard.lab.postgres import Drift
from syncwizard.runbook.backup.seal import manifest_error
from syncwizard.runbook.journal import Journal, RunRecord, load_run, runs_dir
from syncwizard.runbook.model import EventKind, StepEvent, StepState
from syncwizard.runbook.restore.database_steps import SHARED_NOTE
from syncwizard.train import registry, session
from syncwizard.train.model import LabFacts, Point
from syncwizard.train.scenarios.backup_volume_full import BACKUP_VOLUME_FULL
from syncwizard.train.scenarios.cluster_guid_mismatch import CLUSTER_GUID_MISMATCH, ODD_GUID
from syncwizard.train.scenarios.corrupted_set import CORRUPTED_SET, corrupt
from syncwizard.train.scenarios.purge_refused import PURGE_REFUSED

IN_SYNC = LabFacts(Drift(missing=0, extra=0))
DONE, FAILED, SKIPPED = StepState.DONE, StepState.FAILED, StepState.SKIPPED
GUID = "0f4c1e7a-3b2d-4e5f-8a9b-1c2d3e4f5a6b"


Step = tuple[str, StepState, dict[str, object]]
_RUNS = 0  # run ids made so far: each run its own folder


def played(
    runbook: str, steps: list[Step], *, header: dict[str, object] | None = None, end: str = ""
) -> RunRecord:
    """A run as the engine journals it: each step running, then its state (a FAILED one
    with a SyncWizardError whose message is the step's data "error")."""
    global _RUNS
    _RUNS += 1
    run_id = f"{runbook}-20261206T1000{_RUNS:02d}Z"
    journal = Journal.create(runs_dir() / run_id)
    try:
        data = {"runbook": runbook, "steps": [s[0] for s in steps], **(header or {})}
        journal.append(StepEvent(run_id=run_id, kind=EventKind.RUN_STARTED, data=data))
        for step, state, result in steps:
            journal.append(StepEvent(run_id, EventKind.STATE, step, StepState.RUNNING))
            if state == FAILED:
                error = SyncWizardError(
                    str(result["error"]), system=str(result.get("system", "lab"))
                )
                journal.append(StepEvent(run_id, EventKind.STATE, step, state, error=error))
            else:
                journal.append(StepEvent(run_id, EventKind.STATE, step, state, data=result))
        if end == "finished":
            journal.append(StepEvent(run_id=run_id, kind=EventKind.RUN_FINISHED))
        elif end:
            stopped = StepEvent(run_id=run_id, kind=EventKind.RUN_STOPPED, data={"outcome": end})
            journal.append(stopped)
    finally:
        journal.close()
    return load_run(runs_dir() / run_id)


def scores(points: list[Point]) -> dict[str, int]:
    return {p.id: p.earned for p in points}


def by_id(points: list[Point], point_id: str) -> str:
    return next(p.debrief for p in points if p.id == point_id)


# --- purge refused ------------------------------------------------------------------------

WINDOW_OPENED = {"opening": True, "pending_before": 200, "opened": True}


def restore_steps_with_window(closed: bool) -> list[Step]:
    return [
        ("verify_set", DONE, {}),
        ("clear_events", DONE, {"archived": 200, "given_up": 0}),
        ("clear_orphans", DONE, {}),
        ("swap_repository", DONE, {}),
        ("swap_sync", SKIPPED, {"reason": SHARED_NOTE}),
    ] if closed else [
        ("verify_set", DONE, {}),
        ("clear_events", DONE, {"archived": 200, "given_up": 0}),
    ]  # fmt: skip


def with_window_records(record: RunRecord, closed: bool) -> RunRecord:
    record.records["clear_events"] = {"stomp_window": dict(WINDOW_OPENED)}
    if closed:
        record.records["clear_orphans"] = {"stomp_window": {"closed": True}}
    return record


def test_purge_refused_grades_the_window_and_the_shared_database_restore() -> None:
    good = with_window_records(played("restore", restore_steps_with_window(True)), True)
    good.gates = [{"title": "Clear the sync queue?", "confirmed": True, "seconds": 9.0}]
    points = PURGE_REFUSED.grade(good, IN_SYNC)
    assert scores(points) == {
        "events_lost": 4,
        "window_closed": 3,
        "databases": 2,  # the shared database's one swap restores both
        "drift": 3,
        "gates_read": 2,
        "time": 1,
    }
    left_open = with_window_records(played("restore", restore_steps_with_window(False)), False)
    points = PURGE_REFUSED.grade(left_open, LabFacts(Drift(missing=2, extra=0)))
    assert scores(points)["window_closed"] == 0 and scores(points)["databases"] == 0
    assert "left open" in by_id(points, "window_closed")
    assert "broker.stomp_close" in by_id(points, "window_closed")
    given_up = played("restore", [("clear_events", DONE, {"archived": 0, "given_up": 200})])
    points = PURGE_REFUSED.grade(given_up, IN_SYNC)
    assert scores(points)["events_lost"] == 0 and scores(points)["window_closed"] == 0
    assert "No STOMP window was opened" in by_id(points, "window_closed")
    assert all(p.procedure.startswith("Restore") for p in points[:3])
    assert PURGE_REFUSED.flavour == CURRENT


# --- the backup volume fills ----------------------------------------------------------------

FULL = "the backup folder /b/backup-1 is full: the Sync database dump could not be written"


def backup_run(tmp_path: Path, *, resumed: bool, sealed: bool) -> RunRecord:
    set_dir = tmp_path / "backups" / "backup-1"
    (set_dir / "repository_db.dump").mkdir(parents=True)
    if sealed:
        (set_dir / "manifest.json").write_text("{}", encoding="utf-8")
    steps: list[Step] = [
        ("preflight", DONE, {}),
        ("repository_db", DONE, {}),
        ("wait_drain", DONE, {"mode": "drain"}),
        ("sync_db", FAILED, {"error": FULL, "system": "backup_dir"}),
    ]
    if resumed:
        steps += [("sync_db", DONE, {}), ("seal", DONE, {})]
    return played(
        "backup",
        steps,
        header={"backup_set": str(set_dir)},
        end="finished" if resumed else "failed",
    )


def test_backup_volume_full_grades_the_resume_and_the_sealed_set(tmp_path: Path) -> None:
    good = backup_run(tmp_path / "good", resumed=True, sealed=True)
    points = BACKUP_VOLUME_FULL.grade(good, IN_SYNC)
    assert scores(points) == {"finished": 4, "sealed": 3, "resumed": 2, "time": 1}
    assert FULL in by_id(points, "resumed")  # the journal kept the error the retry cleared
    bad = backup_run(tmp_path / "bad", resumed=False, sealed=False)
    points = BACKUP_VOLUME_FULL.grade(bad, IN_SYNC)
    assert scores(points) == {"finished": 0, "sealed": 0, "resumed": 0, "time": 1}
    assert "has no manifest" in by_id(points, "sealed")
    assert "repository_db.dump" in by_id(points, "sealed")
    assert "free it, and run the step again" in by_id(points, "resumed")


def test_a_full_disk_at_the_seal_is_said_as_such_and_its_partial_removed(tmp_path: Path) -> None:
    partial = tmp_path / "manifest.json.partial"
    partial.write_text("{", encoding="utf-8")
    error = manifest_error(tmp_path, partial, OSError(errno.ENOSPC, "No space left on device"))
    assert f"the backup folder {tmp_path.parent} is full" in error.message
    assert "resumes at the seal" in error.hint and error.system == "backup_dir"
    assert not partial.exists()
    other = manifest_error(tmp_path, partial, PermissionError(errno.EACCES, "Permission denied"))
    assert "could not be written: Permission denied" in other.message


def test_the_backup_volume_needs_root_and_a_folder_under_the_lab(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lab = LabLayout(tmp_path / "lab")
    lab.root.mkdir()
    with pytest.raises(SyncWizardError) as outside:
        volume.mount_small(lab, tmp_path / "elsewhere", 16)
    assert "is not under the lab" in outside.value.message
    assert str(lab.root / "backups") in outside.value.hint
    monkeypatch.setattr("syncwizard.lab.volume.os.geteuid", lambda: 1000)
    with pytest.raises(SyncWizardError) as not_root:
        volume.mount_small(lab, lab.root / "backups", 16)
    assert "needs root" in not_root.value.message and "uid 1000" in not_root.value.message
    assert "as root" in not_root.value.hint
    assert volume.unmount_all(lab) == []  # nothing recorded, nothing to do


# --- two cluster nodes with different sync GUIDs --------------------------------------------

MISMATCH = (
    "The Sync Service nodes report different sync GUIDs:\n"
    f"  https://127.0.0.1:9090/alfresco/healthcheck: {GUID}\n"
    f"  https://127.0.0.1:9091/alfresco/healthcheck: {ODD_GUID}"
)


def test_cluster_guid_mismatch_reads_the_refusal_from_the_journal() -> None:
    good = played(
        "backup",
        [
            ("preflight", FAILED, {"error": MISMATCH, "system": "health"}),
            ("preflight", DONE, {}),
            ("repository_db", DONE, {}),
            ("wait_drain", DONE, {"mode": "drain", "clause": "dequeued == pending"}),
            ("sync_db", DONE, {}),
            ("seal", DONE, {}),
        ],
        end="finished",
    )
    points = CLUSTER_GUID_MISMATCH.grade(good, IN_SYNC)
    assert scores(points) == {"guid_mismatch": 3, "finished": 4, "drain": 2, "time": 1}
    text = by_id(points, "guid_mismatch")
    assert GUID in text and ODD_GUID in text and "health.other_nodes" in text
    never_met = played("backup", [("preflight", DONE, {})], end="failed")
    assert scores(CLUSTER_GUID_MISMATCH.grade(never_met, IN_SYNC))["guid_mismatch"] == 0


def test_the_cluster_scenario_writes_its_odd_node_into_the_lab_profile(tmp_path: Path) -> None:
    lab = LabLayout(tmp_path / "lab")
    write_settings(lab, LabSettings(ports=lab.ports, topic="VirtualTopic.x", flavour=CLASSIC))
    sections = session.lab_profile_sections(CLUSTER_GUID_MISMATCH, lab)
    assert sections["health"]["other_nodes"] == [
        f"https://127.0.0.1:{lab.ports.odd_node}/alfresco/healthcheck"
    ]
    assert (
        sections["health"]["url"] == f"https://127.0.0.1:{lab.ports.standin}/alfresco/healthcheck"
    )
    assert "other_nodes" not in session.lab_profile_sections(PURGE_REFUSED, lab)["health"]


# --- a corrupted set ------------------------------------------------------------------------

DAMAGED = "the backup set does not verify: repository_db.dump/3362.dat.gz: sha256 differs"


def test_corrupted_set_grades_the_verify_and_what_ran_without_it() -> None:
    good = played(
        "restore",
        [("verify_set", DONE, {}), ("swap_repository", DONE, {}), ("swap_sync", DONE, {})],
        header={"backup_set": "/b/backup-night-before"},
        end="finished",
    )
    assert scores(CORRUPTED_SET.grade(good, IN_SYNC)) == {
        "set_verified": 3,
        "nothing_destroyed": 3,
        "databases": 3,
        "drift": 2,
        "time": 1,
    }
    refused = played(
        "restore",
        [("verify_set", FAILED, {"error": DAMAGED, "system": "backup_set"})],
        header={"backup_set": "/b/backup-last-night"},
        end="failed",
    )
    points = CORRUPTED_SET.grade(refused, IN_SYNC)
    assert scores(points) == {
        "set_verified": 0,
        "nothing_destroyed": 3,
        "databases": 0,
        "drift": 2,
        "time": 1,
    }
    assert DAMAGED in by_id(points, "set_verified") and "backup-last-night" in by_id(
        points, "set_verified"
    )
    forced = played(
        "restore",
        [("verify_set", FAILED, {"error": DAMAGED}), ("stop_services", DONE, {})],
        end="failed",
    )
    points = CORRUPTED_SET.grade(forced, IN_SYNC)
    assert scores(points)["nothing_destroyed"] == 0
    assert "stop_services" in by_id(points, "nothing_destroyed")


def test_corrupt_flips_bytes_of_the_largest_file_of_the_set(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "big").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "d" / "small").write_bytes(b"abc")
    files = [{"path": "d/big", "size": 1024}, {"path": "d/small", "size": 3}]
    (tmp_path / "manifest.json").write_text(json.dumps({"files": files}), encoding="utf-8")
    before = (tmp_path / "d" / "big").read_bytes()
    assert corrupt(tmp_path) == tmp_path / "d" / "big"
    after = (tmp_path / "d" / "big").read_bytes()
    changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    assert len(after) == len(before) and changed == list(range(480, 544))
    assert (tmp_path / "d" / "small").read_bytes() == b"abc"


# --- the flavour, the registry --------------------------------------------------------------


def test_a_scenario_on_a_lab_of_another_flavour_names_the_command(tmp_path: Path) -> None:
    lab = LabLayout(tmp_path / "lab")
    write_settings(lab, LabSettings(ports=lab.ports, topic="VirtualTopic.x", flavour=CLASSIC))
    with pytest.raises(SyncWizardError) as caught:
        session.refuse_other_flavour(PURGE_REFUSED, lab)
    assert "'purge-refused' plays on the 'current' lab flavour" in caught.value.message
    assert "syncwizard lab up --like current" in caught.value.hint
    assert "syncwizard lab down" in caught.value.hint
    session.refuse_other_flavour(CORRUPTED_SET, lab)  # classic on classic: no refusal


def test_the_four_lab_fault_scenarios_are_listed_with_tickets() -> None:
    ids = [s.id for s in registry.SCENARIOS]
    assert len(ids) == len(set(ids))
    for scenario in (PURGE_REFUSED, BACKUP_VOLUME_FULL, CLUSTER_GUID_MISMATCH, CORRUPTED_SET):
        assert registry.scenario(scenario.id) is scenario
        assert len(scenario.ticket) > 150 and 1 <= scenario.difficulty <= 3
        assert scenario.runbook in ("backup", "restore")


def test_train_run_refuses_a_scenario_of_another_flavour_before_touching_the_lab(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from syncwizard.cli import main
    from syncwizard.lab import stack

    lab = stack.default_layout()
    write_settings(lab, LabSettings(ports=lab.ports, topic="VirtualTopic.x", flavour=CLASSIC))
    assert main(["train", "run", "purge-refused"]) == 2
    err = capsys.readouterr().err
    assert "plays on the 'current' lab flavour" in err and "lab up --like current" in err
    assert not lab.pids_file.exists()  # nothing was reset or started


def test_the_reset_abandons_the_lab_profiles_unfinished_runs_only() -> None:
    """An open restore would refuse the scenario's own backups (corrupted-set takes two)."""
    from syncwizard.runbook.journal import list_runs

    refused = played(
        "restore",
        [("verify_set", FAILED, {"error": DAMAGED})],
        header={"profile": "lab"},
        end="failed",
    )
    other = played("backup", [("preflight", FAILED, {"error": "x"})], header={"profile": "prod"})
    done = session.abandon_earlier_runs("lab")
    assert done == [f"marked the unfinished restore run {refused.run_id} abandoned"]
    status = {r.run_id: r.status() for r in list_runs()}
    assert status[refused.run_id] == "abandoned" and status[other.run_id] != "abandoned"
    assert session.abandon_earlier_runs("lab") == []
