"""TUI tests: nothing on screen may depend on the wall clock."""

from __future__ import annotations

import pytest
from textual.widgets import Input


@pytest.fixture(autouse=True)
def frozen_cursor(monkeypatch: pytest.MonkeyPatch) -> None:
    """Text fields (the command palette's) keep their cursor still, so snapshots are stable."""
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)
