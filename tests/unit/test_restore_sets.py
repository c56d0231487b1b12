"""Which backup sets a restore may start from, and the choices it needs on screen."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from syncwizard.errors import SyncWizardError
from syncwizard.runbook.model import RefusedError
from syncwizard.runbook.restore.choices import RestoreChoices
from syncwizard.runbook.restore.service_steps import persistent_note
from syncwizard.runbook.restore.sets import _list_sets_blocking, order_problem, resolve_set


def manifest(repo_at: str, sync_at: str, **extra: object) -> dict[str, object]:
    return {
        "format": "syncwizard-backup-set",
        "version": 1,
        "tool": {"name": "syncwizard", "version": "0.1.0"},
        "run_id": "backup-x",
        "created_at": sync_at,
        "sync_id": "8f7b3d2e-30be-4c0a-9c61-6b1f2a9d0e11",
        "total_bytes": 1234,
        "t0": {"at": repo_at},
        "dumps": [
            {"path": "repository_db.dump", "roles": ["repository_db"], "snapshot_at_iso": repo_at},
            {"path": "sync_db.dump", "roles": ["sync_db"], "snapshot_at_iso": sync_at},
        ],
        **extra,
    }


def write_set(root: Path, name: str, data: dict[str, object] | None) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    if data is not None:
        (folder / "manifest.json").write_text(json.dumps(data))
    return folder


def test_a_sync_dump_older_than_the_repository_dump_breaks_the_procedure() -> None:
    assert order_problem(manifest("2026-11-26T01:00:00.000Z", "2026-11-26T01:05:00.000Z")) == ""
    problem = order_problem(manifest("2026-11-26T01:05:00.000Z", "2026-11-26T01:00:00.000Z"))
    assert "was not taken after the repository backup" in problem


def test_a_shared_database_set_of_two_dumps_keeps_the_order_too() -> None:
    kept = manifest("2026-11-26T01:00:00.000Z", "2026-11-26T01:05:00.000Z", shared_database=True)
    assert order_problem(kept) == ""
    broken = manifest("2026-11-26T01:05:00.000Z", "2026-11-26T01:00:00.000Z", shared_database=True)
    assert "was not taken after the repository backup" in order_problem(broken)


def test_an_earlier_shared_database_set_has_one_dump_and_no_order_to_keep() -> None:
    data = manifest("2026-11-26T01:00:00.000Z", "2026-11-26T01:05:00.000Z", shared_database=True)
    data["dumps"] = [{"path": "repository_and_sync_db.dump", "roles": ["repository_db", "sync_db"]}]
    assert order_problem(data) == ""


def test_sets_are_listed_newest_first_and_unusable_ones_say_why(tmp_path: Path) -> None:
    write_set(tmp_path, "old", manifest("2026-11-20T01:00:00.000Z", "2026-11-20T01:05:00.000Z"))
    write_set(tmp_path, "new", manifest("2026-11-26T01:00:00.000Z", "2026-11-26T01:05:00.000Z"))
    write_set(tmp_path, "unsealed", None)
    (write_set(tmp_path, "damaged", None) / "manifest.json").write_text("{not json")
    listings = _list_sets_blocking(tmp_path)
    assert [s.path.name for s in listings if s.choosable] == ["new", "old"]
    problems = {s.path.name: s.problem for s in listings if not s.choosable}
    assert "not a sealed backup set" in problems["unsealed"]
    assert "cannot be read as JSON" in problems["damaged"]
    assert resolve_set(tmp_path, None).name == "new"
    assert resolve_set(tmp_path, "old").name == "old"
    with pytest.raises(SyncWizardError, match="no backup set 'nope'"):
        resolve_set(tmp_path, "nope")


def test_sets_with_a_manifest_of_the_wrong_shape_are_listed_with_why_not_a_traceback(
    tmp_path: Path,
) -> None:
    good = manifest("2026-11-26T01:00:00.000Z", "2026-11-26T01:05:00.000Z")
    write_set(tmp_path, "good", good)
    write_set(tmp_path, "files", {**good, "files": {"sync_db.dump": 12}})
    write_set(tmp_path, "dumps", {**good, "dumps": ["repository_db.dump", "sync_db.dump"]})
    write_set(tmp_path, "version", {**good, "version": "1"})
    listings = _list_sets_blocking(tmp_path)
    assert [s.path.name for s in listings if s.choosable] == ["good"]
    problems = {s.path.name: s.problem for s in listings if not s.choosable}
    assert "`files` must be a list" in problems["files"]
    assert "`dumps[0]` must be an object, found 'repository_db.dump'" in problems["dumps"]
    assert "the manifest version must be an integer" in problems["version"]
    assert resolve_set(tmp_path, None).name == "good"


def test_an_empty_backup_folder_names_the_way_to_get_a_set(tmp_path: Path) -> None:
    with pytest.raises(SyncWizardError) as caught:
        resolve_set(tmp_path, None)
    assert "syncwizard backup" in caught.value.hint


def test_a_missing_choice_refuses_the_step_and_the_password_is_never_shown() -> None:
    choices = RestoreChoices(recover_user="admin", recover_password="s3cret-Pa55")
    assert "s3cret" not in repr(choices)
    assert choices.require_credentials() == ("admin", "s3cret-Pa55")
    with pytest.raises(RefusedError, match="clear them into the archive"):
        choices.require_events_action()
    with pytest.raises(RefusedError, match="without -Drecover"):
        choices.require_plain_restart()
    with pytest.raises(RefusedError, match="not given"):
        RestoreChoices(recover_user="admin").require_credentials()


def test_a_start_command_that_stores_options_is_named_as_persistent() -> None:
    persists, note = persistent_note(
        "systemctl set-environment JAVA_OPTS=$SYNCWIZARD_RECOVER_OPTION && systemctl start sync",
        "systemctl start sync",
    )
    assert persists and "remove -Drecover" in note and "is required" in note
    for stored in (
        "kubectl -n acs set env deploy/acs-alfresco-sync-service -e -",
        "kubectl --namespace=acs patch configmap acs-sync -p @-",
    ):
        assert persistent_note(stored, "kubectl -n acs scale deploy/x --replicas=1")[0], stored
    persists, note = persistent_note("/opt/sync/ctl start", "/opt/sync/ctl start")
    assert not persists and "not in a file of syncwizard's" in note
    # The running process keeps it in its arguments until restarted without it.
    assert "holds it in its arguments" in note and "until it is" in note
