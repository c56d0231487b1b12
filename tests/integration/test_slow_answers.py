"""A server that answers a byte at a time: the timeout bounds the whole call, never per read.

httpx's timeouts apply to each read, so a server sending its headers and then one byte
every half second never trips them; without an overall deadline `syncwizard status` and
`syncwizard backup --yes` (from cron) hung forever. Each call below is guarded by a
wall-clock limit far above its configured timeout, so a missing deadline fails the test
instead of hanging it.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

import pytest
from trickle_server import TrickleServer, trickling

from syncwizard.clients.health import HealthClient
from syncwizard.clients.jolokia import JolokiaClient
from syncwizard.errors import SyncWizardError

pytestmark = pytest.mark.integration

HEALTH_JSON = (Path(__file__).parents[1] / "fixtures" / "health" / "sync-2023.json").read_bytes()
# What Jolokia answers to the search for the broker MBean.
BROKER_SEARCH = json.dumps(
    {"status": 200, "value": ["org.apache.activemq:type=Broker,brokerName=localhost"]}
).encode()
TIMEOUT = 2.0
GUARD = 30.0  # far above TIMEOUT: only a missing deadline comes near it
T = TypeVar("T")


async def guarded(call: Awaitable[T]) -> tuple[T, float]:
    """The call's result and how long it took; fails the test if it outlives GUARD."""
    started = time.monotonic()
    try:
        result = await asyncio.wait_for(call, GUARD)
    except TimeoutError:
        pytest.fail(f"the call was still running after {GUARD:g} s (timeout {TIMEOUT:g} s)")
    return result, time.monotonic() - started


async def health_error(url: str) -> tuple[SyncWizardError, float]:
    async def fetch() -> SyncWizardError:
        async with HealthClient(url, timeout=TIMEOUT) as client:
            with pytest.raises(SyncWizardError) as caught:
                await client.fetch()
        return caught.value

    return await guarded(fetch())


async def jolokia_error(url: str) -> tuple[SyncWizardError, float]:
    async def ask() -> SyncWizardError:
        async with JolokiaClient(url, "admin", "secret", timeout=TIMEOUT) as client:
            with pytest.raises(SyncWizardError) as caught:
                await client.broker_name()
        return caught.value

    return await guarded(ask())


def assert_gave_up_at_the_deadline(took: float) -> None:
    assert took >= TIMEOUT * 0.9, f"gave up after {took:.2f} s, before the {TIMEOUT:g} s deadline"
    assert took < TIMEOUT + 8, f"took {took:.2f} s with a {TIMEOUT:g} s deadline"


async def test_a_health_check_trickling_its_answer_fails_at_the_deadline() -> None:
    with trickling(HEALTH_JSON) as server:
        url = server.url("/alfresco/healthcheck")
        error, took = await health_error(url)

    assert_gave_up_at_the_deadline(took)
    assert error.system == "health"
    assert f"The Sync Service at {url} answered too slowly" in error.message
    assert "within the 2 s deadline (health.timeout" in error.message
    assert "raise health.timeout" in error.hint and "overloaded" in error.hint


async def test_a_health_check_trickling_its_headers_fails_at_the_deadline() -> None:
    with trickling(HEALTH_JSON, mode="headers") as server:
        url = server.url("/alfresco/healthcheck")
        error, took = await health_error(url)

    assert_gave_up_at_the_deadline(took)
    assert error.system == "health" and url in error.message
    assert "no answer within 2 s, the deadline set by health.timeout" in error.message
    assert "raise health.timeout" in error.hint


async def test_after_a_slow_answer_the_next_poll_reads_the_health_check() -> None:
    with trickling(HEALTH_JSON) as server:
        async with HealthClient(server.url("/alfresco/healthcheck"), timeout=TIMEOUT) as client:
            with pytest.raises(SyncWizardError, match="answered too slowly"):
                await guarded(client.fetch())
            server.mode = "normal"
            report, _ = await guarded(client.fetch())

    assert report.sync_id == "0abd879e-bdc0-30be-8622-86e3f71f59a6"
    assert server.requests == 2


async def test_jolokia_trickling_its_answer_fails_at_the_deadline() -> None:
    with trickling(BROKER_SEARCH) as server:
        url = server.url("/api/jolokia")
        error, took = await jolokia_error(url)

    assert_gave_up_at_the_deadline(took)
    assert error.system == "broker"
    assert f"Jolokia at {url} answered too slowly" in error.message
    assert "within the 2 s deadline (broker.timeout" in error.message
    assert "raise broker.timeout" in error.hint


async def test_jolokia_trickling_its_headers_fails_at_the_deadline() -> None:
    with trickling(BROKER_SEARCH, mode="headers") as server:
        url = server.url("/api/jolokia")
        error, took = await jolokia_error(url)

    assert_gave_up_at_the_deadline(took)
    assert f"Jolokia at {url} did not answer within 2 s (the deadline set by broker.timeout)" in (
        error.message
    )


async def test_after_a_slow_answer_the_next_jolokia_request_is_answered() -> None:
    with trickling(BROKER_SEARCH) as server:
        async with JolokiaClient(server.url("/api/jolokia"), "admin", "x", timeout=TIMEOUT) as c:
            with pytest.raises(SyncWizardError, match="answered too slowly"):
                await guarded(c.broker_name())
            server.mode = "normal"
            name, _ = await guarded(c.broker_name())

    assert name == "localhost"


# --- through the command line --------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def write_config(tmp_path: Path, health: TrickleServer, jolokia_url: str) -> Path:
    """A profile whose health check (and Jolokia) are the given servers; no database runs."""
    down = closed_port()
    path = tmp_path / "slow.toml"
    path.write_text(
        f"""
[profiles.slow.health]
url = "{health.url("/alfresco/healthcheck")}"
timeout = {TIMEOUT}
[profiles.slow.broker]
jolokia_url = "{jolokia_url}"
timeout = {TIMEOUT}
[profiles.slow.repository_db]
conninfo = "host=127.0.0.1 port={down} dbname=alfresco user=alfresco"
[profiles.slow.sync_db]
conninfo = "host=127.0.0.1 port={down} dbname=syncservice user=sync"
[profiles.slow.backup]
dir = "{tmp_path / "backups"}"
""",
        encoding="utf-8",
    )
    return path


def syncwizard(config: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {**os.environ, "SYNCWIZARD_CONFIG": str(config), "SYNCWIZARD_BROKER_PASSWORD": "pw"}
    started = time.monotonic()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "syncwizard", *args, "--profile", "slow"],
            capture_output=True,
            text=True,
            timeout=GUARD,
            env=env,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"`syncwizard {' '.join(args)}` still ran after {GUARD:g} s")
    return result, time.monotonic() - started


def error_of(report: dict[str, object], system: str) -> dict[str, str]:
    errors = report["errors"]
    assert isinstance(errors, list)
    found: list[dict[str, str]] = [e for e in errors if e["system"] == system]
    (error,) = found
    return error


def test_status_against_a_trickling_health_check_exits_2_in_bounded_time(
    tmp_path: Path,
) -> None:
    with trickling(HEALTH_JSON) as health:
        config = write_config(tmp_path, health, f"http://127.0.0.1:{closed_port()}/api/jolokia")
        result, _ = syncwizard(config, "status", "--json")

    assert result.returncode == 2, result.stderr
    error = error_of(json.loads(result.stdout), "health")
    assert "answered too slowly" in error["message"]
    assert health.url("/alfresco/healthcheck") in error["message"]
    assert "2 s deadline" in error["message"] and error["hint"]
    assert "Traceback" not in result.stderr


def test_status_against_a_trickling_jolokia_exits_2_in_bounded_time(tmp_path: Path) -> None:
    with trickling(HEALTH_JSON) as health, trickling(BROKER_SEARCH) as jolokia:
        health.mode = "normal"
        config = write_config(tmp_path, health, jolokia.url("/api/jolokia"))
        result, _ = syncwizard(config, "status", "--json")

    assert result.returncode == 2, result.stderr
    report = json.loads(result.stdout)
    assert report["sync_id"] == "0abd879e-bdc0-30be-8622-86e3f71f59a6"
    error = error_of(report, "broker")
    assert f"Jolokia at {jolokia.url('/api/jolokia')} answered too slowly" in error["message"]
    assert "2 s deadline" in error["message"] and error["hint"]


def test_a_cron_backup_against_a_trickling_health_check_fails_in_bounded_time(
    tmp_path: Path,
) -> None:
    with trickling(HEALTH_JSON) as health:
        config = write_config(tmp_path, health, f"http://127.0.0.1:{closed_port()}/api/jolokia")
        result, _ = syncwizard(config, "backup", "--yes")

    assert result.returncode == 2, result.stdout + result.stderr
    assert "answered too slowly" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
