"""`python -m syncwizard.tui [--profile NAME] [--config FILE]`: the TUI opened on the live
status dashboard, what `make practice` runs on the lab. The welcome screen is under it
(Esc), and the wizards are one key away (b: backup, r: restore)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from syncwizard.errors import SyncWizardError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m syncwizard.tui",
        description="The syncwizard TUI, opened on the live status dashboard.",
    )
    parser.add_argument("--profile", help="the profile to use")
    parser.add_argument("--config", type=Path, help="the config file (default: user config dir)")
    args = parser.parse_args(argv)
    from syncwizard.config import Settings, load_settings
    from syncwizard.lab.look import what_runs
    from syncwizard.train.desk import LabDesk
    from syncwizard.tui.app import run_tui

    settings: Settings | None = None
    error: SyncWizardError | None = None
    try:
        settings = load_settings(args.config, args.profile)
    except SyncWizardError as exc:
        error = exc
    desk = LabDesk(args.config)
    return run_tui(settings, error, start="status", lab_state=what_runs, practice=desk)


if __name__ == "__main__":
    sys.exit(main())
