"""The headless commands: clear messages and exit codes, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from syncwizard.cli import main


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
