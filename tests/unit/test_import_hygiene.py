"""Dependencies point one way (tui -> runbook -> clients), and start-up stays light
(harlequin's test).

What loads, each import run in a fresh interpreter so one module cannot hide another's:
(a) Nothing headless (clients, runbook, lab, config, status) imports Textual.
(b) The TUI's first screen imports no client library: httpx, psycopg and
    stomp.py arrive when the dashboard opens, not before; and `syncwizard` reaches
    the TUI without the runbook (the welcome screen's workers load it after the paint).

The doors between the rooms, read from the source of every module (nothing runs):
(c) Only the entry points (cli.py, __main__.py, tui/__main__.py), the lab itself and the
    training played on it (syncwizard.train) import syncwizard.lab: the practice stack is
    handed to the TUI, not reached for; and only the entry points import the training.
(d) The TUI imports of the clients only their results (clients/results.py).
(e) Clients import no runbook and no TUI; the runbook imports no TUI.
(f) No import cycles between the package's modules. Imports inside functions count: a
    deferred import only hides a cycle from the interpreter, the two modules still need
    each other (ours are deferred to keep start-up light, never to break a cycle).
    Imports under TYPE_CHECKING do not: they never run, and naming a type back is no
    dependency at run time ((c)-(e) still see them).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "syncwizard"
CLIENT_LIBRARIES = ("httpx", "psycopg", "stomp")
ALLOWED_CLIENT_MODULES = {"syncwizard.clients", "syncwizard.clients.results"}


def module_name(path: Path) -> str:
    """syncwizard/tui/app.py -> syncwizard.tui.app; a package's __init__.py -> the package."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def headless_modules() -> list[str]:
    modules = ["syncwizard.config", "syncwizard.status"]
    for folder in ("clients", "runbook", "lab", "train"):
        for path in sorted((PACKAGE / folder).rglob("*.py")):
            if path.stem != "__main__":
                modules.append(module_name(path))
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


def test_the_command_loads_no_runbook_before_the_tui_starts() -> None:
    code = """
import syncwizard.tui.app
syncwizard.tui.app.run_tui = lambda *args, **kwargs: 0  # stop where the TUI would start
from syncwizard.cli import main
assert main([]) == 0
"""
    loaded = loaded_after(code)
    assert [m for m in loaded if m.startswith("syncwizard.runbook")] == []
    assert client_modules(loaded) == []


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


# --- the doors between the rooms, read from the source --------------------------------------
#
# Every module of the package is parsed (no import runs), and every import is an edge:
# at the top, inside a function, under `if TYPE_CHECKING:`, relative or absolute, and
# `importlib.import_module("a.literal.name")` (also handed to another call, as in
# `asyncio.to_thread(importlib.import_module, "name")`). A name built at run time stays
# unseen. Each failure names the file and line of the import, the importer and the imported.
# (import-linter would be a new test dependency for less: it sees no import_module strings,
# and its cycle contract (acyclic_siblings) is between sibling packages, not modules.)

ENTRY_POINTS = {"syncwizard.cli", "syncwizard.__main__", "syncwizard.tui.__main__"}
# What the TUI may import of the clients: their typed results (frozen records, no I/O).
# Anything else of a client the TUI reaches through the runbook, or is handed by the entry.
TUI_MAY_IMPORT_FROM_CLIENTS = {"syncwizard.clients.results"}


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str  # a module of the package: the most specific one the statement names
    line: int
    deferred: bool  # inside a function: runs when the function is called
    typing_only: bool  # under `if TYPE_CHECKING:`: never runs
    dynamic: bool  # importlib.import_module("...")

    def __str__(self) -> str:
        path = MODULES[self.importer].relative_to(ROOT)
        where = (
            "under TYPE_CHECKING"
            if self.typing_only
            else "inside a function"
            if self.deferred
            else "at module level"
        )
        how = "importlib.import_module" if self.dynamic else "import"
        return f"{path}:{self.line}: {self.importer} imports {self.imported} ({how}, {where})"


def in_room(module: str, room: str) -> bool:
    return module == room or module.startswith(room + ".")


def _ours(name: str) -> str | None:
    """The package's module that `name` is or is in (`syncwizard.x.Thing` -> syncwizard.x)."""
    if not in_room(name, "syncwizard"):
        return None
    while name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def _is_import_module(node: ast.expr) -> bool:
    if isinstance(node, ast.Attribute):
        return node.attr == "import_module" and isinstance(node.value, ast.Name)
    return isinstance(node, ast.Name) and node.id == "import_module"


def _import_module_literal(call: ast.Call) -> str | None:
    """The literal name of an `import_module` call, or of a call handed import_module."""
    args = call.args
    if not _is_import_module(call.func):
        at = next((i for i, arg in enumerate(args) if _is_import_module(arg)), None)
        if at is None:
            return None
        args = args[at + 1 :]
    first = args[0] if args else None
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        return first.value
    return None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _ImportFinder(ast.NodeVisitor):
    def __init__(self, module: str) -> None:
        self.module = module
        is_package = MODULES[module].name == "__init__.py"
        self.package = module.split(".") if is_package else module.split(".")[:-1]
        self.found: list[Import] = []
        self.deferred = False
        self.typing_only = False

    def _add(self, name: str, line: int, *, dynamic: bool = False) -> None:
        imported = _ours(name)
        if imported is not None and imported != self.module:
            self.found.append(
                Import(self.module, imported, line, self.deferred, self.typing_only, dynamic)
            )

    def _inside_function(self, node: ast.AST) -> None:
        outer, self.deferred = self.deferred, True
        self.generic_visit(node)
        self.deferred = outer

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _inside_function

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node.test):
            self.generic_visit(node)
            return
        outer, self.typing_only = self.typing_only, True
        for statement in node.body:
            self.visit(statement)
        self.typing_only = outer
        for statement in node.orelse:
            self.visit(statement)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:  # relative: from the importer's package, one level up per extra dot
            base = self.package[: len(self.package) - node.level + 1]
            source = ".".join([*base, node.module] if node.module else base)
        else:
            source = node.module or ""
        for alias in node.names:
            submodule = f"{source}.{alias.name}"  # `from package import module`
            self._add(submodule if submodule in MODULES else source, node.lineno)

    def visit_Call(self, node: ast.Call) -> None:
        name = _import_module_literal(node)
        if name is not None:
            self._add(name, node.lineno, dynamic=True)
        self.generic_visit(node)


@lru_cache(maxsize=1)
def package_imports() -> tuple[Import, ...]:
    found: list[Import] = []
    for module, path in MODULES.items():
        finder = _ImportFinder(module)
        finder.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        found.extend(dict.fromkeys(finder.found))  # one edge per statement and module
    return tuple(found)


def hold(contract: str, found: list[Import] | list[str], fix: str) -> None:
    """Fail with the contract, each import that breaks it (file:line, importer, imported)
    and what to do, without a traceback: the message is the whole story."""
    if found:
        lines = "".join(f"\n  {each}" for each in found)
        pytest.fail(f"{contract}; these imports break it:{lines}\n{fix}", pytrace=False)


SAMPLE = """
import importlib
from typing import TYPE_CHECKING

import syncwizard.errors
from syncwizard.clients import results
from syncwizard.config import Settings
from . import base
from ..widgets.footer import WizardFooter

if TYPE_CHECKING:
    from syncwizard.runbook.journal import RunRecord

def later():
    from syncwizard.lab import stack
    importlib.import_module("syncwizard.runbook.backup.runbook")
    return asyncio.to_thread(importlib.import_module, "syncwizard.runbook.backupset")
"""


def test_the_finder_sees_every_kind_of_import() -> None:
    finder = _ImportFinder("syncwizard.tui.screens.lab")
    finder.visit(ast.parse(SAMPLE))
    seen = {(i.imported, i.line, i.deferred, i.typing_only, i.dynamic) for i in finder.found}
    assert seen == {
        ("syncwizard.errors", 5, False, False, False),
        ("syncwizard.clients.results", 6, False, False, False),  # a module, not the package
        ("syncwizard.config", 7, False, False, False),  # a name in a module: the module
        ("syncwizard.tui.screens.base", 8, False, False, False),
        ("syncwizard.tui.widgets.footer", 9, False, False, False),
        ("syncwizard.runbook.journal", 12, False, True, False),
        ("syncwizard.lab.stack", 15, True, False, False),
        ("syncwizard.runbook.backup.runbook", 16, True, False, True),
        ("syncwizard.runbook.backupset", 17, True, False, True),
    }


def test_every_entry_point_is_a_module_of_the_package() -> None:
    assert ENTRY_POINTS.issubset(MODULES)
    assert len(MODULES) > 100 and "syncwizard.tui.screens.lab" in MODULES


def test_only_the_entry_points_import_the_lab() -> None:
    hold(
        "only the entry points (cli.py, __main__.py, tui/__main__.py) and the lab itself "
        "import syncwizard.lab",
        [
            i
            for i in package_imports()
            if in_room(i.imported, "syncwizard.lab")
            and i.importer not in ENTRY_POINTS
            and not in_room(i.importer, "syncwizard.lab")
            and not in_room(i.importer, "syncwizard.train")
        ],
        "fix: let the entry point hand in what is needed of the lab (a callable, data), as "
        "it hands the TUI's lab screen lab/look.py's what_runs",
    )


def test_only_the_entry_points_import_the_training() -> None:
    hold(
        "only the entry points import syncwizard.train (which reaches into the lab)",
        [
            i
            for i in package_imports()
            if in_room(i.imported, "syncwizard.train")
            and i.importer not in ENTRY_POINTS
            and not in_room(i.importer, "syncwizard.train")
        ],
        "fix: let the entry point hand the training what it needs, as it hands the lab",
    )


def test_the_tui_imports_only_the_results_of_the_clients() -> None:
    hold(
        f"the TUI imports of the clients only {', '.join(sorted(TUI_MAY_IMPORT_FROM_CLIENTS))}",
        [
            i
            for i in package_imports()
            if in_room(i.importer, "syncwizard.tui")
            and in_room(i.imported, "syncwizard.clients")
            and i.imported not in TUI_MAY_IMPORT_FROM_CLIENTS
        ],
        "fix: reach the client through the runbook (tui -> runbook -> clients), or move the "
        "plain record the TUI needs into clients/results.py",
    )


@pytest.mark.parametrize(
    ("room", "forbidden"),
    [
        ("syncwizard.clients", "syncwizard.runbook"),
        ("syncwizard.clients", "syncwizard.tui"),
        ("syncwizard.runbook", "syncwizard.tui"),
    ],
)
def test_dependencies_point_one_way(room: str, forbidden: str) -> None:
    hold(
        f"{room} imports nothing of {forbidden} (tui -> runbook -> clients)",
        [
            i
            for i in package_imports()
            if in_room(i.importer, room) and in_room(i.imported, forbidden)
        ],
        f"fix: move what {room} needs down into it (or below it), or have {forbidden} hand "
        "it in as an argument",
    )


def import_graph(imports: tuple[Import, ...]) -> dict[str, dict[str, Import]]:
    """importer -> imported -> its first import that runs (TYPE_CHECKING ones never do)."""
    graph: dict[str, dict[str, Import]] = {}
    for found in imports:
        if not found.typing_only:
            graph.setdefault(found.importer, {}).setdefault(found.imported, found)
    return graph


def cycles(graph: dict[str, dict[str, Import]]) -> list[list[Import]]:
    """For each module that imports itself through others, and is on no cycle found yet, a
    shortest such cycle (breadth first): the imports, the first one from that module."""
    on_a_cycle: set[str] = set()
    found: list[list[Import]] = []
    for start in sorted(graph):
        if start in on_a_cycle:
            continue
        came_from: dict[str, Import] = {}  # module -> the import that first reached it
        queue = deque([start])
        while queue and start not in came_from:
            for imported, edge in graph.get(queue.popleft(), {}).items():
                if imported not in came_from:
                    came_from[imported] = edge
                    queue.append(imported)
        if start not in came_from:
            continue
        path = [came_from[start]]
        while path[-1].importer != start:
            path.append(came_from[path[-1].importer])
        path.reverse()
        found.append(path)
        on_a_cycle.update(edge.importer for edge in path)
    return found


def test_the_cycle_finder_names_each_import_of_a_cycle() -> None:
    def edge(importer: str, imported: str, *, typing_only: bool = False) -> Import:
        return Import(importer, imported, 1, False, typing_only, False)

    a, b, c, d = "syncwizard.cli", "syncwizard.config", "syncwizard.errors", "syncwizard.paths"
    graph = import_graph(
        (edge(a, b), edge(b, c), edge(c, a), edge(c, d), edge(d, c, typing_only=True))
    )
    assert cycles(graph) == [[edge(a, b), edge(b, c), edge(c, a)]]


def test_no_module_imports_itself_through_others() -> None:
    found = [
        " -> ".join([cycle[0].importer, *(edge.imported for edge in cycle)])
        + "".join(f"\n    {edge}" for edge in cycle)
        for cycle in cycles(import_graph(package_imports()))
    ]
    hold(
        "no import cycles between the modules of the package (imports inside functions "
        "count, TYPE_CHECKING ones do not)",
        found,
        "fix: move what the modules of a cycle share into one that imports none of them, or "
        "hand it in; a deferred import (inside a function) only hides the cycle",
    )
