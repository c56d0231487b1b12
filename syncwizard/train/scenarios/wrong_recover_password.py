"""The wrong repository admin password for -Drecover: caught at the start, typed again."""

from __future__ import annotations

from typing import Any

from syncwizard.config import Profile
from syncwizard.lab.layout import LabLayout
from syncwizard.runbook.journal import RunRecord
from syncwizard.runbook.restore import step_names as restore_steps
from syncwizard.train import grading
from syncwizard.train.model import LabFacts, Point, Scenario
from syncwizard.train.scenarios.common import take_backup

TARGET_SECONDS = 900.0
# What the lab's Sync Service stand-in (like the repository it asks) says about them.
REFUSED_CREDENTIALS = "wrong repository admin credentials"


async def _setup(layout: LabLayout, profile: Profile) -> None:
    await take_backup(profile)


def refused_starts(record: RunRecord) -> list[dict[str, Any]]:
    """The -Drecover starts the repository refused for their credentials."""
    return [
        error
        for error in grading.step_errors(record, restore_steps.RECOVER)
        if REFUSED_CREDENTIALS in str(error.get("message", ""))
    ]


def _password_checked(record: RunRecord) -> Point:
    refused = len(refused_starts(record))
    ok = refused <= 1
    if refused == 0:
        debrief = "The recover start was never refused for its credentials."
    elif ok:
        debrief = (
            "The first -Drecover start was refused: the repository did not accept the admin "
            "password, the stand-in exited and the run stopped at that step with nothing "
            "reconciled. You looked the current password up before starting it again."
        )
    else:
        debrief = (
            f"{refused} -Drecover starts were refused for wrong credentials: each is a failed "
            "admin login on the repository (its brute-force protection may lock the account) "
            "and a Sync Service start for nothing. After the first refusal, find the current "
            "password (the vault, the admin who rotated it) before trying again."
        )
    return Point(
        "password_checked",
        "The wrong password was tried only once",
        2 if ok else 0,
        2,
        debrief,
        grading.RESTORE_RECOVER,
    )


def _recovered(record: RunRecord) -> Point:
    ok = grading.done(record, restore_steps.RECOVER)
    return Point(
        "recovered",
        "The -Drecover start ran with the right password",
        4 if ok else 0,
        4,
        "The Sync Service started with -Drecover and the repository admin's current "
        "password, reconciled with the restored repository and became healthy."
        if ok
        else "The Sync Service never started with -Drecover and the right password: nothing "
        "reconciled it with the restored repository, and Sync clients stay without a service.",
        grading.RESTORE_RECOVER,
    )


def _grade(record: RunRecord, facts: LabFacts) -> list[Point]:
    return [
        _password_checked(record),
        _recovered(record),
        grading.recover_removed(record, 2),
        grading.no_drift(facts, 3),
        grading.gates_read(record, 2),
        grading.within_time(record, TARGET_SECONDS),
    ]


WRONG_RECOVER_PASSWORD = Scenario(
    id="wrong-recover-password",
    title="The wrong recover password",
    ticket=(
        "INC-3420: the Sync DB's disk failed overnight; storage is replaced. Restore last "
        "night's backup of the repository and the Sync Service. The on-call wiki lists the "
        "repository admin's password, but the admins rotated it last month: the current one "
        "is in the lab's secrets folder (the team's vault)."
    ),
    difficulty=1,
    runbook=restore_steps.RUNBOOK,
    setup=_setup,
    grade=_grade,
    target_seconds=TARGET_SECONDS,
    situation="last night's backup was taken; the trap is the password the trainee types",
)
