"""A corrupted backup set to catch before restoring: last night's set has a damaged dump;
the restore's verify refuses it before anything is stopped, and the night before's set is
restored instead."""

from __future__ import annotations

import json
from pathlib import Path

from syncwizard.config import Profile
from syncwizard.lab.layout import LabLayout
from syncwizard.runbook import backupset
from syncwizard.runbook.journal import RunRecord
from syncwizard.runbook.restore import step_names as restore_steps
from syncwizard.train import grading
from syncwizard.train.model import LabFacts, Point, Scenario
from syncwizard.train.scenarios.common import take_backup

TARGET_SECONDS = 900.0
FLIPPED = 64  # bytes inverted in the middle of the damaged file (a bad sector's worth)
# The steps that change a live system: none may run with a set that did not verify.
CHANGING = (
    restore_steps.STOP,
    restore_steps.CLEAR,
    restore_steps.SWAP_REPOSITORY,
    restore_steps.SWAP_SYNC,
    restore_steps.RECOVER,
)


def corrupt(set_dir: Path) -> Path:
    """Invert bytes in the middle of the set's largest file (a dump's data); its path."""
    # The manifest as written (the setup's own set: no need for read_manifest's checks).
    manifest = json.loads((set_dir / backupset.MANIFEST_NAME).read_text(encoding="utf-8"))
    entry = max(manifest["files"], key=lambda e: int(e["size"]))
    path: Path = set_dir / str(entry["path"])
    size = path.stat().st_size
    with path.open("r+b") as handle:
        handle.seek(max(0, size // 2 - FLIPPED // 2))
        chunk = handle.read(FLIPPED)
        handle.seek(max(0, size // 2 - FLIPPED // 2))
        handle.write(bytes(b ^ 0xFF for b in chunk))
    return path


async def _setup(layout: LabLayout, profile: Profile) -> None:
    await take_backup(profile)  # the night before
    corrupt(await take_backup(profile))  # last night's, damaged on the backup disk since


def set_verified(record: RunRecord, possible: int) -> Point:
    ok = grading.done(record, restore_steps.VERIFY)
    set_name = Path(str(record.header.get("backup_set", "?"))).name
    if ok:
        debrief = (
            f"The set restored, {set_name}, verified: every file's size and sha256 matched "
            "its manifest and pg_restore could list each dump."
        )
    else:
        errors = grading.step_errors(record, restore_steps.VERIFY)
        why = str(errors[-1].get("message", "")) if errors else "it was not verified"
        debrief = (
            f"The set {set_name} did not verify ({why.splitlines()[0]}): a damaged dump "
            "restores a database that is not the one backed up, or fails half-way after "
            "the live one was set aside. Choose the set of the night before, which verifies."
        )
    return Point(
        "set_verified",
        "Restored from a set that verified",
        possible if ok else 0,
        possible,
        debrief,
        grading.RESTORE_FROM_SET,
    )


def nothing_destroyed(record: RunRecord, possible: int) -> Point:
    """No live system was changed with a set that did not verify (an out-of-order
    override could have run them)."""
    verified = grading.done(record, restore_steps.VERIFY)
    ran = [step for step in CHANGING if step in record.step_started]
    ok = verified or not ran
    if verified:
        debrief = "The live systems were changed only after the set verified."
    elif not ran:
        debrief = (
            "Nothing was stopped, cleared or swapped with the damaged set: the live "
            "databases, the queue and the Sync Service are as they were."
        )
    else:
        debrief = (
            f"Steps that change the live systems ran ({', '.join(ran)}) although the set "
            "did not verify: the live databases or the queue were changed for a restore "
            "that cannot be trusted."
        )
    return Point(
        "nothing_destroyed",
        "Nothing changed with an unverified set",
        possible if ok else 0,
        possible,
        debrief,
        grading.RESTORE_FROM_SET,
    )


def _grade(record: RunRecord, facts: LabFacts) -> list[Point]:
    return [
        set_verified(record, 3),
        nothing_destroyed(record, 3),
        grading.databases_restored(record, 3),
        grading.no_drift(facts, 2),
        grading.within_time(record, TARGET_SECONDS),
    ]


CORRUPTED_SET = Scenario(
    id="corrupted-set",
    title="A corrupted backup set to catch before restoring",
    ticket=(
        "INC-3420: a faulty upgrade script deleted folders in the repository this morning; "
        "restore the Sync Service and the repository to a backup. The storage team "
        "reported checksum errors on the backup disk overnight; they could not say "
        "which files."
    ),
    difficulty=2,
    runbook=restore_steps.RUNBOOK,
    setup=_setup,
    grade=_grade,
    target_seconds=TARGET_SECONDS,
    situation=(
        "two backups were taken (the night before, last night); a file of last night's "
        "set was damaged on disk"
    ),
)
