"""Dependencies point one way (tui -> runbook -> clients), and start-up stays light
(harlequin's test).

(a) Nothing headless (clients, runbook, lab, config, status) imports Textual.
(b) The TUI's first screen imports no client library: httpx, psycopg and
    stomp.py arrive when the dashboard opens, not before.
Each import runs in a fresh interpreter, so one module cannot hide another's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "syncwizard"
CLIENT_LIBRARIES = ("httpx", "psycopg", "stomp")
ALLOWED_CLIENT_MODULES = {"syncwizard.clients", "syncwizard.clients.results"}


def headless_modules() -> list[str]:
    modules = ["syncwizard.config", "syncwizard.status"]
    for folder in ("clients", "runbook", "lab"):
        for path in sorted((PACKAGE / folder).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__main__":
                continue
            modules.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return modules


def loaded_after(code: str) -> list[str]:
    """The modules loaded by running `code` in a fresh interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "tests")}  # tests/support, the doubles
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def test_the_module_list_covers_every_headless_package() -> None:
    modules = headless_modules()
    assert "syncwizard.clients.health" in modules and "syncwizard.lab.stack" in modules


def test_nothing_headless_imports_textual() -> None:
    modules = headless_modules()
    with ThreadPoolExecutor(max_workers=4) as pool:
        found = pool.map(lambda module: loaded_after(f"import {module}"), modules)
        loaded = dict(zip(modules, found, strict=True))
    offenders = {
        module: [m for m in names if m == "textual" or m.startswith("textual.")][:3]
        for module, names in loaded.items()
        if "textual" in names
    }
    assert offenders == {}, f"these import Textual: {offenders}"


def client_modules(names: list[str]) -> list[str]:
    libraries = [m for m in names if m.split(".")[0] in CLIENT_LIBRARIES]
    ours = [
        m for m in names if m.startswith("syncwizard.clients") and m not in ALLOWED_CLIENT_MODULES
    ]
    return libraries + ours


def test_importing_the_tui_loads_no_client() -> None:
    assert client_modules(loaded_after("import syncwizard.tui.app")) == []


@pytest.mark.parametrize("settings", ["demo_settings()", "None"])
def test_showing_the_welcome_screen_loads_no_client(settings: str) -> None:
    code = f"""
import asyncio
from syncwizard.tui.app import SyncWizardApp
from support.fake_status import demo_settings
from syncwizard.tui.screens.welcome import WelcomeScreen

async def show() -> None:
    app = SyncWizardApp({settings})
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen)

asyncio.run(show())
"""
    assert client_modules(loaded_after(code)) == []
