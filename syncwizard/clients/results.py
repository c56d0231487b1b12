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
class Session:
    """A connection to a database other than ours (pg_stat_activity)."""

    pid: int
    user: str
    application: str
    client: str
    state: str


@dataclass(frozen=True)
class DatabaseFacts:
    name: str
    server_version: str  # e.g. "15.18"
    server_major: int
    size_bytes: int
    sessions: tuple[Session, ...] = field(default=())

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
