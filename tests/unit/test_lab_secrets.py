"""The lab's secret files: the broker password file always says what the broker is
configured with; the repository admin password, once made, stays."""

from __future__ import annotations

import inspect
import stat
from pathlib import Path

from syncwizard.lab import broker, stack
from syncwizard.lab.layout import LabLayout


def configured_broker_password() -> str:
    """The password `lab up` configures the broker with (`ensure_configured`'s default)."""
    return str(inspect.signature(broker.ensure_configured).parameters["password"].default)


def test_a_stale_broker_password_file_is_rewritten_with_the_configured_password(
    tmp_path: Path,
) -> None:
    layout = LabLayout(tmp_path / "lab")
    layout.secrets_dir.mkdir(parents=True)
    layout.broker_password_file.write_text("the-password-of-an-older-lab\n")
    layout.repo_admin_password_file.write_text("kept-admin-password\n")
    stack._write_secrets(layout)
    assert layout.broker_password_file.read_text() == configured_broker_password() + "\n"
    assert stat.S_IMODE(layout.broker_password_file.stat().st_mode) == 0o600
    assert layout.repo_admin_password_file.read_text() == "kept-admin-password\n"


def test_a_new_lab_gets_both_secret_files(tmp_path: Path) -> None:
    layout = LabLayout(tmp_path / "lab")
    stack._write_secrets(layout)
    assert layout.broker_password_file.read_text().strip() == configured_broker_password()
    made = layout.repo_admin_password_file.read_text()
    assert len(made.strip()) >= 16
    stack._write_secrets(layout)
    assert layout.repo_admin_password_file.read_text() == made
