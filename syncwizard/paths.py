"""Where syncwizard keeps its files (platformdirs), with env overrides for tests."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "syncwizard"


def config_file() -> Path:
    """The config file: `$SYNCWIZARD_CONFIG`, else `config.toml` in the user config dir."""
    if explicit := os.environ.get("SYNCWIZARD_CONFIG"):
        return Path(explicit).expanduser()
    return platformdirs.user_config_path(APP_NAME) / "config.toml"


def state_dir() -> Path:
    """Journals, runs and the practice lab: `$SYNCWIZARD_STATE_DIR` or the user state dir."""
    if explicit := os.environ.get("SYNCWIZARD_STATE_DIR"):
        return Path(explicit).expanduser()
    return platformdirs.user_state_path(APP_NAME)


def log_dir() -> Path:
    return state_dir() / "logs"


def default_backup_dir() -> Path:
    return platformdirs.user_data_path(APP_NAME) / "backups"


def fsync_dir(path: Path) -> None:
    """Make the folder's entries (a file created or renamed in it) survive a crash."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def private_dir(path: Path) -> Path:
    """Create `path` (and parents) with mode 0700 for the last component."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` with mode 0600, atomically (temp file + rename)."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
