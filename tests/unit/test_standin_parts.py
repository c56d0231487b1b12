"""The lab stand-in's pure parts: recover option, event format, health JSON, event lag."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from syncwizard.lab.node_events import (
    NODE_ADDED,
    NODE_REMOVED,
    BadEvent,
    NodeEvent,
    new_event,
    parse_event,
)
from syncwizard.lab.standin_health import (
    EventLag,
    Outcome,
    dropwizard_timestamp,
    run_checks,
)
from syncwizard.lab.standin_recover import (
    RecoverCredentials,
    RecoverOptionError,
    credentials_match,
    recover_credentials,
)

NODE = "0f8fad5b-d9cb-469f-a165-70867728950e"
EVENT = "7c9e6679-7425-40de-944b-e07fc1f90ae7"


# --- recover option ------------------------------------------------------------------------
def test_recover_option_from_its_own_variable() -> None:
    found = recover_credentials({"SYNCWIZARD_RECOVER_OPTION": "-Drecover=admin:pa:ss word"})
    assert found == RecoverCredentials("admin", "pa:ss word")


def test_recover_option_from_java_opts_among_other_options() -> None:
    env = {"JAVA_OPTS": "-Xmx1g -Drecover=admin:s3cret -Dfile.encoding=UTF-8"}
    assert recover_credentials(env) == RecoverCredentials("admin", "s3cret")


def test_quoted_password_with_a_space_in_java_opts() -> None:
    env = {"JAVA_OPTS": "-Xmx1g '-Drecover=admin:two words'"}
    assert recover_credentials(env) == RecoverCredentials("admin", "two words")


def test_own_variable_wins_over_java_opts() -> None:
    env = {"SYNCWIZARD_RECOVER_OPTION": "-Drecover=a:1", "JAVA_OPTS": "-Drecover=b:2"}
    assert recover_credentials(env) == RecoverCredentials("a", "1")


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"SYNCWIZARD_RECOVER_OPTION": ""},
        {"SYNCWIZARD_RECOVER_OPTION": "  "},
        {"JAVA_OPTS": "-Xmx1g"},
    ],
)
def test_no_recover_when_the_option_is_absent_or_empty(env: dict[str, str]) -> None:
    assert recover_credentials(env) is None


@pytest.mark.parametrize(
    "option", ["admin:pw", "-Drecover=admin", "-Drecover=:pw", "-Drecover=admin:", "-Dother=a:b"]
)
def test_malformed_option_is_refused_without_echoing_it(option: str) -> None:
    with pytest.raises(RecoverOptionError) as caught:
        recover_credentials({"SYNCWIZARD_RECOVER_OPTION": option})
    assert "-Drecover=<user>:<password>" in str(caught.value)
    assert "pw" not in str(caught.value)


def test_credentials_never_print_their_password() -> None:
    credentials = RecoverCredentials("admin", "hunter2")
    assert "hunter2" not in str(credentials)
    assert "hunter2" not in repr(credentials)
    assert str(credentials) == "-Drecover=admin:****"


def test_only_the_repository_admin_with_its_password_matches() -> None:
    assert credentials_match(RecoverCredentials("admin", "right"), "right")
    assert not credentials_match(RecoverCredentials("admin", "wrong"), "right")
    assert not credentials_match(RecoverCredentials("alice", "right"), "right")


# --- event format --------------------------------------------------------------------------
def test_event_round_trips_through_its_json() -> None:
    event = NodeEvent(EVENT, NODE_ADDED, NODE, "report.pdf", 1_700_000_000_123)
    body = json.loads(event.to_json())
    assert body == {
        "id": EVENT,
        "type": "NODEADDED",
        "nodeId": NODE,
        "name": "report.pdf",
        "timestamp": 1_700_000_000_123,
    }
    assert parse_event(event.to_json()) == event


def test_new_event_gets_a_fresh_uuid() -> None:
    first, second = (new_event(NODE_REMOVED, NODE, "x", 1) for _ in range(2))
    assert first.id != second.id


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ("not json", "not JSON"),
        ("[1]", "expected a JSON object"),
        (json.dumps({"id": EVENT, "type": "NODEMOVED", "nodeId": NODE, "timestamp": 1}), "'type'"),
        (json.dumps({"id": "x", "type": "NODEADDED", "nodeId": NODE, "timestamp": 1}), "'id'"),
        (json.dumps({"id": EVENT, "type": "NODEADDED", "nodeId": 5, "timestamp": 1}), "'nodeId'"),
        (json.dumps({"id": EVENT, "type": "NODEADDED", "nodeId": NODE, "timestamp": "1"}), "epoch"),
        (
            json.dumps({"id": EVENT, "type": "NODEADDED", "nodeId": NODE, "timestamp": True}),
            "epoch",
        ),
    ],
)
def test_bad_event_bodies_say_what_is_wrong(body: str, complaint: str) -> None:
    with pytest.raises(BadEvent, match=complaint):
        parse_event(body)


# --- health JSON ---------------------------------------------------------------------------
def test_health_json_has_the_dropwizard_shape_with_sorted_keys() -> None:
    status, body = run_checks(
        {
            "versionCheck": lambda: Outcome(True, "    5.0.0"),
            "deadlocks": lambda: Outcome(True, None),
            "activeMQConnection": lambda: Outcome(True, "connected"),
        }
    )
    assert status == 200
    assert list(body) == ["activeMQConnection", "deadlocks", "versionCheck"]
    assert "message" not in body["deadlocks"]
    for entry in body.values():
        assert entry["healthy"] is True
        assert isinstance(entry["duration"], int)
        datetime.strptime(str(entry["timestamp"]), "%Y-%m-%dT%H:%M:%S.%fZ")


def test_one_unhealthy_check_makes_it_500() -> None:
    status, body = run_checks(
        {"a": lambda: Outcome(True, "ok"), "b": lambda: Outcome(False, "db down")}
    )
    assert status == 500
    assert body["b"] == {**body["b"], "healthy": False, "message": "db down"}


def test_a_check_that_raises_reports_unhealthy_instead_of_crashing() -> None:
    def broken() -> Outcome:
        raise RuntimeError("boom")

    status, body = run_checks({"broken": broken})
    assert status == 500
    assert body["broken"]["message"] == "check failed: boom"


def test_dropwizard_timestamp_is_utc_with_milliseconds() -> None:
    moment = datetime(2023, 4, 28, 12, 18, 27, 123456, tzinfo=UTC)
    assert dropwizard_timestamp(moment) == "2023-04-28T12:18:27.123Z"


# --- event lag -----------------------------------------------------------------------------
def test_no_events_is_healthy_and_says_so() -> None:
    assert EventLag().check() == Outcome(True, "no events in the last minute")


def test_p99_lag_over_the_tolerance_is_unhealthy() -> None:
    lag = EventLag()
    now = 1_000_000.0
    for _ in range(98):
        lag.record(int(now * 1000) - 10, processed_at=now)
    lag.record(int(now * 1000) - 9000, processed_at=now)
    lag.record(int(now * 1000) - 9000, processed_at=now)
    assert lag.p99(now) == (9000.0, 100)
    outcome = lag.check(now)
    assert not outcome.healthy
    assert outcome.message == (
        "p99 event lag 9000 ms over 100 events in the last minute (tolerance 5000 ms)"
    )


def test_p99_ignores_one_slow_event_in_a_hundred() -> None:
    lag = EventLag()
    now = 1_000_000.0
    for _ in range(99):
        lag.record(int(now * 1000) - 10, processed_at=now)
    lag.record(int(now * 1000) - 9000, processed_at=now)
    assert lag.p99(now) == (10.0, 100)
    assert lag.check(now).healthy


def test_events_older_than_the_window_are_forgotten() -> None:
    lag = EventLag(window_s=60)
    lag.record(0, processed_at=1000.0)  # a huge lag, long ago
    lag.record(1070 * 1000 - 20, processed_at=1070.0)
    assert lag.p99(1070.0) == (20.0, 1)
