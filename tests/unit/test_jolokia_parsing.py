"""Parsing Jolokia answers into values, statistics and clear errors, without a server."""

from __future__ import annotations

import httpx
import pytest

from syncwizard.clients import jolokia
from syncwizard.clients.names import EVENT2_TOPIC, LEGACY_TOPIC
from syncwizard.clients.results import QueueStats, TopicStats
from syncwizard.errors import SyncWizardError

URL = "http://mq.example.org:8161/api/jolokia"


def error_of(call: object, *args: object, **kwargs: object) -> SyncWizardError:
    with pytest.raises(SyncWizardError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    assert caught.value.system == "broker"
    return caught.value


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("http://mq.example.org:8161/api/jolokia", "http://mq.example.org:8161"),
        ("https://mq.example.org/api/jolokia", "https://mq.example.org"),
        ("http://127.0.0.1:28161/api/jolokia?x=1", "http://127.0.0.1:28161"),
    ],
)
def test_the_origin_is_derived_from_the_url(url: str, origin: str) -> None:
    assert jolokia.origin_of(url) == origin


def test_basic_authorization_matches_httpx() -> None:
    request = httpx.Request("POST", URL)
    httpx.BasicAuth("admin", "pässword").auth_flow(request).__next__()
    assert jolokia.basic_authorization("admin", "pässword") == request.headers["Authorization"]


def test_mbean_names_follow_activemq() -> None:
    assert jolokia.destination_mbean("localhost", "Queue", "Consumer.a.b") == (
        "org.apache.activemq:type=Broker,brokerName=localhost,"
        "destinationType=Queue,destinationName=Consumer.a.b"
    )


def test_destination_names_are_read_from_canonical_object_names() -> None:
    found = [
        "org.apache.activemq:brokerName=localhost,destinationName=Consumer.b.t,"
        "destinationType=Queue,type=Broker",
        "org.apache.activemq:brokerName=localhost,destinationName=Consumer.a.t,"
        "destinationType=Queue,type=Broker",
        "org.apache.activemq:brokerName=localhost,type=Broker",
    ]
    assert jolokia.destination_names(found) == ["Consumer.a.t", "Consumer.b.t"]


def test_json_bodies_are_decoded() -> None:
    body = b'[{"status": 200, "value": 1}]'
    answer = jolokia.decode_response(URL, 200, "application/json", body, user="admin")
    assert answer == [{"status": 200, "value": 1}]


def test_http_401_names_the_user_and_the_config_keys() -> None:
    error = error_of(jolokia.decode_response, URL, 401, "", b"", user="monitor")
    assert URL in error.message and "'monitor'" in error.message and "401" in error.message
    assert "broker.user" in error.hint and "broker.password_env" in error.hint


def test_http_403_says_the_user_lacks_the_role() -> None:
    error = error_of(jolokia.decode_response, URL, 403, "text/html", b"<html>", user="user")
    assert "HTTP 403" in error.message and "role" in error.message


def test_a_redirect_names_where_it_leads() -> None:
    error = error_of(
        jolokia.decode_response, URL, 302, "", b"", user="admin", location="/login.jsp"
    )
    assert "/login.jsp" in error.message
    assert "/api/jolokia" in error.hint


def test_an_html_page_is_shown_by_its_content_type_and_first_line() -> None:
    page = b"\n\n<!DOCTYPE html>\n<html><title>ActiveMQ Console</title></html>"
    error = error_of(jolokia.decode_response, URL, 200, "text/html", page, user="admin")
    assert "HTTP 200 with text/html instead of JSON" in error.message
    assert "begins: <!DOCTYPE html>" in error.message


def test_an_empty_body_is_named_as_such() -> None:
    error = error_of(jolokia.decode_response, URL, 200, "", b"", user="admin")
    assert "no content type" in error.message and "(empty body)" in error.message


def test_a_successful_entry_gives_its_value() -> None:
    assert jolokia.entry_value(URL, {"status": 200, "value": [1, 2]}, "x") == [1, 2]


def test_an_origin_refusal_says_which_header_and_where_to_fix_it() -> None:
    entry = {
        "status": 403,
        "error_type": "java.lang.Exception",
        "error": "java.lang.Exception : Origin null is not allowed to call this agent",
    }
    error = error_of(jolokia.entry_value, URL, entry, "reading queue Q")
    assert "Origin null is not allowed" in error.message
    assert "Origin header" in error.message
    assert "jolokia-access.xml" in error.hint and "cors" in error.hint


def test_another_policy_refusal_points_at_the_access_policy() -> None:
    entry = {"status": 403, "error": "java.lang.Exception : Operation purge() forbidden"}
    error = error_of(jolokia.entry_value, URL, entry, "purging queue Q")
    assert "purging queue Q" in error.message and "forbidden" in error.message
    assert "<allow>" in error.hint


def test_a_missing_mbean_names_the_destination() -> None:
    entry = {
        "status": 404,
        "error_type": "javax.management.InstanceNotFoundException",
        "error": "javax.management.InstanceNotFoundException : org.apache.activemq:...",
    }
    error = error_of(jolokia.entry_value, URL, entry, "reading queue Consumer.g.t")
    assert "reading queue Consumer.g.t" in error.message and "no such MBean" in error.message
    assert jolokia.is_missing_mbean(entry)


def test_other_errors_show_the_jolokia_error_text() -> None:
    entry = {"status": 500, "error": "java.lang.NullPointerException : boom"}
    error = error_of(jolokia.entry_value, URL, entry, "reading queue Q")
    assert "status 500" in error.message and "NullPointerException : boom" in error.message
    assert not jolokia.is_missing_mbean(entry)


def test_an_entry_that_is_not_jolokia_is_refused() -> None:
    error = error_of(jolokia.entry_value, URL, ["not", "an", "entry"], "the search")
    assert "not a Jolokia response" in error.message


def test_statistics_are_mapped_to_the_console_names() -> None:
    queue_value = {
        "QueueSize": 7,
        "EnqueueCount": 10,
        "DequeueCount": 3,
        "InFlightCount": 2,
        "ConsumerCount": 1,
    }
    assert jolokia.queue_stats_from("Q", queue_value) == QueueStats("Q", 7, 10, 3, 2, 1)
    topic_value = {"EnqueueCount": 12, "ConsumerCount": 0}
    assert jolokia.topic_stats_from("T", topic_value) == TopicStats("T", 12, 0)


@pytest.mark.parametrize(
    ("value", "expected_ms"),
    [
        ("2026-11-26T03:54:56Z", 1795665296000),
        ("2026-11-26T04:54:56+01:00", 1795665296000),
        (1795665296123, 1795665296123),
        (1795665296, 1795665296000),
    ],
)
def test_jms_timestamps_become_epoch_milliseconds(value: object, expected_ms: int) -> None:
    assert jolokia.timestamp_ms(value) == expected_ms


def test_of_several_sync_queues_the_consumed_one_wins_then_event2() -> None:
    legacy, event2 = f"Consumer.g.{LEGACY_TOPIC}", f"Consumer.g.{EVENT2_TOPIC}"
    assert jolokia.pick_sync_queue({legacy: 3, event2: 0}) == legacy
    assert jolokia.pick_sync_queue({legacy: 0, event2: 0}) == event2
    assert jolokia.pick_sync_queue({"Consumer.g.other": 0, legacy: 0}) == legacy


def test_the_missing_queue_error_lists_only_sync_looking_destinations() -> None:
    error = jolokia.missing_queue_error(
        URL,
        "guid-1",
        None,
        queues=["Consumer.guid-2.alfresco.repo.event2", "ActiveMQ.DLQ"],
        topics=["ActiveMQ.Advisory.Queue", LEGACY_TOPIC, EVENT2_TOPIC],
    )
    assert "no queue Consumer.guid-1.*" in error.message
    assert "queue Consumer.guid-2.alfresco.repo.event2" in error.message
    assert f"topic {LEGACY_TOPIC}" in error.message and f"topic {EVENT2_TOPIC}" in error.message
    assert "DLQ" not in error.message and "Advisory" not in error.message
    assert "not subscribed yet" in error.hint and "dropped" in error.hint


def test_the_missing_queue_error_says_none_exist() -> None:
    error = jolokia.missing_queue_error(URL, "g", LEGACY_TOPIC, queues=[], topics=[])
    assert f"no queue Consumer.g.{LEGACY_TOPIC}" in error.message
    assert "exist: none." in error.message


@pytest.mark.parametrize("sync_id", ["", "abc*", "a,b=c", 'x"y'])
def test_a_sync_id_that_would_be_an_mbean_pattern_is_refused(sync_id: str) -> None:
    error = error_of(jolokia._check_sync_id, sync_id)
    assert "not a sync id" in error.message
    assert "syncServiceIdCheck" in error.hint


QUEUE_MBEAN = (
    "org.apache.activemq:brokerName=acs-activemq,destinationName=Consumer.g.alfresco.repo.event2,"
    "destinationType=Queue,type=Broker"
)


@pytest.mark.parametrize(
    "stated",
    [
        # Jolokia 1.7 (ActiveMQ 5.19) and 2.x (6.2) word it alike.
        f"java.lang.Exception : Operation purge() forbidden for MBean {QUEUE_MBEAN}",
        f"Operation purge() forbidden for MBean {QUEUE_MBEAN}",
    ],
)
def test_a_denied_operation_names_the_refusal_the_policy_entry_and_the_file(stated: str) -> None:
    entry = {"status": 403, "error_type": "java.lang.Exception", "error": stated}
    with pytest.raises(jolokia.PolicyRefusal) as caught:
        jolokia.entry_value(URL, entry, "purging queue Q")

    error = caught.value
    assert error.operation == "purge()" and error.mbean == QUEUE_MBEAN
    assert error.message.startswith("The broker refused purging queue Q")
    assert f'"Operation purge() forbidden for MBean {QUEUE_MBEAN}"' in error.message
    assert "does not retry" in error.message
    assert "<deny> entry for purge" in error.hint
    assert "destinationType=*,destinationName=*" in error.hint
    assert "conf/jolokia-access.xml" in error.hint and "restart the broker" in error.hint


def test_a_denied_broker_operation_names_the_broker_entry() -> None:
    stated = (
        "java.lang.Exception : Operation removeTopic(java.lang.String) forbidden for MBean "
        "org.apache.activemq:brokerName=acs-activemq,type=Broker"
    )
    error = error_of(jolokia.entry_value, URL, {"status": 403, "error": stated}, "removing T")
    assert isinstance(error, jolokia.PolicyRefusal)
    assert "forbids removeTopic" in error.message
    assert "<mbean><name>org.apache.activemq:type=Broker,brokerName=*</name>" in error.hint


def test_a_refused_http_method_names_the_post_only_policy() -> None:
    stated = (
        "java.lang.Exception : HTTP method get is not allowed according to the installed "
        "security policy"
    )
    error = error_of(jolokia.entry_value, URL, {"status": 403, "error": stated}, "reading Q")
    assert "HTTP method get is not allowed" in error.message
    assert "<http><method>post</method>" in error.message and "always POSTs" in error.message


def test_http_403_without_the_role_names_the_admin_role() -> None:
    page = b"<html>\n<head>\n<title>Error 403 !role</title>\n</head>\n</html>"
    error = error_of(jolokia.decode_response, URL, 403, "text/html", page, user="user")
    assert "HTTP 403 !role" in error.message and "admin role" in error.message


def test_http_403_forbidden_before_login_names_the_loopback_rule_and_a_tunnel() -> None:
    page = b"<html><head><title>Error 403 Forbidden</title></head></html>"
    error = error_of(jolokia.decode_response, URL, 403, "text/html", page, user="admin")
    assert "HTTP 403 Forbidden" in error.message and "loopback only" in error.message
    assert "kubectl port-forward" in error.hint and "jetty.xml" in error.hint
