"""Two Sync Service cluster nodes reporting different sync GUIDs: the preflight refuses,
the odd node is taken out of health.other_nodes, and the backup goes on."""

from __future__ import annotations

from collections.abc import Mapping

from syncwizard.config import Profile
from syncwizard.lab import odd_node
from syncwizard.lab.layout import LabLayout
from syncwizard.runbook.backup import step_names as backup_steps
from syncwizard.runbook.journal import RunRecord
from syncwizard.train import grading
from syncwizard.train.model import LabFacts, Point, Scenario

# The odd node's GUID: another installation's (a node cloned from another cluster's
# image, its config.yml pointing at that cluster's Sync DB).
ODD_GUID = "7c1f3e2a-0d4b-4c55-9e1a-5b0c2d9f8e31"
TARGET_SECONDS = 600.0
MISMATCH = "different sync GUIDs"


async def _setup(layout: LabLayout, profile: Profile) -> None:
    odd_node.start(layout, ODD_GUID)


def _profile(layout: LabLayout) -> Mapping[str, Mapping[str, object]]:
    return {"health": {"other_nodes": [odd_node.url(layout)]}}


def mismatch_caught(record: RunRecord, possible: int) -> Point:
    """The preflight's refusal was met (the journal keeps it, naming both GUIDs)."""
    refusals = [
        str(error.get("message", ""))
        for error in grading.step_errors(record, backup_steps.PREFLIGHT)
        if MISMATCH in str(error.get("message", ""))
    ]
    if refusals:
        listing = "; ".join(line.strip() for line in refusals[0].splitlines()[1:])
        debrief = (
            f"The preflight refused: the nodes report different sync GUIDs ({listing}). A "
            "cluster shares one GUID and one queue, Consumer.<guid>.<topic>; a node with "
            "another one belongs to another installation (or points at another Sync DB). "
            "Take the odd node out of health.other_nodes, or fix its config.yml to use "
            "this cluster's Sync DB, before backing up."
        )
    else:
        debrief = (
            "The run never met the preflight's refusal: the nodes' GUIDs were not compared "
            "in this run."
        )
    return Point(
        "guid_mismatch",
        "Stopped at the sync GUID mismatch",
        possible if refusals else 0,
        possible,
        debrief,
        grading.BACKUP_GUID,
    )


def _grade(record: RunRecord, facts: LabFacts) -> list[Point]:
    return [
        mismatch_caught(record, 3),
        grading.finished(record, 4, grading.BACKUP_SYNC),
        grading.drain_criterion(record, 2),
        grading.within_time(record, TARGET_SECONDS),
    ]


CLUSTER_GUID_MISMATCH = Scenario(
    id="cluster-guid-mismatch",
    title="Two cluster nodes with different sync GUIDs",
    ticket=(
        "CHG-1063: a second Sync Service node, sync-2, was added to the cluster last week "
        "and the lab profile lists its health check in health.other_nodes. Take tonight's "
        "backup of the Sync Service. The help desk says some users' clients 'sync to a "
        "different server' since the node was added."
    ),
    difficulty=2,
    runbook=backup_steps.RUNBOOK,
    setup=_setup,
    grade=_grade,
    target_seconds=TARGET_SECONDS,
    situation=f"a second node answers the health check with the sync GUID {ODD_GUID}",
    profile_patch=_profile,
)
