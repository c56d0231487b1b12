"""Helpers for the stand-in and generator tests: the lab's databases, queue and health,
and `running_standin`, which hands each test a running, healthy, in-sync stand-in and
leaves it so for the session's other tests (recovering any drift a test left)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Literal, TypeVar, overload

import psycopg
import pytest

from syncwizard.clients.health import HealthClient
from syncwizard.clients.jolokia import JolokiaClient
from syncwizard.clients.names import sync_queue_name
from syncwizard.clients.results import HealthReport
from syncwizard.errors import SyncWizardError
from syncwizard.lab import broker, postgres, repository_control, standin
from syncwizard.lab.layout import HOST, LabLayout, read_settings


def admin_password(lab: LabLayout) -> str:
    return lab.repo_admin_password_file.read_text(encoding="utf-8").strip()


def plain_env() -> dict[str, str]:
    """Our environment without any recover option."""
    return {
        k: v for k, v in os.environ.items() if k not in ("JAVA_OPTS", "SYNCWIZARD_RECOVER_OPTION")
    }


def recover_env(option: str) -> dict[str, str]:
    return {**plain_env(), "SYNCWIZARD_RECOVER_OPTION": option}


def db(lab: LabLayout, which: Literal["repository", "sync"]) -> psycopg.Connection:
    return psycopg.connect(postgres.conninfo(lab, which), passfile=str(lab.pgpass), autocommit=True)


def stored_guid(lab: LabLayout) -> str:
    with db(lab, "sync") as sync:
        return str(sync.execute("SELECT guid FROM sync_service_id").fetchone()[0])  # type: ignore[index]


def sync_queue(lab: LabLayout) -> str:
    return sync_queue_name(stored_guid(lab), read_settings(lab).topic)


def jolokia(lab: LabLayout) -> JolokiaClient:
    password = lab.broker_password_file.read_text(encoding="utf-8").strip()
    return JolokiaClient(broker.jolokia_url(lab), "admin", password)


async def health(lab: LabLayout) -> HealthReport:
    url = f"https://{HOST}:{lab.ports.standin}/alfresco/healthcheck"
    async with HealthClient(url, ca_bundle=lab.cert_file) as client:
        return await client.fetch()


async def healthy(lab: LabLayout) -> HealthReport | None:
    """The health report if every check is healthy, else None."""
    try:
        report = await health(lab)
    except SyncWizardError:
        return None
    return report if report.healthy else None


async def pending(lab: LabLayout) -> int:
    async with jolokia(lab) as client:
        stats, _ = await client.read_stats(sync_queue(lab), None)
    return stats.pending


async def drained(lab: LabLayout) -> bool:
    return await pending(lab) == 0


def log_text(lab: LabLayout) -> str:
    return lab.log_file("standin").read_text(encoding="utf-8", errors="replace")


T = TypeVar("T")


@overload
async def eventually(
    probe: Callable[[], Awaitable[T | None]], what: str, timeout: float = ..., interval: float = ...
) -> T: ...


@overload
async def eventually(
    probe: Callable[[], T | None], what: str, timeout: float = ..., interval: float = ...
) -> T: ...


async def eventually(
    probe: Callable[[], object], what: str, timeout: float = 15.0, interval: float = 0.2
) -> object:
    """Call `probe()` (sync or async) until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        last = probe()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"{what} did not happen within {timeout:g} s (last: {last!r})")


async def restore(lab: LabLayout) -> None:
    """Database, broker, repository (idle) and stand-in up; the queue drained; no drift (a
    recover start if any)."""
    if not postgres.is_running(lab):
        postgres.start(lab)
    if not broker.is_running(lab):
        broker.start(lab)
    repository_control.start(lab)
    repository_control.set_rate(lab, 0)
    drift = postgres.node_drift(lab)
    if not drift.in_sync or not standin.is_running(lab):
        standin.stop(lab)
        option = f"-Drecover=admin:{admin_password(lab)}"
        standin.start(lab, env=plain_env() if drift.in_sync else recover_env(option))
    await eventually(lambda: healthy(lab), "the stand-in reporting healthy", timeout=20)
    await eventually(lambda: drained(lab), "the sync queue draining")
    await eventually(lambda: postgres.node_drift(lab).in_sync, "no drift")


@pytest.fixture
async def running_standin(lab: LabLayout) -> AsyncIterator[LabLayout]:
    await restore(lab)
    yield lab
    await restore(lab)
