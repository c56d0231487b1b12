"""`syncwizard train [run ID | grade ID | report]`."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from syncwizard import paths
from syncwizard.config import Profile, load_settings
from syncwizard.glossary import terms_in
from syncwizard.lab import stack
from syncwizard.lab.layout import CLASSIC, LabLayout
from syncwizard.masking import mask_text
from syncwizard.train import registry, results, session
from syncwizard.train.model import Scenario
from syncwizard.train.report import render
from syncwizard.train.results import Attempt

STARS = {1: "*", 2: "**", 3: "***"}


def run(args: argparse.Namespace) -> int:
    command = getattr(args, "train_command", None)
    if command == "run":
        return _run(args)
    if command == "grade":
        return _grade(args)
    if command == "report":
        return _report(args)
    return _list()


def lab_profile(config: Path | None) -> Profile:
    return load_settings(config, stack.PROFILE_NAME).profile


def scenario_profile(scenario: Scenario, layout: LabLayout, config: Path | None) -> Profile:
    """The lab profile the scenario plays with: refused on a lab of another flavour, then
    written (as `lab up` writes it, with the scenario's changes) and read back."""
    session.refuse_other_flavour(scenario, layout)
    session.write_lab_profile(scenario, layout, config or paths.config_file())
    return lab_profile(config)


def profile_changes(scenario: Scenario, layout: LabLayout) -> list[str]:
    """What the scenario changed in the lab profile, one line a setting."""
    if scenario.profile_patch is None:
        return []
    written = session.lab_profile_sections(scenario, layout)
    return [
        f"profile {stack.PROFILE_NAME!r}: {name}.{key} = {written[name][key]!r}"
        for name, changes in scenario.profile_patch(layout).items()
        for key in changes
    ]


def lab_layout() -> LabLayout:
    layout = stack.default_layout()
    if not layout.settings_file.exists():
        from syncwizard.errors import SyncWizardError

        raise SyncWizardError(
            f"no practice lab under {layout.root}: training plays on it",
            hint="run `syncwizard lab up` first",
            system="lab",
        )
    return layout


def _list() -> int:
    width = max(len(s.id) for s in registry.SCENARIOS)  # the ids line up
    for scenario in registry.SCENARIOS:
        top = results.best(scenario.id)
        best = "not played" if top is None else f"best {top.earned}/{top.possible}"
        stars = STARS.get(scenario.difficulty, "?")
        print(f"{scenario.id:<{width}} {stars:<4} {scenario.title}")
        where = "" if scenario.flavour == CLASSIC else f"; lab: --like {scenario.flavour}"
        print(f"{'':<{width}} {best}; runbook: {scenario.runbook}{where}")
        print(f"{'':<{width}} {scenario.ticket}")
        print()
    print("play one: syncwizard train run ID   (resets the lab; then run the wizard)")
    return 0


def _print_attempt(attempt: Attempt) -> None:
    print(
        f"grade: {attempt.earned}/{attempt.possible} points, run {attempt.run_id}, "
        f"{attempt.seconds:.0f} s"
    )
    for point in attempt.points:
        mark = "ok  " if point.full else "MISS"
        print(f"  {mark} {point.earned}/{point.possible} {point.title}")
        print(f"       {point.debrief}")
        print(f"       from: {point.procedure}")
    used = terms_in(*(point.debrief for point in attempt.points))
    if used:
        print("terms:")
        for term in used:
            print(f"  {term.name}: {term.meaning}")


def _run(args: argparse.Namespace) -> int:
    scenario = registry.scenario(args.scenario)
    layout = lab_layout()
    profile = scenario_profile(scenario, layout, getattr(args, "config", None))
    print(f"{scenario.title}: resetting the lab and setting up the scenario...", flush=True)
    prepared = asyncio.run(session.prepare(scenario, layout, profile))
    for sentence in prepared.reset.done:
        print(f"  {sentence}")
    print(
        f"lab reset in {prepared.reset.seconds:.1f} s, scenario set up in "
        f"{prepared.setup_seconds:.1f} s"
    )
    if scenario.situation:
        print(f"  situation: {scenario.situation}")
    for change in profile_changes(scenario, layout):
        print(f"  {change}")
    print()
    print(f"TICKET: {scenario.ticket}")
    print()
    print("now, in another terminal:  syncwizard --profile lab")
    print(f"(the {scenario.runbook}; this terminal watches the run and grades it when it ends;")
    print(f" Ctrl-C stops watching, `syncwizard train grade {scenario.id}` grades later)")
    attempt = session.watch(scenario, layout, prepared.set_up_at, say=print)
    if attempt is not None:
        _print_attempt(attempt)
    print("the lab stays as the run left it: `syncwizard lab reset` puts it back")
    return 0


def _grade(args: argparse.Namespace) -> int:
    scenario = registry.scenario(args.scenario)
    record = session.latest_run(scenario, results.set_up_at(scenario.id))
    if record is None:
        raise session.no_run_error(scenario)
    _print_attempt(session.grade(scenario, record, lab_layout()))
    return 0


def _report(args: argparse.Namespace) -> int:
    output: Path = args.output or results.training_dir() / "training-report.md"
    text = mask_text(render(registry.SCENARIOS, results.attempts()))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text + "\n", encoding="utf-8")
    print(f"trainer's report written to {output}")
    return 0
