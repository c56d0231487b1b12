"""Destination names of the Sync Service's events on the broker: the legacy virtual
topic's queues, and Sync 5.x's event2."""

from __future__ import annotations

LEGACY_TOPIC = "VirtualTopic.alfresco.repo.events.nodes"
EVENT2_TOPIC = "alfresco.repo.event2"
KNOWN_TOPICS = (LEGACY_TOPIC, EVENT2_TOPIC)


def sync_queue_name(sync_id: str, topic: str) -> str:
    """The Sync Service's queue on `topic`: `Consumer.<guid>.<topic>`."""
    return f"Consumer.{sync_id}.{topic}"


def topic_of_queue(queue: str) -> str:
    """`Consumer.<guid>.<topic>` -> `<topic>`."""
    parts = queue.split(".", 2)
    if len(parts) != 3 or parts[0] != "Consumer":
        raise ValueError(f"not a virtual-topic consumer queue: {queue!r}")
    return parts[2]
