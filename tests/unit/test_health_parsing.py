"""Parsing the Sync Service health answer: both published shapes and every kind of bad answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from syncwizard.clients.health import HealthClient, normalize_fingerprint, parse_health
from syncwizard.clients.results import HealthCheck, HealthReport
from syncwizard.errors import SyncWizardError

FIXTURES = Path(__file__).parents[1] / "fixtures" / "health"
URL = "https://sync.example.org:9090/alfresco/healthcheck"
GUID_2023 = "0abd879e-bdc0-30be-8622-86e3f71f59a6"
GUID_21 = "00f51927-12d5-4f1b-9979-287fa6fe2771"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def parse(body: bytes, status: int = 200, content_type: str = "application/json") -> HealthReport:
    return parse_health(body, status, URL, fetched_at=1000.0, content_type=content_type)


def check(report: HealthReport, name: str) -> HealthCheck:
    found = report.check(name)
    assert found is not None, f"no {name} check"
    return found


def parse_error(body: bytes, status: int = 200, content_type: str = "") -> SyncWizardError:
    with pytest.raises(SyncWizardError) as caught:
        parse(body, status, content_type)
    error = caught.value
    assert error.system == "health"
    assert URL in error.message, "every health error names the URL it asked"
    assert error.hint, "every health error says what to do"
    return error


def test_2023_shape_gives_every_check_the_guid_and_the_timings() -> None:
    report = parse(fixture("sync-2023.json"))

    assert report.url == URL
    assert report.http_status == 200
    assert report.fetched_at == 1000.0
    assert report.sync_id == GUID_2023
    assert [check.name for check in report.checks] == [
        "activeMQConnection",
        "databaseConnection",
        "deadlocks",
        "eventsHealthCheck",
        "minimumClientVersion",
        "repositoryConnection",
        "syncServiceIdCheck",
        "versionCheck",
    ]
    assert report.healthy is True
    assert report.duration_ms == 0 + 0 + 3 + 4 + 0 + 194 + 7 + 0
    assert report.timestamp == "2023-06-27T13:42:12.454Z"  # the latest check


def test_version_message_loses_its_leading_spaces() -> None:
    report = parse(fixture("sync-2023.json"))

    assert check(report, "versionCheck").message == "3.10.0 (2023-04-28T12:18:27Z)"


def test_deadlocks_has_no_message() -> None:
    report = parse(fixture("sync-2023.json"))

    assert check(report, "deadlocks").message == ""
    assert check(report, "deadlocks").healthy is True


def test_2_1_shape_without_duration_timestamp_or_minimum_client_version() -> None:
    report = parse(fixture("sync-2.1.json"))

    assert report.sync_id == GUID_21
    assert report.healthy is True
    assert report.duration_ms is None
    assert report.timestamp is None
    assert report.check("minimumClientVersion") is None
    assert check(report, "versionCheck").message == "1.1-SNAPSHOT (2016-03-09T11:12:52Z)"
    assert len(report.checks) == 7


def test_unknown_health_of_2_1_is_none_and_not_healthy_overall() -> None:
    report = parse(fixture("sync-2.1-events-unknown.json"))

    events = check(report, "eventsHealthCheck")
    assert events.healthy is None
    assert events.message == "Repository JMX endpoint not available"
    assert report.healthy is False


def test_http_500_with_unhealthy_checks_is_parsed_not_an_outage() -> None:
    report = parse(fixture("sync-2023-unhealthy.json"), status=500)

    assert report.http_status == 500
    assert report.healthy is False
    assert report.sync_id == GUID_2023
    unhealthy = {check.name for check in report.checks if check.healthy is False}
    assert unhealthy == {"activeMQConnection", "databaseConnection", "eventsHealthCheck"}
    assert check(report, "repositoryConnection").healthy is True


def test_a_check_that_threw_keeps_the_error_message() -> None:
    body = json.dumps(
        {
            "syncServiceIdCheck": {"healthy": True, "message": GUID_2023},
            "repositoryConnection": {
                "healthy": False,
                "error": {"message": "Connection refused: repo:8080", "stack": ["a.B(B.java:1)"]},
            },
        }
    ).encode()

    report = parse(body, status=500)

    assert check(report, "repositoryConnection").healthy is False
    assert check(report, "repositoryConnection").message == "Connection refused: repo:8080"


def test_error_message_is_added_when_it_differs_from_the_check_message() -> None:
    body = json.dumps(
        {
            "syncServiceIdCheck": {"healthy": True, "message": GUID_2023},
            "databaseConnection": {
                "healthy": False,
                "message": "Database connection failed",
                "error": {"message": "FATAL: too many connections", "stack": []},
            },
        }
    ).encode()

    message = check(parse(body, status=500), "databaseConnection").message

    assert message == "Database connection failed (FATAL: too many connections)"


def test_unknown_keys_are_kept() -> None:
    data = json.loads(fixture("sync-2023.json"))
    data["hazelcastCluster"] = {"healthy": True, "message": "  3 members", "duration": 1}

    report = parse(json.dumps(data).encode())

    assert check(report, "hazelcastCluster").message == "3 members"
    assert check(report, "hazelcastCluster").healthy is True


def test_a_failing_id_check_without_a_guid_is_shown_not_refused() -> None:
    body = json.dumps(
        {
            "databaseConnection": {"healthy": False, "message": "Database connection failed"},
            "syncServiceIdCheck": {"healthy": False, "message": "could not read the sync id"},
        }
    ).encode()

    report = parse(body, status=500)

    assert report.sync_id == ""
    assert check(report, "syncServiceIdCheck").message == "could not read the sync id"
    assert report.healthy is False


def test_501_no_checks_registered_is_a_clear_error() -> None:
    error = parse_error(b"{}", status=501)

    assert "501" in error.message
    assert "no health checks" in error.message


def test_json_without_sync_id_check_is_not_the_sync_service() -> None:
    error = parse_error(fixture("other-dropwizard-service.json"))

    assert "answers JSON but not the Sync Service health check" in error.message
    assert "syncServiceIdCheck" in error.message
    assert "/alfresco/healthcheck" in error.hint


def test_html_instead_of_json_shows_content_type_and_first_chars() -> None:
    page = b"<!DOCTYPE html>\n<html><head><title>Corporate proxy - sign in</title></head></html>"

    error = parse_error(page, content_type="text/html; charset=utf-8")

    assert "HTML" in error.message
    assert "text/html; charset=utf-8" in error.message
    assert "<!DOCTYPE html> <html><head><title>Corporate proxy" in error.message
    assert "proxy or login page" in error.hint


def test_malformed_guid_is_refused() -> None:
    error = parse_error(fixture("sync-2023-bad-guid.json"))

    assert "'0abd879e-bdc0-30be-8622'" in error.message
    assert "8-4-4-4-12" in error.message


def test_an_uppercase_guid_is_not_the_sync_service_s_form() -> None:
    body = json.dumps(
        {"syncServiceIdCheck": {"healthy": True, "message": GUID_2023.upper()}}
    ).encode()

    error = parse_error(body)

    assert GUID_2023.upper() in error.message


@pytest.mark.parametrize("body", [b"[1, 2]", b'"ok"', b"null", b"42"])
def test_json_that_is_not_an_object_is_refused(body: bytes) -> None:
    error = parse_error(body)

    assert "expected an object of named checks" in error.message


@pytest.mark.parametrize(
    ("status", "page", "hint_words"),
    [
        (404, b"<html><body>Not Found</body></html>", "/alfresco/healthcheck"),
        (502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "proxy"),
        (401, b"Unauthorized", "credentials"),
    ],
)
def test_other_http_statuses_name_the_status(status: int, page: bytes, hint_words: str) -> None:
    error = parse_error(page, status=status, content_type="text/html")

    assert f"HTTP {status}" in error.message
    assert hint_words in error.hint


def test_404_with_json_is_still_not_the_health_check() -> None:
    error = parse_error(b'{"code": 404, "message": "HTTP 404 Not Found"}', status=404)

    assert "(HTTP 404)" in error.message
    assert "not the Sync Service health check" in error.message


def test_empty_body_is_refused() -> None:
    error = parse_error(b"  \n", status=200)

    assert "empty body" in error.message


def test_non_json_text_is_refused() -> None:
    error = parse_error(b"OK", status=200, content_type="text/plain")

    assert "not JSON" in error.message
    assert "'OK'" in error.message


@pytest.mark.parametrize(
    "written",
    [
        "sha256:AB:CD:" + ":".join(["EF"] * 30),
        "ab:cd:" + ":".join(["ef"] * 30),
        "abcd" + "ef" * 30,
        "SHA256 Fingerprint=AB:CD:" + ":".join(["EF"] * 30),
    ],
)
def test_fingerprints_are_accepted_in_the_usual_spellings(written: str) -> None:
    assert normalize_fingerprint(written) == "sha256:AB:CD:" + ":".join(["EF"] * 30)


def test_a_short_fingerprint_is_refused() -> None:
    with pytest.raises(SyncWizardError) as caught:
        normalize_fingerprint("sha256:AB:CD")

    assert "64 hex digits" in caught.value.message


async def test_a_missing_ca_bundle_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-ca.pem"

    async with HealthClient(URL, ca_bundle=missing) as client:
        with pytest.raises(SyncWizardError) as caught:
            await client.fetch()

    assert str(missing) in caught.value.message
    assert "does not exist" in caught.value.message


async def test_a_fingerprint_on_a_plain_http_url_is_refused() -> None:
    async with HealthClient("http://sync:9090/alfresco/healthcheck", fingerprint="ab" * 32) as hc:
        with pytest.raises(SyncWizardError) as caught:
            await hc.fetch()

    assert "plain http" in caught.value.message


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("https://", "names no host"),
        ("ftp://sync/alfresco/healthcheck", "is not an http(s) URL"),
        ("sync:9090/alfresco/healthcheck", "is not an http(s) URL"),
        ("https://[::1/alfresco/healthcheck", "is not a valid URL"),
        ("https://sync:99999/alfresco/healthcheck", "is not a valid URL"),
    ],
)
async def test_a_bad_url_is_named_before_any_connection(url: str, complaint: str) -> None:
    async with HealthClient(url) as client:
        with pytest.raises(SyncWizardError) as caught:
            await client.fetch()

    assert f"health.url {url!r} {complaint}" in caught.value.message
    assert "/alfresco/healthcheck" in caught.value.hint
