"""The lab's two flavours as configuration: what `lab up --like current` writes, without
starting anything (the running broker and stand-in are in tests/integration/test_lab_current)."""

from __future__ import annotations

import json
import socket
import xml.dom.minidom
from pathlib import Path

import pytest

from syncwizard.cli import build_parser
from syncwizard.clients.names import EVENT2_TOPIC, LEGACY_TOPIC
from syncwizard.errors import SyncWizardError
from syncwizard.lab import broker, certs, postgres, repository_control, stack, standin
from syncwizard.lab.layout import (
    CLASSIC,
    CURRENT,
    TEST_PORTS,
    LabLayout,
    flavour_of,
    read_settings,
    write_settings,
)


@pytest.fixture
def layout(tmp_path: Path) -> LabLayout:
    return LabLayout(tmp_path / "lab", TEST_PORTS)


def shipped_policy() -> str:
    return (broker.AGENT_SOURCES / broker.SHIPPED_POLICY_FILE).read_text("utf-8")


def operations(section: xml.dom.minidom.Element) -> list[str]:
    return [node.firstChild.data for node in section.getElementsByTagName("operation")]  # type: ignore[union-attr]


def test_the_flavour_is_kept_in_lab_json_and_an_old_lab_is_classic(layout: LabLayout) -> None:
    write_settings(layout, stack.settings_for(layout, event2=False, flavour=CURRENT))
    assert read_settings(layout).flavour == CURRENT and flavour_of(layout) == CURRENT

    old = json.loads(layout.settings_file.read_text())
    del old["flavour"]
    layout.settings_file.write_text(json.dumps(old))
    assert read_settings(layout).flavour == CLASSIC


def test_current_implies_sync_5_s_event2_topic_and_compose_s_shared_database(
    layout: LabLayout,
) -> None:
    current = stack.settings_for(layout, event2=False, flavour=CURRENT)
    assert current.topic == EVENT2_TOPIC and current.shared_db is True
    classic = stack.settings_for(layout, event2=False, flavour=CLASSIC)
    assert classic.topic == LEGACY_TOPIC and classic.shared_db is False


def test_an_unknown_flavour_is_refused_by_name(layout: LabLayout) -> None:
    with pytest.raises(SyncWizardError) as caught:
        stack.settings_for(layout, event2=False, flavour="modern")
    assert "'modern' is not a lab flavour" in caught.value.message
    assert "classic" in caught.value.message and "current" in caught.value.message


def test_lab_up_takes_like_and_defaults_to_the_kept_flavour() -> None:
    parser = build_parser()
    assert parser.parse_args(["lab", "up", "--like", "current"]).like == CURRENT
    assert parser.parse_args(["lab", "up"]).like is None  # stack.up keeps lab.json's


def test_the_current_broker_has_only_openwire_for_clients(layout: LabLayout) -> None:
    xml_text = broker.activemq_xml(layout, topic=EVENT2_TOPIC, password="pw", flavour=CURRENT)
    document = xml.dom.minidom.parseString(xml_text)
    connectors = {
        node.getAttribute("name"): node.getAttribute("uri")
        for node in document.getElementsByTagName("transportConnector")
    }

    assert connectors == {
        "openwire": f"tcp://127.0.0.1:{layout.ports.openwire}",
        "lab-link": f"stomp://127.0.0.1:{layout.ports.lab_link}",
    }
    assert str(layout.ports.stomp) not in xml_text
    assert 'brokerName="acs-activemq"' in xml_text


def test_the_classic_broker_keeps_stomp_and_localhost(layout: LabLayout) -> None:
    xml_text = broker.activemq_xml(layout, topic=LEGACY_TOPIC, password="pw")
    assert f'uri="stomp://127.0.0.1:{layout.ports.stomp}"' in xml_text
    assert 'brokerName="localhost"' in xml_text


def test_the_shipped_policy_is_activemq_s_hardened_one() -> None:
    document = xml.dom.minidom.parseString(shipped_policy())
    (deny,) = document.getElementsByTagName("deny")
    denied = set(operations(deny))
    assert {"purge", "removeMessage", "removeQueue", "removeTopic"} <= denied
    assert {"copyMessageTo", "moveMessageTo", "copyMatchingMessagesTo"} <= denied
    assert not any(name.startswith("browse") for name in denied)
    methods = [node.firstChild.data for node in document.getElementsByTagName("method")]  # type: ignore[union-attr]
    assert methods == ["post"]
    assert document.getElementsByTagName("strict-checking")


def test_the_effective_policy_changes_only_the_exec_command_and_the_denied_names() -> None:
    shipped = xml.dom.minidom.parseString(shipped_policy())
    effective = xml.dom.minidom.parseString(broker.effective_policy(shipped_policy()))

    def commands(document: xml.dom.minidom.Document) -> list[str]:
        return [node.firstChild.data for node in document.getElementsByTagName("command")]  # type: ignore[union-attr]

    assert commands(effective) == [*commands(shipped), "exec"]
    (shipped_deny,) = shipped.getElementsByTagName("deny")
    (effective_deny,) = effective.getElementsByTagName("deny")
    assert operations(effective_deny) == [
        name if name == "*" else f"{name}*" for name in operations(shipped_deny)
    ]
    (shipped_allow,) = shipped.getElementsByTagName("allow")
    (effective_allow,) = effective.getElementsByTagName("allow")
    assert effective_allow.toxml() == shipped_allow.toxml()


def test_a_file_that_is_not_activemq_s_policy_is_refused() -> None:
    with pytest.raises(SyncWizardError) as caught:
        broker.effective_policy("<restrict/>")
    assert "is not ActiveMQ's jolokia-access.xml" in caught.value.message


def test_the_current_profile_names_plain_http_and_no_broker_name(layout: LabLayout) -> None:
    sections = stack.profile_sections(layout, EVENT2_TOPIC, CURRENT)

    assert sections["health"] == {
        "url": f"http://127.0.0.1:{layout.ports.standin}/alfresco/healthcheck"
    }
    assert "broker_name" not in sections["broker"]
    assert sections["broker"]["topic"] == EVENT2_TOPIC
    assert str(layout.ports.lab_link) not in json.dumps(sections)


def test_the_classic_profile_is_unchanged(layout: LabLayout) -> None:
    sections = stack.profile_sections(layout, LEGACY_TOPIC, CLASSIC)
    assert sections["health"]["url"] == (
        f"https://127.0.0.1:{layout.ports.standin}/alfresco/healthcheck"
    )
    assert sections["health"]["ca_bundle"] == str(layout.cert_file)
    assert sections["broker"]["stomp"] == f"stomp://127.0.0.1:{layout.ports.stomp}"


def test_a_closed_stomp_port_says_the_broker_has_no_stomp_connector() -> None:
    from syncwizard.clients.stomp_session import StompTarget, probe

    with socket.socket() as placeholder:  # a port that was free a moment ago: nothing listens
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    with pytest.raises(SyncWizardError) as caught:
        probe(StompTarget(f"stomp://127.0.0.1:{port}", "admin", "pw", connect_timeout=2))

    assert f"nothing listens on 127.0.0.1:{port}" in caught.value.message
    assert "has no STOMP connector" in caught.value.message
    assert caught.value.system == "stomp"


def test_switching_flavour_restarts_all_but_the_database(
    layout: LabLayout, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another broker configuration and another health check: `up --like` restarts them.
    The parts are replaced by recorders: what is asserted is which ones are stopped, and that
    keeping the flavour stops none."""
    calls: list[str] = []

    def recorder(name: str) -> object:
        return lambda *args, **kwargs: calls.append(name)

    for module, names in (
        (repository_control, ("stop", "start", "set_rate")),
        (standin, ("stop", "start")),
        (broker, ("stop", "ensure_configured", "start")),
        (postgres, ("ensure_cluster",)),
        (certs, ("make_self_signed",)),
    ):
        for name in names:
            monkeypatch.setattr(module, name, recorder(f"{module.__name__}.{name}"))
    monkeypatch.setattr(standin, "is_running", lambda layout: True)

    stack.up(layout, flavour=CURRENT)
    calls.clear()
    assert stack.up(layout).flavour == CURRENT  # kept: nothing stopped
    assert not [call for call in calls if call.endswith(".stop")]

    calls.clear()
    assert stack.up(layout, flavour=CLASSIC).flavour == CLASSIC
    stops = [call.rsplit(".", 2)[-2] for call in calls if call.endswith(".stop")]
    assert stops == ["repository_control", "standin", "broker"]
    assert read_settings(layout).flavour == CLASSIC
