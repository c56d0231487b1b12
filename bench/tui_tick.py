"""CPU of the whole TUI process per dashboard tick, against the practice lab, in tmux.

The dashboard polls once a second; this reads the process's user+system CPU
from /proc over a window, idle and while `lab generate` makes every number
move, and prints CPU per tick. The idle window starts a few seconds after the
dashboard opens, while the sparkline's history still fills (a new point and
label every poll); `--settle 65` waits until it is full, as on a dashboard
left open. Run after `syncwizard lab up`:
.venv/bin/python bench/tui_tick.py [--seconds 20] [--settle 0]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

SESSION = "swtick"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def app_pid() -> int:
    pane_pid = subprocess.run(
        ["tmux", "display-message", "-p", "-t", SESSION, "#{pane_pid}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return int(pane_pid)


def measure(pid: int, seconds: float) -> float:
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) / seconds  # ticks are 1 s apart


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--settle", type=float, default=0.0, help="more seconds to wait before the idle window"
    )
    args = parser.parse_args()
    command = f"exec {sys.executable} -m syncwizard --profile lab"
    subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", SESSION, "-x", "120", "-y", "40", command], check=True
    )
    try:
        time.sleep(3)
        subprocess.run(["tmux", "send-keys", "-t", SESSION, "s"], check=True)
        time.sleep(5 + args.settle)  # the dashboard's first polls, connections made
        pid = app_pid()
        idle = measure(pid, args.seconds)
        generator = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "syncwizard",
                "lab",
                "generate",
                "--rate",
                "50",
                "--for",
                f"{args.seconds + 5:.0f}s",
            ],
            stdout=subprocess.DEVNULL,
        )
        time.sleep(2)
        busy = measure(pid, args.seconds)
        generator.wait()
    finally:
        subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
    print(
        f"TUI process CPU per 1 s tick: idle lab {idle * 1000:.1f} ms, "
        f"events flowing {busy * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
