"""The lab's repository node events: the JSON the generator publishes and the stand-in reads.

Body: `{"id": "<event uuid>", "type": "NODEADDED"|"NODEUPDATED"|"NODEREMOVED",
"nodeId": "<node uuid>", "name": "<name>", "timestamp": <epoch ms>}`.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

NODE_ADDED = "NODEADDED"
NODE_UPDATED = "NODEUPDATED"
NODE_REMOVED = "NODEREMOVED"
EVENT_TYPES = (NODE_ADDED, NODE_UPDATED, NODE_REMOVED)

HEADERS = {"persistent": "true", "content-type": "application/json"}


class BadEvent(ValueError):
    """A message body that is not a node event of the shape above."""


@dataclass(frozen=True)
class NodeEvent:
    id: str
    type: str
    node_id: str
    name: str
    timestamp_ms: int

    def to_json(self) -> str:
        return json.dumps(
            {
                "id": self.id,
                "type": self.type,
                "nodeId": self.node_id,
                "name": self.name,
                "timestamp": self.timestamp_ms,
            },
            separators=(",", ":"),
        )


def new_event(event_type: str, node_id: str, name: str, timestamp_ms: int) -> NodeEvent:
    return NodeEvent(str(uuid.uuid4()), event_type, node_id, name, timestamp_ms)


def _uuid_field(data: dict[str, object], key: str) -> str:
    value = data.get(key)
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise BadEvent(f"field {key!r} is not a UUID: {value!r}") from None


def parse_event(body: str) -> NodeEvent:
    """Parse and validate one event body; raise BadEvent saying what is wrong."""
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise BadEvent(f"not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    if not isinstance(data, dict):
        raise BadEvent(f"expected a JSON object, got {type(data).__name__}")
    event_type = data.get("type")
    if event_type not in EVENT_TYPES:
        raise BadEvent(f"field 'type' is {event_type!r}, expected one of {', '.join(EVENT_TYPES)}")
    timestamp = data.get("timestamp")
    if not isinstance(timestamp, int) or isinstance(timestamp, bool) or timestamp < 0:
        raise BadEvent(f"field 'timestamp' is {timestamp!r}, expected epoch milliseconds")
    name = data.get("name", "")
    if not isinstance(name, str):
        raise BadEvent(f"field 'name' is {name!r}, expected a string")
    return NodeEvent(
        id=_uuid_field(data, "id"),
        type=event_type,
        node_id=_uuid_field(data, "nodeId"),
        name=name,
        timestamp_ms=timestamp,
    )
