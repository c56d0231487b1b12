"""The restore runbook: the restore part of Alfresco's procedure, made safe.

verify the set -> preflight -> stop the Sync Service and the repository (gate) ->
check that nothing still arrives -> clear the undelivered events by consuming them into
the run's archive (gate; or give them up, behind a gate naming their number) -> offer to
clear each orphaned consumer queue the same way (a gate each; declining leaves it) ->
restore the repository DB into a scratch database, verify it -> swap it into place
(gate) -> the same for the Sync DB -> start the repository and wait until it answers ->
start the Sync Service once with -Drecover (gate) and watch it come back -> offer a plain
restart -> the report.

`start_restore` begins a run from a sealed set, `resume_restore` continues one found by
`journal.find_unfinished("restore")`; both return an Engine (engine.py). Choices the
admin makes on screen (what to do while events arrive, clear / delete / give up, the
recover credentials, the plain restart)
travel in a `RestoreChoices` the UI fills in before the step that needs them. The run
folder (journal, events archive, report.md) is `runs_dir()/<run id>`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from syncwizard import __version__
from syncwizard.config import Profile
from syncwizard.errors import SyncWizardError
from syncwizard.runbook import backupset
from syncwizard.runbook.engine import Engine
from syncwizard.runbook.journal import (
    Journal,
    RunRecord,
    new_run_id,
    runs_dir,
    secrets_to_mask,
)
from syncwizard.runbook.model import Confirm, Observer, RefusedError, Runbook, Step
from syncwizard.runbook.profile_lock import ProfileLock
from syncwizard.runbook.report import REPORT_NAME
from syncwizard.runbook.restore.actions import RestoreActions
from syncwizard.runbook.restore.aside import drop_aside_of_run
from syncwizard.runbook.restore.choices import RestoreChoices
from syncwizard.runbook.restore.sets import SetListing, engine_problems, list_sets, resolve_set
from syncwizard.runbook.restore.step_names import (
    CLEAR,
    ORPHANS,
    PLAIN_RESTART,
    PREFLIGHT,
    QUIET,
    RECOVER,
    REPORT,
    RESTORE_REPOSITORY,
    RESTORE_SYNC,
    RUNBOOK,
    START_REPOSITORY,
    STOP,
    SWAP_REPOSITORY,
    SWAP_SYNC,
    TITLES,
    VERIFY,
    WHY,
)
from syncwizard.runbook.restore.systems import RestoreSystems

__all__ = [
    "RestoreChoices",
    "SetListing",
    "describe_plan",
    "list_sets",
    "resolve_set",
    "restore_runbook",
    "resume_restore",
    "start_restore",
]


def restore_runbook(actions: RestoreActions) -> Runbook:
    a = actions
    return Runbook(
        name=RUNBOOK,
        aclose=a.systems.aclose,
        steps=(
            Step(
                id=VERIFY,
                title=TITLES[VERIFY],
                why=WHY[VERIFY],
                action=a.verify_set,
                plan=lambda ctx: f"check every file of {a.set_dir} against its manifest",
            ),
            Step(
                id=PREFLIGHT,
                title=TITLES[PREFLIGHT],
                why=WHY[PREFLIGHT],
                action=a.preflight,
                depends_on=(VERIFY,),
                plan=a.plan_preflight,
            ),
            Step(
                id=STOP,
                title=TITLES[STOP],
                why=WHY[STOP],
                action=a.queue.stop_services,
                gate=a.stop_gates,
                depends_on=(PREFLIGHT,),
                plan=a.queue.plan_stop,
            ),
            Step(
                id=QUIET,
                title=TITLES[QUIET],
                why=WHY[QUIET],
                action=a.queue.check_quiet,
                depends_on=(PREFLIGHT,),
                plan=a.queue.plan_quiet,
            ),
            Step(
                id=CLEAR,
                title=TITLES[CLEAR],
                why=WHY[CLEAR],
                action=a.clear.clear,
                gate=a.clear.gates,
                depends_on=(QUIET,),
                plan=a.clear.plan,
            ),
            Step(
                id=ORPHANS,
                title=TITLES[ORPHANS],
                why=WHY[ORPHANS],
                action=a.orphans.clear_orphans,
                gate=a.orphans.gates,
                depends_on=(CLEAR,),
                plan=a.orphans.plan,
            ),
            Step(
                id=RESTORE_REPOSITORY,
                title=TITLES[RESTORE_REPOSITORY],
                why=WHY[RESTORE_REPOSITORY],
                action=a.db.restore_repository,
                gate=a.db.restore_gate(RESTORE_REPOSITORY),
                depends_on=(CLEAR,),
                plan=a.db.plan_restore(RESTORE_REPOSITORY),
            ),
            Step(
                id=SWAP_REPOSITORY,
                title=TITLES[SWAP_REPOSITORY],
                why=WHY[SWAP_REPOSITORY],
                action=a.db.swap_repository,
                gate=a.db.swap_gate(SWAP_REPOSITORY),
                verification=a.db.verify_swap(SWAP_REPOSITORY),
                depends_on=(RESTORE_REPOSITORY,),
                plan=a.db.plan_swap(SWAP_REPOSITORY),
            ),
            Step(
                id=RESTORE_SYNC,
                title=TITLES[RESTORE_SYNC],
                why=WHY[RESTORE_SYNC],
                action=a.db.restore_sync,
                gate=a.db.restore_gate(RESTORE_SYNC),
                depends_on=(SWAP_REPOSITORY,),
                plan=a.db.plan_restore(RESTORE_SYNC),
            ),
            Step(
                id=SWAP_SYNC,
                title=TITLES[SWAP_SYNC],
                why=WHY[SWAP_SYNC],
                action=a.db.swap_sync,
                gate=a.db.swap_gate(SWAP_SYNC),
                verification=a.db.verify_swap(SWAP_SYNC),
                depends_on=(RESTORE_SYNC,),
                plan=a.db.plan_swap(SWAP_SYNC),
            ),
            Step(
                id=START_REPOSITORY,
                title=TITLES[START_REPOSITORY],
                why=WHY[START_REPOSITORY],
                action=a.repository.start,
                gate=a.repository.gate,
                depends_on=(SWAP_SYNC,),
                plan=a.repository.plan,
            ),
            Step(
                id=RECOVER,
                title=TITLES[RECOVER],
                why=WHY[RECOVER],
                action=a.service.start_recover,
                gate=a.service.recover_gate,
                depends_on=(START_REPOSITORY,),
                plan=a.service.plan_recover,
            ),
            Step(
                id=PLAIN_RESTART,
                title=TITLES[PLAIN_RESTART],
                why=WHY[PLAIN_RESTART],
                action=a.service.plain_restart,
                gate=a.service.plain_restart_gate,
                depends_on=(RECOVER,),
                plan=a.service.plan_plain_restart,
            ),
            Step(
                id=REPORT,
                title=TITLES[REPORT],
                why=WHY[REPORT],
                action=a.write_report,
                depends_on=(RECOVER,),
                plan=lambda ctx: f"write {a.run_dir / REPORT_NAME}",
            ),
        ),
    )


def refuse_engine_mismatch(profile: Profile, set_dir: Path, manifest: dict[str, Any]) -> None:
    """A set's dumps restore only onto the engine that made them (sets.engine_problems):
    refused before anything is written, naming both."""
    if problems := engine_problems(profile, manifest.get("dumps") or []):
        raise SyncWizardError(
            f"the set {set_dir} cannot be restored with this profile: {'; '.join(problems)}; "
            "nothing was done",
            hint="choose the profile of the installation the set was taken from (--profile), "
            "or a set taken from this one",
            system="config",
        )


def start_restore(
    profile: Profile,
    set_dir: Path,
    choices: RestoreChoices,
    *,
    broker_password: str | None,
    observers: Iterable[Observer] = (),
    confirm: Confirm | None = None,
    systems: RestoreSystems | None = None,
    run_id: str | None = None,
) -> Engine:
    """A new restore run from the sealed set `set_dir`; `engine.run_step(...)` or
    `engine.run()` carries it out. Raises SyncWizardError (nothing written) when the
    folder holds no readable manifest. `systems` are the profile's own unless given;
    `run_id` is restore-<UTC time> unless given (a number is added while it is taken)."""
    manifest = backupset.read_manifest(set_dir)
    refuse_engine_mismatch(profile, set_dir, manifest)
    base = run_id or new_run_id(RUNBOOK)
    run_id, number = base, 1
    while (runs_dir() / run_id).exists():
        number += 1
        run_id = f"{base}-{number}"
    run_dir = runs_dir() / run_id
    journal = Journal.create(
        run_dir,
        secrets=secrets_to_mask(broker_password),
        profile_lock=ProfileLock.take(profile.name, RUNBOOK),  # one run at a time
    )
    actions = RestoreActions(
        profile,
        systems or RestoreSystems(profile, broker_password),
        set_dir,
        manifest,
        run_dir,
        choices,
    )
    engine = Engine(restore_runbook(actions), journal, run_id, observers=observers, confirm=confirm)
    engine.start(
        {
            "profile": profile.name,
            "backup_set": str(set_dir),
            "set_run_id": manifest.get("run_id"),
            "sync_id": manifest.get("sync_id"),
            "shared_database": bool(manifest.get("shared_database")),
            "tool_version": __version__,
            "pid": os.getpid(),
        }
    )
    return engine


async def resume_restore(
    record: RunRecord,
    profile: Profile,
    choices: RestoreChoices,
    *,
    broker_password: str | None,
    observers: Iterable[Observer] = (),
    confirm: Confirm | None = None,
    systems: RestoreSystems | None = None,
) -> Engine:
    """The engine of an unfinished restore run, at the step where it stopped (`systems`
    as for `start_restore`)."""
    header = record.header
    if header.get("profile") != profile.name:
        raise RefusedError(
            f"run {record.run_id} was started with profile {header.get('profile')!r}, "
            f"not {profile.name!r}",
            hint=f"start syncwizard with --profile {header.get('profile')} to resume it",
            system="config",
        )
    set_dir = Path(header["backup_set"])
    manifest = backupset.read_manifest(set_dir)
    previous = record.status()
    choices.restore_from(record)
    journal = Journal.open(
        record.run_dir,
        secrets=secrets_to_mask(broker_password),
        profile_lock=ProfileLock.take(profile.name, RUNBOOK),
    )
    actions = RestoreActions(
        profile,
        systems or RestoreSystems(profile, broker_password),
        set_dir,
        manifest,
        record.run_dir,
        choices,
    )
    try:
        engine = Engine.resume(
            restore_runbook(actions), record, journal, observers=observers, confirm=confirm
        )
        where = record.stopped_at or "the end"
        engine.announce_resume(
            f"resuming run {record.run_id} at step {where!r} (it was {previous})",
            {"from_step": where, "previous": previous, "pid": os.getpid()},
        )
    except BaseException:
        await actions.systems.aclose()
        journal.close()
        raise
    return engine


def describe_plan(profile: Profile, set_dir: Path) -> str:
    """What a restore from `set_dir` would do, step by step; touches nothing."""
    manifest = backupset.read_manifest(set_dir)
    run_id = new_run_id(RUNBOOK)  # what a run started now would be called
    actions = RestoreActions(
        profile,
        RestoreSystems(profile, None),
        set_dir,
        manifest,
        runs_dir() / run_id,
        RestoreChoices(),
    )
    runbook = restore_runbook(actions)
    lines = [
        f"Restore plan for the backup set {set_dir}",
        f"  taken {manifest.get('created_at')} by syncwizard "
        f"{manifest.get('tool', {}).get('version', '?')}, sync GUID {manifest.get('sync_id')}",
        f"  names below use the run id {run_id}; a run started later gets its own",
        "",
    ]
    context = actions.offline_context()
    for number, step in enumerate(runbook.steps, start=1):
        lines.append(f"{number:>2}. {step.title}")
        plan = step.plan(context) if step.plan is not None else ""
        if plan:
            lines.append(f"    {plan}")
    return "\n".join(lines)


async def drop_aside(
    run: str | Path, profile: Profile, role: str, *, systems: RestoreSystems | None = None
) -> str:
    """Drop the database a finished restore renamed aside for `role` (after its own gate,
    in the UI); journaled in the run. Returns the name dropped."""
    systems = systems or RestoreSystems(profile, None)
    try:
        return await drop_aside_of_run(run, systems, role)
    finally:
        await systems.aclose()
