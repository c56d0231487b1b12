"""Every test runs with its own config file and state dir, never the user's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("SYNCWIZARD_CONFIG", str(tmp_path / "config" / "config.toml"))
    monkeypatch.setenv("SYNCWIZARD_STATE_DIR", str(tmp_path / "state"))
    for name in ("SYNCWIZARD_PROFILE", "SYNCWIZARD_BROKER_PASSWORD", "SYNCWIZARD_RECOVER_OPTION"):
        monkeypatch.delenv(name, raising=False)
    yield tmp_path
