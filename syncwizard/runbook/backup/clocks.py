"""Whose clock says what: t0 is read on the repository database server, JMS timestamps are
set on the repository host (its broker's clock is the one we can read), and the drain
samples are taken on this host. The drain margin is widened by the skew measured
between them, and the backup is refused when that skew is more than allowed.

Each reading of another host's clock is bracketed by this host's clock (`before`, `after`)
and may be truncated (`resolution`: Jolokia stamps its answers in whole seconds), so
every offset is an interval: the skew is at least the smallest magnitude in it (what
the refusal uses: a slow network never makes a refusal) and at most the largest (what
the margin is widened by: a coarse clock never narrows the margin).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from syncwizard.runbook.model import RefusedError

HOST = "this host's clock (the wizard's)"


def iso_ms(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class ClockReading:
    """One host's clock as read from here."""

    name: str  # "the broker (Jolokia at http://...)"
    reading: float  # epoch seconds by that host's clock
    before: float  # this host's clock just before asking
    after: float  # ... and just after the answer
    resolution: float = 0.0  # the reading is truncated to this many seconds

    @classmethod
    def here(cls) -> ClockReading:
        now = time.time()
        return cls(HOST, now, now, now)

    def offset(self) -> tuple[float, float]:
        """The smallest and largest (that clock - this host's clock) the reading allows."""
        return self.reading - self.after, self.reading + self.resolution - self.before

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "reading": self.reading,
            "reading_iso": iso_ms(self.reading),
            "before": self.before,
            "after": self.after,
            "resolution": self.resolution,
        }


@dataclass(frozen=True)
class Skew:
    """Between two clocks: `first` - `second` lies in [low, high]."""

    first: ClockReading
    second: ClockReading
    low: float
    high: float

    @classmethod
    def between(cls, first: ClockReading, second: ClockReading) -> Skew:
        first_low, first_high = first.offset()
        second_low, second_high = second.offset()
        return cls(first, second, first_low - second_high, first_high - second_low)

    @property
    def at_least(self) -> float:
        """The skew the measurement proves (0 when the interval holds 0)."""
        if self.low <= 0 <= self.high:
            return 0.0
        return min(abs(self.low), abs(self.high))

    @property
    def at_most(self) -> float:
        return max(abs(self.low), abs(self.high))

    def describe(self) -> str:
        ahead = "ahead of" if self.low + self.high > 0 else "behind"
        return (
            f"{self.first.name} reads {iso_ms(self.first.reading)} and {self.second.name} "
            f"{iso_ms(self.second.reading)}: the first is {ahead} the second by "
            f"{self.at_least:.1f} to {self.at_most:.1f} s"
        )


@dataclass(frozen=True)
class ClockCheck:
    """The skew of each other clock against the reference (the database server's), and
    the drain margin it makes: publish lag + the largest skew possible."""

    reference: ClockReading
    others: tuple[ClockReading, ...]
    allowed: float  # backup.clock_skew
    publish_lag: float  # backup.publish_lag

    @property
    def skews(self) -> tuple[Skew, ...]:
        return tuple(Skew.between(other, self.reference) for other in self.others)

    @property
    def skew(self) -> float:
        """The largest skew the readings allow: what the margin is widened by."""
        return max((s.at_most for s in self.skews), default=0.0)

    @property
    def margin(self) -> float:
        return self.publish_lag + self.skew

    def refuse_if_too_skewed(self) -> None:
        """RefusedError naming both clocks, the skew and the margin, when a skew proven by
        the readings exceeds backup.clock_skew."""
        beyond = [s for s in self.skews if s.at_least > self.allowed]
        if not beyond:
            return
        worst = max(beyond, key=lambda s: s.at_most)
        raise RefusedError(
            f"the clocks disagree: {'; '.join(s.describe() for s in beyond)}; more than "
            f"backup.clock_skew = "
            f"{self.allowed:g} s allows. t0 is read on {self.reference.name}, the events are "
            "stamped by the repository host and the queue is watched from here, so the drain "
            f"would need a margin of {self.publish_lag:g} s (backup.publish_lag) + "
            f"{worst.at_most:.1f} s (the skew) after t0, and a skew past the allowed one is "
            "a clock out of sync, not a margin to trust.",
            hint="synchronise the hosts' clocks (NTP: `chronyc tracking` or `timedatectl "
            "timesync-status` on each), then run `syncwizard backup` again; or, if this "
            f"skew is known and steady, raise backup.clock_skew to at least "
            f"{math.ceil(worst.at_most)} s (the drain then waits that much longer)",
            system="clock",
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "reference": self.reference.as_json(),
            "others": [other.as_json() for other in self.others],
            "skews": [
                {"of": s.first.name, "against": s.second.name, "low": s.low, "high": s.high}
                for s in self.skews
            ],
            "skew": self.skew,
            "allowed": self.allowed,
            "publish_lag": self.publish_lag,
            "margin": self.margin,
        }

    def summary(self) -> str:
        return (
            f"the clocks differ by up to {self.skew:.1f} s from {self.reference.name}: "
            f"the margin after t0 is {self.margin:.1f} s (backup.publish_lag "
            f"{self.publish_lag:g} s + the skew)"
        )
