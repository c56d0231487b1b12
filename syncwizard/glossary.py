"""The words the wizard's screens and the training debriefs use, each said once, plainly.

Shown under the keys on F1 (every screen) and after a debrief that uses a term. The
definitions follow ActiveMQ's own (QueueViewMBean's attributes, the web console's
columns) and Alfresco's procedure; ../shared/reference/domain.md has the sources.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    name: str
    meaning: str
    # Other ways a text says it (lower case), for finding the terms a debrief uses.
    aliases: tuple[str, ...] = ()

    def said_in(self, text: str) -> bool:
        lowered = text.lower()
        return any(
            re.search(rf"(?<![\w.-]){re.escape(word)}(?![\w-]|\.[\w<])", lowered)
            for word in (self.name.lower(), *self.aliases)
        )


TERMS: tuple[Term, ...] = (
    Term(
        "pending",
        "Events on the queue not yet acknowledged by a consumer, including those handed to "
        "one and still being processed (ActiveMQ's QueueSize, the console's 'Number Of "
        "Pending Messages'). Kept across a broker restart: it is read from the store.",
        ("pending events", "number of pending messages"),
    ),
    Term(
        "enqueued",
        "Events sent to the queue since the broker started ('Messages Enqueued'). Starts "
        "again at 0 when the broker restarts.",
        ("messages enqueued",),
    ),
    Term(
        "dequeued",
        "Events acknowledged and removed since the broker started ('Messages Dequeued'); "
        "a purge or an expiry counts too. Starts again at 0 when the broker restarts.",
        ("messages dequeued", "consumed"),
    ),
    Term(
        "in flight",
        "Events handed to a consumer and not yet acknowledged: still pending, already out "
        "of the broker's hands. A consumer prefetches up to thousands of them.",
        ("in-flight", "inflight"),
    ),
    Term(
        "consumer",
        "A client subscribed to the queue: the Sync Service, one per node. No consumer "
        "means nothing takes the events; they wait (pending).",
        ("consumers",),
    ),
    Term(
        "virtual topic",
        "The repository publishes each event once to a topic; the broker copies it into "
        "every existing queue named Consumer.<guid>.<topic>, the Sync Service's consumer "
        "queue. An event sent while that queue does not exist is lost for it.",
        ("consumer queue", "consumer.<guid>.<topic>", "sync queue"),
    ),
    Term(
        "t0",
        "The moment the repository database's backup is consistent (its snapshot). The "
        "Sync DB is backed up only once it has tracked every change up to t0.",
    ),
    Term(
        "drain",
        "Waiting until the Sync Service has consumed the events of the repository's changes "
        "up to t0. The procedure's criterion: Messages Dequeued equals Number Of Pending "
        "Messages; the wizard also needs a consumer and the counters moving past the "
        "baseline, never a clock alone.",
        ("drained", "drain criterion"),
    ),
    Term(
        "sync GUID",
        "The Sync Service's identity, kept in its database; it names its queue "
        "(Consumer.<guid>.<topic>). Every node of a cluster reports the same one.",
        ("sync guids", "guid", "guids"),
    ),
    Term(
        "-Drecover",
        "The Java option -Drecover=<repository admin>:<password> for ONE start of the Sync "
        "Service after a restore: during bootstrap it brings the Sync DB in line with the "
        "repository. Removed afterwards: the password is readable while it is set.",
        ("recover option", "recover start"),
    ),
    Term(
        "drift",
        "Nodes the repository DB and the Sync DB disagree on: live documents the Sync DB "
        "lacks, or nodes it holds that the repository removed. Sync clients see stale or "
        "ghost files.",
    ),
)


def terms_in(*texts: str) -> list[Term]:
    """The terms the texts use, in the glossary's order."""
    return [term for term in TERMS if any(term.said_in(text) for text in texts)]
