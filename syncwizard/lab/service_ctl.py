"""`ctl start|stop|status <lab root>`: a lab stand-in driven like a service, as the `lab`
profile's stop and start commands drive it (the Sync Service's, the repository's)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from syncwizard.errors import SyncWizardError
from syncwizard.lab import process
from syncwizard.lab.layout import LabLayout, layout_from_root


def service_ctl(
    command: str,
    root: Path,
    *,
    label: str,  # "Sync Service stand-in"
    part: str,  # its name in pids.json
    start: Callable[[LabLayout], None],
    where: Callable[[LabLayout], str],
) -> int:
    """0 done, 1 failed or not running, 2 bad usage."""
    try:
        layout = layout_from_root(root)
    except FileNotFoundError:
        print(f"No practice lab at {root} (no lab.json).", file=sys.stderr)
        return 2
    if command == "start":
        try:
            start(layout)
        except SyncWizardError as exc:
            print(exc.render(), file=sys.stderr)
            return 1
        print(f"{label} running: {where(layout)}")
        return 0
    if command == "stop":
        was_running = process.stop(layout, part)
        print(f"{label} {'stopped' if was_running else 'was not running'}.")
        return 0
    if command == "status":
        running = process.running_pid(layout, part) is not None
        print(f"{label} running." if running else f"{label} not running.")
        return 0 if running else 1
    print(f"unknown command {command!r}: expected start, stop or status", file=sys.stderr)
    return 2
