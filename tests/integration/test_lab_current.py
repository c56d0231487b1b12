"""The `current` lab flavour and the wizard's clients on it: real ActiveMQ with Jolokia's real
restrictor enforcing ActiveMQ's hardened policy, no STOMP, the Sync stand-in on plain HTTP."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from current_lab_fixture import CURRENT_LAB_TEST_PORTS
from standin_support import plain_env

from syncwizard.clients.health import HealthClient
from syncwizard.clients.jolokia import JolokiaClient, PolicyRefusal, destination_mbean
from syncwizard.clients.names import EVENT2_TOPIC, sync_queue_name
from syncwizard.clients.stomp_session import StompTarget, probe
from syncwizard.config import load_settings
from syncwizard.errors import SyncWizardError
from syncwizard.lab import broker, stack
from syncwizard.lab.layout import CURRENT, HOST, LabLayout, read_settings

pytestmark = pytest.mark.integration

ADMIN, PASSWORD = broker.LAB_BROKER_USER, broker.LAB_BROKER_PASSWORD


def health_url(lab: LabLayout, path: str = "/alfresco/healthcheck") -> str:
    return f"http://{HOST}:{lab.ports.standin}{path}"


@pytest.fixture
async def jolokia(current_lab: LabLayout) -> AsyncIterator[JolokiaClient]:
    async with JolokiaClient(broker.jolokia_url(current_lab), ADMIN, PASSWORD) as client:
        yield client


@pytest.fixture
async def sync_id(current_lab: LabLayout) -> str:
    async with HealthClient(health_url(current_lab)) as client:
        return (await client.fetch()).sync_id


def record_posts(client: JolokiaClient, monkeypatch: pytest.MonkeyPatch) -> list[httpx.Request]:
    """Every HTTP request the client sends from now on."""
    sent: list[httpx.Request] = []
    original = client._client.send

    async def recording_send(request: httpx.Request, **kwargs: Any) -> httpx.Response:
        sent.append(request)
        return await original(request, **kwargs)

    monkeypatch.setattr(client._client, "send", recording_send)
    return sent


# --- the Sync stand-in: plain HTTP, Sync 5.x's JSON, the proxy path ---------------------------


@pytest.mark.parametrize("path", ["/alfresco/healthcheck", "/syncservice/healthcheck"])
async def test_the_health_client_reads_sync_5_over_plain_http(
    current_lab: LabLayout, path: str
) -> None:
    async with HealthClient(health_url(current_lab, path)) as client:
        report = await client.fetch()

    assert report.http_status == 200 and report.healthy is True
    assert len(report.sync_id) == 36
    version = report.check("versionCheck")
    assert version is not None and version.message == "5.3.5 (syncwizard lab stand-in)"
    # Sync 5.x stamps each check with its duration and time.
    assert report.duration_ms is not None and report.timestamp is not None
    assert report.timestamp.endswith("Z")


async def test_the_raw_answer_keeps_sync_5_s_leading_spaces(current_lab: LabLayout) -> None:
    async with httpx.AsyncClient() as raw:
        answer = (await raw.get(health_url(current_lab, "/syncservice/healthcheck"))).json()

    assert answer["versionCheck"]["message"] == "    5.3.5 (syncwizard lab stand-in)"
    assert {"duration", "timestamp"} <= set(answer["activeMQConnection"])


async def test_an_https_url_on_the_plain_http_service_says_it_serves_http(
    current_lab: LabLayout,
) -> None:
    url = health_url(current_lab).replace("http://", "https://")
    async with HealthClient(url, fingerprint="ab" * 32) as client:
        with pytest.raises(SyncWizardError) as caught:
            await client.fetch()

    assert "TLS handshake" in caught.value.message and url in caught.value.message
    assert "plain http" in caught.value.hint


async def test_the_stand_in_consumes_the_event2_queue(jolokia: JolokiaClient, sync_id: str) -> None:
    queue = await jolokia.find_sync_queue(sync_id)

    assert queue == sync_queue_name(sync_id, EVENT2_TOPIC)
    stats, _ = await jolokia.read_stats(queue, EVENT2_TOPIC)
    assert stats.consumers >= 1


# --- the broker: its name discovered, browse allowed, GET refused -----------------------------


async def test_the_broker_name_is_discovered_not_assumed(jolokia: JolokiaClient) -> None:
    assert await jolokia.broker_name() == broker.CURRENT_BROKER_NAME != "localhost"


async def test_browsing_stays_allowed(jolokia: JolokiaClient, sync_id: str) -> None:
    queue = sync_queue_name(sync_id, EVENT2_TOPIC)
    oldest = await jolokia.oldest_pending_timestamp(queue)  # an exec of browse()

    assert oldest is None or oldest > 0


async def test_jolokia_refuses_get_and_the_client_only_posts(
    current_lab: LabLayout, jolokia: JolokiaClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = broker.jolokia_url(current_lab)
    async with httpx.AsyncClient(auth=(ADMIN, PASSWORD)) as raw:
        answer = (await raw.get(f"{url}/version", headers={"Origin": jolokia.origin})).json()
    assert answer["status"] == 403
    assert "HTTP method get is not allowed" in answer["error"]
    assert "stacktrace" not in answer  # allowErrorDetails=false, as ActiveMQ's web.xml sets

    sent = record_posts(jolokia, monkeypatch)
    await jolokia.list_destinations()
    assert sent and {request.method for request in sent} == {"POST"}


# --- every refusal of the hardened policy, as the broker states it ----------------------------

DESTINATION_POLICY = "org.apache.activemq:type=Broker,brokerName=*,destinationType=*"


async def _refused(client: JolokiaClient, name: str, queue: str) -> None:
    """Ask for the operation `name` the way the wizard (or an admin's script) would."""
    queue_mbean = destination_mbean(await client.broker_name(), "Queue", queue)
    if name == "purge":
        await client.purge(queue)
    elif name == "removeQueue":
        await client.remove_queue(queue)
    elif name == "removeTopic":
        await client.remove_topic(EVENT2_TOPIC)
    elif name == "addQueue":
        await client.add_queue(f"{queue}.copy")
    else:
        signature = {
            "removeMessage": ("removeMessage(java.lang.String)", ["ID:none"]),
            "moveMessageTo": ("moveMessageTo(java.lang.String,java.lang.String)", ["ID:x", "Q"]),
            "copyMessageTo": ("copyMessageTo(java.lang.String,java.lang.String)", ["ID:x", "Q"]),
            "removeMatchingMessages": ("removeMatchingMessages(java.lang.String)", ["1=1"]),
        }[name]
        payload = {"type": "exec", "mbean": queue_mbean, "operation": signature[0]}
        await client.request({**payload, "arguments": signature[1]}, f"{name} on {queue}")


@pytest.mark.parametrize(
    ("name", "on_destination"),
    [
        ("purge", True),
        ("removeMessage", True),
        ("removeMatchingMessages", True),
        ("moveMessageTo", True),
        ("copyMessageTo", True),
        ("removeQueue", False),
        ("removeTopic", False),
        ("addQueue", False),
    ],
)
async def test_each_refusal_names_the_operation_the_policy_entry_and_the_file(
    jolokia: JolokiaClient,
    sync_id: str,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    on_destination: bool,
) -> None:
    queue = sync_queue_name(sync_id, EVENT2_TOPIC)
    before, _ = await jolokia.read_stats(queue, None)
    sent = record_posts(jolokia, monkeypatch)

    with pytest.raises(PolicyRefusal) as caught:
        await _refused(jolokia, name, queue)

    error = caught.value
    assert len(sent) == 1, "a refusal is never retried"
    assert error.system == "broker" and error.operation.startswith(name)
    # As the broker states it: Jolokia's own sentence, with the MBean.
    assert f"Operation {error.operation} forbidden for MBean org.apache.activemq:" in error.message
    assert f"forbids {name}" in error.message and "does not retry" in error.message
    # Which policy entry, which file.
    assert f"<deny> entry for {name}" in error.hint
    assert ("destinationType=*" in error.hint) is on_destination
    assert "conf/jolokia-access.xml" in error.hint and "/opt/activemq/conf" in error.hint
    # Nothing changed: the queue and its consumer are still there.
    after, _ = await jolokia.read_stats(queue, None)
    assert after.consumers == before.consumers >= 1


async def test_a_user_without_the_admin_role_is_refused_by_name(current_lab: LabLayout) -> None:
    url = broker.jolokia_url(current_lab)
    async with JolokiaClient(url, broker.CONSOLE_USER, broker.CONSOLE_USER_PASSWORD) as client:
        with pytest.raises(SyncWizardError) as caught:
            await client.broker_name()

    assert "HTTP 403 !role" in caught.value.message and "'user'" in caught.value.message
    assert "admin role" in caught.value.message and "admin role" in caught.value.hint


def _address_off_loopback() -> str:
    """This host's address on its outward interface (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe_socket:
        try:
            probe_socket.connect(("192.0.2.1", 9))
        except OSError as exc:
            raise AssertionError(f"this host has no non-loopback IPv4 address: {exc}") from exc
        address: str = probe_socket.getsockname()[0]
    assert not address.startswith("127."), "the test needs an address off loopback"
    return address


async def test_a_client_off_loopback_is_refused_before_any_login(current_lab: LabLayout) -> None:
    url = f"http://{_address_off_loopback()}:{current_lab.ports.jolokia}/api/jolokia"
    async with JolokiaClient(url, ADMIN, PASSWORD) as client:
        with pytest.raises(SyncWizardError) as caught:
            await client.broker_name()

    message, hint = caught.value.message, caught.value.hint
    assert "HTTP 403 Forbidden" in message and "loopback only" in message
    assert "jetty.xml" in message and "kubectl port-forward" in hint and "ssh -L" in hint


# --- STOMP: closed ----------------------------------------------------------------------------


async def test_closed_stomp_says_the_broker_has_no_stomp_connector(
    current_lab: LabLayout,
) -> None:
    url = f"stomp://{HOST}:{current_lab.ports.stomp}"
    with pytest.raises(SyncWizardError) as caught:
        probe(StompTarget(url, ADMIN, PASSWORD, connect_timeout=5))

    error = caught.value
    assert error.system == "stomp"
    assert f"{HOST}:{current_lab.ports.stomp}" in error.message
    assert "has no STOMP connector" in error.message and "conf/activemq.xml" in error.message
    assert "transportConnector" in error.hint and "broker.stomp" in error.hint


# --- the lab itself: its profile, its flavour kept --------------------------------------------


def test_the_profile_points_at_what_the_flavour_serves(
    current_lab: LabLayout, current_lab_config: Path
) -> None:
    profile = load_settings(current_lab_config, "lab", environ={}).profile

    assert profile.health.url == health_url(current_lab)
    assert profile.health.ca_bundle is None
    assert profile.broker.broker_name is None  # discovered, never assumed
    assert profile.broker.topic == EVENT2_TOPIC
    assert profile.sync_db.conninfo == profile.repository_db.conninfo  # compose's one database
    # The port compose maps to nothing: a STOMP probe there fails as shown above.
    assert profile.broker.stomp == f"stomp://{HOST}:{current_lab.ports.stomp}"
    text = current_lab_config.read_text()
    assert str(current_lab.ports.lab_link) not in text, "the lab's own link is never offered"


def test_status_reads_the_current_lab_through_its_profile(
    current_lab_config: Path, sync_id: str
) -> None:
    """`syncwizard status`: health over plain HTTP, the broker's name found, Sync 5.x's queue."""
    result = subprocess.run(
        [sys.executable, "-m", "syncwizard", "status", "--profile", "lab", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**plain_env(), "SYNCWIZARD_CONFIG": str(current_lab_config)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["errors"] == [] and report["sync_id"] == sync_id
    assert report["queue"]["name"] == sync_queue_name(sync_id, EVENT2_TOPIC)
    assert report["queue"]["consumers"] >= 1
    # Compose's layout: the Sync Service's tables live in the repository database.
    assert report["databases"]["sync_db"]["name"] == report["databases"]["repository_db"]["name"]


def test_lab_up_again_keeps_the_flavour(current_lab: LabLayout) -> None:
    settings = stack.up(current_lab)  # everything runs: nothing restarts

    assert settings.flavour == CURRENT and settings.topic == EVENT2_TOPIC
    assert settings.shared_db is True  # compose's layout comes with the flavour
    assert read_settings(current_lab).flavour == CURRENT
    assert all(part.running for part in stack.parts(current_lab))


# --- ActiveMQ's policy file as shipped, under Jolokia's real restrictor -----------------------


@pytest.fixture(scope="module")
def shipped_policy_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabLayout]:
    """A current-flavour broker with ActiveMQ's jolokia-access.xml exactly as shipped."""
    ports = replace(
        CURRENT_LAB_TEST_PORTS,
        openwire=CURRENT_LAB_TEST_PORTS.openwire + 1,
        jolokia=CURRENT_LAB_TEST_PORTS.jolokia + 1,
        lab_link=CURRENT_LAB_TEST_PORTS.lab_link + 1,
    )
    layout = LabLayout(tmp_path_factory.mktemp("sw-broker-shipped") / "lab", ports)
    shipped = (broker.AGENT_SOURCES / broker.SHIPPED_POLICY_FILE).read_text("utf-8")
    broker.ensure_configured(layout, topic=EVENT2_TOPIC, flavour=CURRENT, policy=shipped)
    try:
        broker.start(layout)
        yield layout
    finally:
        broker.stop(layout)


async def test_the_shipped_policy_does_not_deny_exec_under_jolokia_s_restrictor(
    shipped_policy_broker: LabLayout,
) -> None:
    """Why the lab enforces `effective_policy`: as shipped, <commands> lacks exec, so Jolokia
    decides exec by <allow> alone (org.apache.activemq:* allows every operation)."""
    queue = "Consumer.00000000-0000-0000-0000-000000000000.alfresco.repo.event2"
    url = broker.jolokia_url(shipped_policy_broker)
    async with JolokiaClient(url, ADMIN, PASSWORD) as client:
        await client.add_queue(queue)
        await client.purge(queue)
        await client.remove_queue(queue)
        assert queue not in await client.list_queues()
        async with httpx.AsyncClient(auth=(ADMIN, PASSWORD)) as raw:
            answer = await raw.get(f"{url}/version", headers={"Origin": client.origin})
    # Its <http> section does hold: GET is refused.
    assert json.loads(answer.content)["status"] == 403
