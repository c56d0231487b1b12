"""The live panels' poller against the real lab while the Sync Service is stopped, as a
restore leaves it: the queue is named by the health check, which no longer answers."""

from __future__ import annotations

from pathlib import Path

import pytest
from standin_support import plain_env, restore

from syncwizard.config import broker_password, load_settings
from syncwizard.lab import standin
from syncwizard.lab.layout import LabLayout
from syncwizard.status import StatusPoller

pytestmark = pytest.mark.integration


async def test_a_followed_queue_is_read_while_the_health_check_is_down(
    lab: LabLayout, lab_config: Path, lab_sync_id: str
) -> None:
    await restore(lab)
    profile = load_settings(lab_config, "lab", environ={}).profile
    queue = f"Consumer.{lab_sync_id}.VirtualTopic.alfresco.repo.events.nodes"
    standin.stop(lab)
    blind = StatusPoller(profile, broker_password(profile.broker))
    following = StatusPoller(profile, broker_password(profile.broker))
    try:
        following.follow_queue(queue, None)
        unknown, known = await blind.poll(), await following.poll()
    finally:
        await blind.aclose()
        await following.aclose()
        standin.start(lab, env=plain_env())
        await restore(lab)

    assert unknown.queue is None and known.health == () and unknown.health == ()
    assert "not known yet" in unknown.error_for("broker").message  # type: ignore[union-attr]
    assert known.queue is not None and known.queue.name == queue
    assert known.queue.consumers == 0  # the stand-in's consumer left with it
    assert known.error_for("broker") is None
