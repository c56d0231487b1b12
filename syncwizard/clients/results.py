"""Typed results of the clients: small frozen records, shared by status, runbook and TUI."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# A line of a failing command's output that says why (the others are often hints).
_SAYS_WHY = re.compile(r"error|fail|refused|denied|cannot|can't|not found|no such", re.I)


@dataclass(frozen=True)
class HealthCheck:
    """One named check of the Sync Service health endpoint."""

    name: str
    healthy: bool | None  # None when the service says "unknown" (Sync 2.1)
    message: str = ""


@dataclass(frozen=True)
class HealthReport:
    """The parsed health JSON of one Sync Service node."""

    url: str
    http_status: int
    checks: tuple[HealthCheck, ...]
    sync_id: str
    fetched_at: float  # time.time() when the answer arrived
    duration_ms: float | None = None  # the 2023 shape only
    timestamp: str | None = None  # the 2023 shape only

    @property
    def healthy(self) -> bool:
        return all(check.healthy for check in self.checks)

    def check(self, name: str) -> HealthCheck | None:
        return next((c for c in self.checks if c.name == name), None)

    @property
    def version(self) -> str:
        """The Sync Service's version from `versionCheck` ("    3.10.0 (2023-04-28...)"
        -> "3.10.0"); "" when it does not say."""
        check = self.check("versionCheck")
        words = check.message.split() if check else []
        return words[0] if words else ""


@dataclass(frozen=True)
class QueueStats:
    """Counters of one queue, as the ActiveMQ console shows them."""

    name: str
    pending: int  # QueueSize: "Number Of Pending Messages"
    enqueued: int
    dequeued: int
    in_flight: int
    consumers: int


@dataclass(frozen=True)
class TopicStats:
    name: str
    enqueued: int
    consumers: int = 0


@dataclass(frozen=True)
class Subscriber:
    """Something besides the sync queue that takes a copy of the topic's events."""

    name: str  # a `Consumer.<id>.<topic>` queue, or a durable subscription `client/name`
    kind: str  # "queue", "durable subscription", "inactive durable subscription"
    consumers: int = 0
    pending: int | None = None  # a queue's QueueSize (unknown for a subscription)

    @property
    def orphaned(self) -> bool:
        """A queue nobody consumes that holds events: it keeps collecting every event of
        the topic until the broker's flow control blocks the producer (the repository)."""
        return self.kind == "queue" and self.consumers == 0 and bool(self.pending)

    def describe(self) -> str:
        held = f", {self.pending:,} pending" if self.pending is not None else ""
        who = f"{self.consumers} consumer{'s' if self.consumers != 1 else ''}"
        return f"{self.kind} {self.name} ({who}{held})"


@dataclass(frozen=True)
class TopicSubscribers:
    """Who takes the topic's events besides the sync queue: other `Consumer.*.<topic>`
    queues (another Sync Service, or one whose installation is gone), durable
    subscriptions (Search Enterprise live indexing, audit, extensions), and plain
    subscribers attached to the topic right now."""

    topic: str
    others: tuple[Subscriber, ...] = ()
    topic_consumers: int = 0  # the topic's ConsumerCount (its durable subscriptions included)

    @property
    def orphans(self) -> tuple[Subscriber, ...]:
        return tuple(s for s in self.others if s.orphaned)

    @property
    def alone(self) -> bool:
        """The sync queue is the topic's only subscriber: deleting the topic harms nobody."""
        return not self.others and not self.topic_consumers

    def describe(self) -> str:
        parts = [s.describe() for s in self.others]
        # The topic's ConsumerCount counts its durable subscriptions, inactive ones too.
        durable = sum(1 for s in self.others if "durable" in s.kind)
        if (plain := self.topic_consumers - durable) > 0:
            parts.append(f"{plain} subscriber{'s' if plain != 1 else ''} attached to the topic")
        return "; ".join(parts) if parts else "none"


@dataclass(frozen=True)
class Session:
    """A connection to a database other than ours (pg_stat_activity)."""

    pid: int
    user: str
    application: str
    client: str
    state: str


NOT_READ = "not read: vendor's backup"


@dataclass(frozen=True)
class DatabaseFacts:
    name: str
    server_version: str  # e.g. "15.18"
    server_major: int
    size_bytes: int
    sessions: tuple[Session, ...] = field(default=())
    product: str = "PostgreSQL"  # or "MariaDB", "MySQL"; "Oracle", "SQL Server" (not read)
    # False for a database syncwizard never connects to (Oracle, SQL Server: backed up with
    # the vendor's tools): only its name and product are known.
    read: bool = True

    @property
    def connections(self) -> int:
        return len(self.sessions)


@dataclass(frozen=True)
class CommandResult:
    """A finished service command; `output` has every secret masked."""

    command: str  # the template as configured, secrets masked
    exit_code: int
    output: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def failure(self, what: str) -> str:
        """'<what> `command` exited with N: <the line of its output that says why>' (the
        last line naming an error, else its last line; no output, no reason)."""
        lines = [line.strip() for line in self.output.splitlines() if line.strip()]
        telling = [line for line in lines if _SAYS_WHY.search(line)]
        said = f"{what} `{self.command}` exited with {self.exit_code}"
        return f"{said}: {(telling or lines)[-1]}" if lines else said


@dataclass(frozen=True)
class Progress:
    """Where a pg_dump or pg_restore run is; reported several times a second."""

    tool: str  # "pg_dump" or "pg_restore"
    phase: str  # "starting", "schema", "data", "indexes" (pg_restore), "finishing", "done"
    current_object: str  # e.g. "public.alf_node" while its rows are copied
    bytes_written: int  # pg_dump: size of the output; pg_restore: COPY bytes loaded
    tuples_done: int  # rows copied so far (pg_stat_progress_copy; 0 before PG14)
    # pg_dump: the sum of pg_class.reltuples, an estimate; a finished dump reports
    # tuples_done >= tuples_total, as tables too quick to sample were copied whole.
    # pg_restore: the rows the caller expects (a manifest's row counts), if it gave them.
    tuples_total: int | None
    lines: tuple[str, ...]  # the tool's stderr lines that arrived since the last report
    elapsed: float
    estimated: bool = False  # tuples_done is an estimate (mariadb-dump's, from samples)

    @property
    def rows_done(self) -> str:
        """tuples_done as shown: `~1,234` when estimated."""
        return f"{'~' if self.estimated else ''}{self.tuples_done:,}"
