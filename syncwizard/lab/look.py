"""What of the practice lab is on this machine, as the TUI's lab screen shows it.

The entry points (cli.py, tui/__main__.py) hand `what_runs` to the TUI, which never
imports the lab. It reads small files (lab.json, pids.json), no network; the lab's
modules are imported at the first look, not when the wizard starts.
"""

from __future__ import annotations

from pathlib import Path


def what_runs(root: Path | None = None) -> list[str]:
    """The lab's folder, then each part running (and where) or not, one line each.
    `root`: the lab's folder; by default the one `syncwizard lab up` uses."""
    from syncwizard.lab import stack

    layout = stack.default_layout() if root is None else stack.layout_at(root)
    if not layout.root.exists():
        return [f"lab folder: {layout.root} is missing: the lab was never brought up here"]
    lines = [f"lab folder: {layout.root}"]
    for part in stack.parts(layout):
        state = f"running, {part.where}" if part.running else "not running"
        lines.append(f"  {part.name:<9} {state}")
    return lines
