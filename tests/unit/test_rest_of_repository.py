"""What the restore says about the rest of the repository and the set's age: the Sync
Service's version from its health check, a span of time in words."""

from __future__ import annotations

import pytest

from syncwizard import units
from syncwizard.clients.results import HealthCheck, HealthReport


def report(version_message: str | None) -> HealthReport:
    checks: tuple[HealthCheck, ...] = (HealthCheck("syncServiceIdCheck", True, "guid"),)
    if version_message is not None:
        checks += (HealthCheck("versionCheck", True, version_message),)
    return HealthReport("https://sync:9090/alfresco/healthcheck", 200, checks, "guid", 0.0)


@pytest.mark.parametrize(
    ("message", "version"),
    [
        ("    3.10.0 (2023-04-28T12:18:27Z)", "3.10.0"),  # Sync 3.10+: leading spaces
        ("5.0.0", "5.0.0"),
        ("", ""),
        (None, ""),
    ],
)
def test_the_sync_services_version_is_read_from_its_version_check(
    message: str | None, version: str
) -> None:
    assert report(message).version == version


@pytest.mark.parametrize(
    ("seconds", "said"),
    [(30, "0 min"), (7 * 60, "7 min"), (5 * 3600 + 12 * 60, "5 h 12 min"), (76 * 3600, "3 d 4 h")],
)
def test_a_long_span_is_said_in_days_hours_or_minutes(seconds: float, said: str) -> None:
    assert units.duration(seconds) == said
