"""The backup volume fills during a backup: a core dump lands on it between the
repository's dump and the Sync DB's. The run stops on the full disk with the partial dump
removed; once space is freed the step is resumed and the set sealed whole."""

from __future__ import annotations

from pathlib import Path

from syncwizard.config import Profile
from syncwizard.lab import volume
from syncwizard.lab.layout import LabLayout
from syncwizard.runbook import backupset
from syncwizard.runbook.backup import step_names as backup_steps
from syncwizard.runbook.journal import RunRecord
from syncwizard.runbook.model import StepState
from syncwizard.train import grading
from syncwizard.train.model import Fault, LabFacts, Point, Scenario

# Room for the lab's set (a few MiB compressed) with the preflight's margin, small enough
# to fill in a blink.
VOLUME_MIB = 16
BALLAST_NAME = "core.batch-export.4711"  # a crashed job's core dump, written beside the sets
TARGET_SECONDS = 600.0


def ballast(layout: LabLayout) -> Path | None:
    """The ballast on the scenario's volume (None when no volume is mounted)."""
    points = volume.mounted(layout)
    return points[0] / BALLAST_NAME if points else None


async def _setup(layout: LabLayout, profile: Profile) -> None:
    volume.mount_small(layout, Path(profile.backup.dir), VOLUME_MIB)


def _fill(layout: LabLayout) -> None:
    path = ballast(layout)
    if path is not None:
        volume.fill(path)


def set_sealed(record: RunRecord, possible: int) -> Point:
    """The set on disk is sealed (its manifest written) and holds no unfinished file."""
    set_dir = Path(str(record.header.get("backup_set", "")))
    sealed = (set_dir / backupset.MANIFEST_NAME).is_file()
    leftovers = backupset.leftover_partials(set_dir) if set_dir.is_dir() else []
    ok = grading.done(record, backup_steps.SEAL) and sealed and not leftovers
    if ok:
        debrief = f"The set {set_dir.name} is sealed: its manifest lists every dump, whole."
    elif set_dir.is_dir():
        held = sorted(p.name for p in set_dir.iterdir())
        debrief = (
            f"The set folder {set_dir} has no manifest"
            + (f" and {len(leftovers)} unfinished file(s)" if leftovers else "")
            + f" (it holds: {', '.join(held) or 'nothing'}): no restore can choose it, and "
            "a repository dump without the Sync DB dump taken after it is no backup of the "
            "Sync Service. Free the volume and resume the run, or remove the folder."
        )
    else:
        debrief = f"The set folder {set_dir} is gone: the run left no backup."
    return Point(
        "sealed",
        "The set is sealed and whole",
        possible if ok else 0,
        possible,
        debrief,
        grading.BACKUP_DUMPS,
    )


def resumed_after_full_disk(record: RunRecord, possible: int) -> Point:
    """The dump the full disk stopped was run again in the same run, once space was freed:
    the repository dump and the drain already done were kept."""
    full = [
        e for e in grading.step_errors(record, backup_steps.SYNC) if e.get("system") == "backup_dir"
    ]
    resumed = grading.done(record, backup_steps.SYNC)
    ok = bool(full) and resumed
    if ok:
        debrief = (
            f"The Sync DB dump stopped on the full volume ({full[0].get('message')}); after "
            "space was freed the same run resumed at that step: the repository dump and "
            "the wait already done were kept, and the Sync DB dump is still after them."
        )
    elif full:
        debrief = (
            f"The Sync DB dump stopped on the full volume ({full[0].get('message')}) and "
            "the run was left there. Find what filled it (`du -sh` on the backup folder: a "
            "core dump here), free it, and run the step again: the run resumes where it "
            "stopped."
        )
    else:
        debrief = "The run never met the full volume (the fault did not fire)."
    return Point(
        "resumed",
        "The failed dump resumed after freeing space",
        possible if ok else 0,
        possible,
        debrief,
        grading.BACKUP_SYNC,
    )


def _grade(record: RunRecord, facts: LabFacts) -> list[Point]:
    return [
        grading.finished(record, 4, grading.BACKUP_DUMPS),
        set_sealed(record, 3),
        resumed_after_full_disk(record, 2),
        grading.within_time(record, TARGET_SECONDS),
    ]


BACKUP_VOLUME_FULL = Scenario(
    id="backup-volume-full",
    title="The backup volume fills during a backup",
    ticket=(
        "CHG-1057: take the Sync Service backup before tonight's patch. The backup volume "
        "is small and shared: a batch job that crashes writes its core dump there. The "
        "set must be whole and sealed before the patch starts; the change window is short."
    ),
    difficulty=2,
    runbook=backup_steps.RUNBOOK,
    setup=_setup,
    grade=_grade,
    faults=(
        # At the wait, not the Sync DB dump: `train run` sees the trainee's steps through
        # the journal a poll later, and the lab's Sync DB dump takes a fraction of a second;
        # the wait lasts seconds, so the volume is full when the dump starts.
        Fault(
            backup_steps.WAIT,
            StepState.RUNNING,
            f"a core dump ({BALLAST_NAME}) fills the backup volume while the wizard waits "
            "for the Sync Service",
            _fill,
        ),
    ),
    target_seconds=TARGET_SECONDS,
    situation=f"a {VOLUME_MIB} MiB volume (tmpfs) is mounted on the backup folder; a fault waits",
)
