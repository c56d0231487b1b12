"""`syncwizard lab up` run again on a running lab: it starts nothing twice and puts the
secret files right."""

from __future__ import annotations

import pytest
from standin_support import healthy, jolokia, sync_queue

from syncwizard.lab import process, stack
from syncwizard.lab.layout import LabLayout

pytestmark = pytest.mark.integration


def configured_broker_password(lab: LabLayout) -> str:
    """What the broker's own configuration says (the Jolokia agent's users file)."""
    users = (lab.broker_dir / "conf" / "jolokia-users.properties").read_text("utf-8")
    return users.strip().partition("=")[2]


async def test_lab_up_again_rewrites_a_stale_broker_password_file(lab: LabLayout) -> None:
    pids = {part: process.running_pid(lab, part) for part in ("broker", "standin")}
    admin_password = lab.repo_admin_password_file.read_text()
    lab.broker_password_file.write_text("left-by-an-older-lab\n")
    try:
        stack.up(lab)
    finally:
        if lab.broker_password_file.read_text() == "left-by-an-older-lab\n":
            lab.broker_password_file.write_text(configured_broker_password(lab) + "\n")
    assert lab.broker_password_file.read_text() == configured_broker_password(lab) + "\n"
    assert lab.repo_admin_password_file.read_text() == admin_password
    assert {part: process.running_pid(lab, part) for part in pids} == pids  # nothing restarted
    async with jolokia(lab) as client:  # reads the file: the broker takes it
        stats, _ = await client.read_stats(sync_queue(lab), None)
    assert stats.consumers >= 1
    assert await healthy(lab)
