"""The lab's broker itself: how it is configured, started, restarted and refused."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import stat
from pathlib import Path

import pytest
import stomp
import stomp.exception
from broker_fixture import BrokerLab, new_sync_id, publish

from syncwizard.clients.jolokia import JolokiaClient
from syncwizard.clients.names import EVENT2_TOPIC, LEGACY_TOPIC, sync_queue_name
from syncwizard.errors import SyncWizardError
from syncwizard.lab import broker, process
from syncwizard.lab.layout import LabLayout

pytestmark = pytest.mark.integration


def listening_addresses(port: int) -> set[str]:
    """The local addresses with a socket listening on `port`, read from /proc/net."""
    addresses = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            address_hex, port_hex = fields[1].rsplit(":", 1)
            if int(port_hex, 16) == port and fields[3] == "0A":  # 0A: LISTEN
                addresses.add(str(proc_net_address(address_hex)))
    return addresses


def proc_net_address(hex_address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """/proc/net writes addresses as 32-bit words in host (little-endian) byte order."""
    words = [bytes.fromhex(hex_address[i : i + 8])[::-1] for i in range(0, len(hex_address), 8)]
    address = ipaddress.ip_address(b"".join(words))
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped  # Java listens on IPv6 sockets with mapped IPv4 addresses
    return address


def test_every_port_listens_on_127_0_0_1_only(broker_lab: BrokerLab) -> None:
    ports = broker_lab.layout.ports
    for port in (ports.openwire, ports.stomp, ports.jolokia):
        assert listening_addresses(port) == {"127.0.0.1"}, f"port {port}"


def test_configuration_files_are_private(broker_lab: BrokerLab) -> None:
    conf = broker_lab.layout.broker_dir / "conf"
    for name in ("activemq.xml", "jolokia-users.properties", "jolokia-access.xml"):
        assert stat.S_IMODE((conf / name).stat().st_mode) == 0o600, name
    assert stat.S_IMODE(broker_lab.layout.broker_dir.stat().st_mode) == 0o700


def test_the_event2_rule_is_declared_only_for_the_event2_lab(
    broker_lab: BrokerLab, event2_broker_lab: BrokerLab
) -> None:
    legacy = (broker_lab.layout.broker_dir / "conf" / "activemq.xml").read_text()
    event2 = (event2_broker_lab.layout.broker_dir / "conf" / "activemq.xml").read_text()
    assert 'name="VirtualTopic.&gt;"' in legacy and 'name="VirtualTopic.&gt;"' in event2
    assert EVENT2_TOPIC not in legacy
    assert f'name="{EVENT2_TOPIC}"' in event2
    assert broker.configured_topic(event2_broker_lab.layout) == EVENT2_TOPIC


def test_starting_a_running_broker_again_keeps_it(broker_lab: BrokerLab) -> None:
    pid = process.running_pid(broker_lab.layout, broker.PROCESS_NAME)
    broker.start(broker_lab.layout)
    assert process.running_pid(broker_lab.layout, broker.PROCESS_NAME) == pid
    assert broker.is_running(broker_lab.layout)


def test_the_agent_is_rebuilt_only_when_its_source_changes(broker_lab: BrokerLab) -> None:
    jar = broker_lab.layout.broker_dir / "agent" / "agent.jar"
    built = jar.stat().st_mtime_ns
    broker.ensure_configured(broker_lab.layout, topic=LEGACY_TOPIC)
    assert jar.stat().st_mtime_ns == built


def test_stomp_refuses_anonymous_connections(broker_lab: BrokerLab) -> None:
    connection = stomp.Connection12(
        [("127.0.0.1", broker_lab.layout.ports.stomp)], reconnect_attempts_max=1, timeout=5
    )
    with pytest.raises(stomp.exception.ConnectFailedException):
        connection.connect(wait=True)


def test_a_port_in_use_is_named_before_starting(broker_lab: BrokerLab, tmp_path: Path) -> None:
    clashing = LabLayout(tmp_path / "lab", broker_lab.layout.ports)
    broker.ensure_configured(clashing, topic=LEGACY_TOPIC)
    with pytest.raises(SyncWizardError) as caught:
        broker.start(clashing)
    assert f"127.0.0.1:{broker_lab.layout.ports.openwire}" in caught.value.message
    assert caught.value.system == "lab"
    assert not broker.is_running(clashing)


def test_starting_an_unconfigured_broker_says_how_to_configure_it(tmp_path: Path) -> None:
    with pytest.raises(SyncWizardError, match="not configured") as caught:
        broker.start(LabLayout(tmp_path / "lab"))
    assert "lab up" in caught.value.hint


def test_a_missing_package_names_the_apt_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(broker, "ACTIVEMQ_BROKER_JAR", tmp_path / "activemq-broker.jar")
    with pytest.raises(SyncWizardError) as caught:
        broker.ensure_configured(LabLayout(tmp_path / "lab"), topic=LEGACY_TOPIC)
    assert "activemq-broker.jar" in caught.value.message
    assert "apt-get install activemq libjolokia-core-java" in caught.value.hint


def test_a_restart_keeps_pending_events_and_resets_the_counters(
    event2_broker_lab: BrokerLab,
) -> None:
    """The facts behind the drain criterion: QueueSize survives, Enqueue/Dequeue restart at 0."""
    lab = event2_broker_lab
    queue = sync_queue_name(new_sync_id(), EVENT2_TOPIC)

    async def stats() -> tuple[int, int]:
        async with JolokiaClient(lab.jolokia_url, lab.user, lab.password) as client:
            if f"queue://{queue}" not in await client.list_destinations():
                await client.add_queue(queue)
            queue_stats, _ = await client.read_stats(queue, None)
            return queue_stats.pending, queue_stats.enqueued

    asyncio.run(stats())
    publish(lab, f"/topic/{EVENT2_TOPIC}", ["one", "two", "three"])
    assert asyncio.run(stats()) == (3, 3)

    assert broker.stop(lab.layout) is True
    assert not broker.is_running(lab.layout)
    assert broker.stop(lab.layout) is False
    with socket.socket() as probe:  # the ports are free again
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", lab.layout.ports.stomp))
    broker.start(lab.layout)

    assert asyncio.run(stats()) == (3, 0)
