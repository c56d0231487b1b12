"""A lab stand-in's command line: `python -m <module> <lab root>` runs it, and
`... ctl start|stop|status <lab root>` drives it like a service, as the `lab` profile's stop
and start commands do (the Sync Service's stand-in, the repository's)."""

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


def service_main(
    module: str,
    argv: list[str],
    *,
    run: Callable[[Path], int],
    ctl: Callable[[str, Path], int],
) -> int:
    """The stand-in's main: run it, or `ctl` it; 2 with the usage for anything else."""
    if len(argv) == 3 and argv[0] == "ctl":
        return ctl(argv[1], Path(argv[2]))
    if len(argv) == 1:
        return run(Path(argv[0]))
    print(
        f"usage: python -m {module} <lab root>\n"
        f"       python -m {module} ctl start|stop|status <lab root>",
        file=sys.stderr,
    )
    return 2
