"""Time to the first painted frame in tmux: syncwizard vs a bare Textual hello world.

Each app runs in a fresh tmux pane (120x40); `capture-pane` is polled every
5 ms until the pane shows the app's marker text. The two alternate, after one
warm-up each, and the median of 5 is printed with the ratio (budget <= 1.3x).
syncwizard's modules are compiled first, as installing its wheel does: Textual's
come compiled from pip, and with PYTHONDONTWRITEBYTECODE set the warm-up writes no
.pyc, so each run would compile syncwizard's from source (~15 ms more).
Run: .venv/bin/python bench/startup.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import compileall
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SESSION = f"swbench{os.getpid()}"  # its own: another run may share the tmux server


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


def first_paint(command: str, marker: str, env: dict[str, str], timeout: float = 20.0) -> float:
    subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)
    env_args = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
    started = time.perf_counter()
    for attempt in range(3):  # a new server can lose the race with the last one's exit
        try:
            tmux("new-session", "-d", "-s", SESSION, "-x", "120", "-y", "40", *env_args, command)
            break
        except subprocess.CalledProcessError:
            if attempt == 2:
                raise
            time.sleep(0.1)
            started = time.perf_counter()
    try:
        while time.perf_counter() - started < timeout:
            if marker in tmux("capture-pane", "-p", "-t", SESSION):
                return time.perf_counter() - started
            time.sleep(0.005)
        raise RuntimeError(f"{command!r} did not paint {marker!r} within {timeout} s")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", SESSION], capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    compileall.compile_dir(ROOT / "syncwizard", quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.toml"
        subprocess.run(
            [sys.executable, "-m", "syncwizard", "--config", str(config), "config", "init"],
            check=True,
            capture_output=True,
        )
        env = {
            "SYNCWIZARD_CONFIG": str(config),
            "SYNCWIZARD_STATE_DIR": tmp,
            "TERM": "xterm-256color",
        }
        apps = {
            "hello": (f"{sys.executable} {ROOT / 'bench' / 'hello_app.py'}", "Hello, world"),
            "syncwizard": (f"{sys.executable} -m syncwizard", "Backup"),
        }
        times: dict[str, list[float]] = {name: [] for name in apps}
        for command, marker in apps.values():  # warm-up: caches, .pyc files
            first_paint(command, marker, env)
        for _ in range(args.rounds):
            for name, (command, marker) in apps.items():
                times[name].append(first_paint(command, marker, env))
    for name, values in times.items():
        ms = sorted(v * 1000 for v in values)
        print(
            f"{name:<11} first paint ms: min {ms[0]:.0f}  median {statistics.median(ms):.0f}  "
            f"max {ms[-1]:.0f}"
        )
    ratio = statistics.median(times["syncwizard"]) / statistics.median(times["hello"])
    print(f"ratio syncwizard / hello (medians): {ratio:.2f}x  (budget <= 1.3x)")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TERM", "xterm-256color")
    raise SystemExit(main())
