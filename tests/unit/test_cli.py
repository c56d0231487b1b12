"""The headless commands: clear messages and exit codes, never a traceback."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from syncwizard.cli import build_parser, main, parse_args
from syncwizard.runbook import backupset


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syncwizard", *args], capture_output=True, text=True, timeout=60
    )


def test_config_init_then_show_masks_and_resolves(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.toml"
    assert main(["config", "init", "--config", str(config)]) == 0
    capsys.readouterr()
    assert main(["config", "show", "--json", "--config", str(config)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["profile"] == "prod"
    assert data["broker"]["password"] == "(not set)"
    assert data["health"]["url"].startswith("https://")


def test_invalid_config_exits_2_with_a_message_and_no_traceback(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[profiles.prod.health\nurl = 1\n")
    result = run_cli("status", "--config", str(config))
    assert result.returncode == 2
    assert "not valid TOML" in result.stderr and "line 1" in result.stderr
    assert "hint:" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_config_says_how_to_create_one(tmp_path: Path) -> None:
    result = run_cli("status", "--config", str(tmp_path / "none.toml"))
    assert result.returncode == 2
    assert "config init" in result.stderr and "Traceback" not in result.stderr


def test_options_are_accepted_before_or_after_the_subcommand(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    assert main(["--config", str(config), "config", "init"]) == 0
    assert main(["config", "show", "--profile", "prod", "--config", str(config)]) == 0
    assert main(["--profile", "nope", "config", "show", "--config", str(config)]) == 2


def test_a_bad_duration_is_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["lab", "generate", "--for", "soon"])
    assert caught.value.code == 2
    assert "not a duration" in capsys.readouterr().err


def test_no_arguments_read_as_the_parser_reads_them() -> None:
    # `syncwizard` alone (the TUI) is not handed to the parser, to paint sooner
    assert parse_args([]) == build_parser().parse_args([])
    assert parse_args(["--profile", "lab"]) == build_parser().parse_args(["--profile", "lab"])


# --- backup sets whose manifest is damaged (issue 8) --------------------------------------


def sealed_set(root: Path) -> Path:
    """A set whose manifest lists one file and no dump (enough for these checks)."""
    set_dir = root / "backup-1"
    set_dir.mkdir(parents=True)
    (set_dir / "notes.dat").write_bytes(b"rows" * 100)
    files = [entry.as_json() for entry in backupset.hash_files(set_dir, "notes.dat")]
    manifest = {
        "format": backupset.MANIFEST_FORMAT,
        "version": backupset.MANIFEST_VERSION,
        "tool": {"name": "syncwizard", "version": "0"},
        "run_id": "backup-1",
        "sync_id": "guid",
        "steps": {},
        "created_at": "2026-11-26T04:40:15Z",
        "dumps": [],
        "files": files,
    }
    backupset.write_manifest(set_dir, manifest)
    return set_dir


DAMAGE: dict[str, tuple[dict[str, Any], str]] = {
    "files not a list": ({"files": {"notes.dat": 400}}, "`files` must be a list"),
    "an entry without its path": (
        {"files": [{"size": 400, "sha256": "0" * 64}]},
        "`files[0]` has no path",
    ),
    "a size that is a string": (
        {"files": [{"path": "notes.dat", "size": "400", "sha256": "0" * 64}]},
        "`files[0].size` must be a whole number of bytes, found '400' (a string)",
    ),
    "a version that is a string": (
        {"version": "1"},
        "the manifest version must be an integer (this syncwizard reads version 1), "
        "found '1' (a string)",
    ),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
@pytest.mark.parametrize("command", ["verify", "restore --plan"])
def test_a_damaged_manifest_is_one_clear_paragraph_and_exit_2_for_every_command(
    tmp_path: Path, damage: str, command: str
) -> None:
    assert main(["config", "init"]) == 0
    set_dir = sealed_set(tmp_path / "backups")
    path = set_dir / backupset.MANIFEST_NAME
    changes, named = DAMAGE[damage]
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))
    result = run_cli(*command.split(), str(set_dir))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    message, hint = result.stderr.strip().split("\n  hint: ")
    assert message.startswith(f"syncwizard: {path}")
    assert named in message
    assert "cannot be trusted" in hint and "syncwizard backup" in hint


def test_restore_plan_refuses_a_set_that_fails_verification_and_says_why(
    tmp_path: Path,
) -> None:
    assert main(["config", "init"]) == 0
    set_dir = sealed_set(tmp_path / "backups")
    (set_dir / "notes.dat").write_bytes(b"ROWS" * 100)  # same size, other bytes
    result = run_cli("restore", "--plan", str(set_dir))
    assert result.returncode == 1, result.stderr  # refused: exit status 1
    assert result.stdout == ""  # no plan for a set a restore would refuse
    assert f"the backup set {set_dir} fails verification" in result.stderr
    assert "notes.dat does not match its recorded sha256" in result.stderr
    assert f"syncwizard verify {set_dir}" in result.stderr
    assert "Traceback" not in result.stderr


# --- stdout closed early (`syncwizard runs | head -1`) --------------------------------------


def write_runs(root: Path, count: int) -> None:
    """Journals of `count` interrupted backup runs, as the engine begins them."""
    for number in range(count):
        run_dir = root / f"backup-20261126T04{number // 60 % 60:02d}{number % 60:02d}Z"
        run_dir.mkdir(parents=True)
        started = {
            "at": 1_795_000_000 + number,
            "kind": "run_started",
            "data": {
                "runbook": "backup",
                "steps": ["preflight", "seal"],
                "profile": "prod",
                "backup_set": f"/var/backups/alfresco-sync/{run_dir.name}",
            },
        }
        (run_dir / "journal.jsonl").write_text(json.dumps(started) + "\n")


@pytest.mark.parametrize("args", [["runs"], ["runs", "--json"]])
def test_a_reader_that_stops_early_ends_the_command_quietly(
    isolated_dirs: Path, args: list[str]
) -> None:
    write_runs(isolated_dirs / "state" / "runs", 300)  # far more than the pipe holds
    read_end, write_end = os.pipe()
    fcntl.fcntl(read_end, fcntl.F_SETPIPE_SZ, 4096)
    child = subprocess.Popen(
        [sys.executable, "-m", "syncwizard", *args],
        stdout=write_end,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:  # `| head -1`
        first = reader.readline()
    _, stderr = child.communicate(timeout=60)
    assert first.startswith(b"backup-2026") or first.startswith(b"[")
    assert stderr == ""  # no BrokenPipeError, no traceback
    assert child.returncode == 141  # 128 + SIGPIPE, as a Unix tool stopped by it
