"""The health client against a real HTTPS server with a certificate from the lab's cert maker."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from syncwizard.clients.health import HealthClient, fetch_cluster
from syncwizard.errors import SyncWizardError
from syncwizard.lab.certs import fingerprint_sha256, make_self_signed

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).parents[1] / "fixtures" / "health"
GUID = "0abd879e-bdc0-30be-8622-86e3f71f59a6"
OTHER_GUID = "5f1c2a77-08e4-3154-9d2b-6a1e0c4b7f10"
LOGIN_PAGE = b"<!DOCTYPE html><html><head><title>Sign in - proxy</title></head><body></body></html>"

# path -> (status, content type, body)
ROUTES: dict[str, tuple[int, str, bytes]] = {
    "/alfresco/healthcheck": (200, "application/json", (FIXTURES / "sync-2023.json").read_bytes()),
    "/node2/alfresco/healthcheck": (
        200,
        "application/json",
        (FIXTURES / "sync-2023-other-node.json").read_bytes(),
    ),
    "/unhealthy/alfresco/healthcheck": (
        500,
        "application/json",
        (FIXTURES / "sync-2023-unhealthy.json").read_bytes(),
    ),
    "/login": (200, "text/html; charset=utf-8", LOGIN_PAGE),
}


@dataclass
class Server:
    base: str  # https://127.0.0.1:PORT
    port: int
    cert: Path
    connections: list[tuple[str, int]] = field(default_factory=list)  # client address per request


class HealthHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real Jetty does
    server_record: Server

    def do_GET(self) -> None:
        self.server_record.connections.append(self.client_address)
        status, content_type, body = ROUTES.get(self.path, (404, "text/html", b"<h1>404</h1>"))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(tls: ssl.SSLContext | None, cert: Path, host: str = "127.0.0.1") -> Iterator[Server]:
    httpd = ThreadingHTTPServer((host, 0), HealthHandler)
    httpd.daemon_threads = True
    port = httpd.server_address[1]
    scheme = "https" if tls else "http"
    record = Server(base=f"{scheme}://{host}:{port}", port=port, cert=cert)
    handler = type("Handler", (HealthHandler,), {"server_record": record})
    httpd.RequestHandlerClass = handler
    if tls is not None:
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield record
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def cert_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("standin-tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    make_self_signed(cert, key)
    return cert, key


@pytest.fixture(scope="module")
def https_server(cert_pair: tuple[Path, Path]) -> Iterator[Server]:
    cert, key = cert_pair
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    yield from serve(tls, cert)


@pytest.fixture(scope="module")
def https_server_elsewhere(cert_pair: tuple[Path, Path]) -> Iterator[Server]:
    """The same certificate served on 127.0.0.2, a name the certificate does not list."""
    cert, key = cert_pair
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    yield from serve(tls, cert, host="127.0.0.2")


@pytest.fixture(scope="module")
def http_server(cert_pair: tuple[Path, Path]) -> Iterator[Server]:
    yield from serve(None, cert_pair[0])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def fetch_error(client: HealthClient) -> SyncWizardError:
    async with client:
        with pytest.raises(SyncWizardError) as caught:
            await client.fetch()
    assert caught.value.system == "health"
    assert client.url in caught.value.message
    assert caught.value.hint
    return caught.value


def test_the_cert_maker_writes_a_private_key_and_keeps_an_existing_pair(
    cert_pair: tuple[Path, Path],
) -> None:
    cert, key = cert_pair
    assert key.stat().st_mode & 0o777 == 0o600
    before = fingerprint_sha256(cert)

    make_self_signed(cert, key)

    assert fingerprint_sha256(cert) == before


async def test_a_ca_bundle_verifies_the_self_signed_certificate(https_server: Server) -> None:
    url = f"{https_server.base}/alfresco/healthcheck"
    async with HealthClient(url, ca_bundle=https_server.cert) as client:
        report = await client.fetch()

    assert report.http_status == 200
    assert report.sync_id == GUID
    assert report.healthy is True


async def test_localhost_is_in_the_certificate_too(https_server: Server) -> None:
    url = f"https://localhost:{https_server.port}/alfresco/healthcheck"
    async with HealthClient(url, ca_bundle=https_server.cert) as client:
        assert (await client.fetch()).sync_id == GUID


async def test_polls_reuse_one_connection(https_server: Server) -> None:
    url = f"{https_server.base}/alfresco/healthcheck"
    async with HealthClient(url, ca_bundle=https_server.cert) as client:
        seen_before = len(https_server.connections)
        for _ in range(3):
            await client.fetch()
        addresses = https_server.connections[seen_before:]

    assert len(addresses) == 3
    assert len(set(addresses)) == 1, "every poll went over the same TLS connection"


async def test_a_pinned_fingerprint_is_accepted_in_any_spelling(https_server: Server) -> None:
    pin = fingerprint_sha256(https_server.cert).removeprefix("sha256:").replace(":", "").lower()
    url = f"{https_server.base}/alfresco/healthcheck"
    async with HealthClient(url, fingerprint=pin) as client:
        first = await client.fetch()
        second = await client.fetch()

    assert first.sync_id == second.sync_id == GUID


async def test_without_a_ca_the_error_shows_the_presented_fingerprint(
    https_server: Server,
) -> None:
    presented = fingerprint_sha256(https_server.cert)

    error = await fetch_error(HealthClient(f"{https_server.base}/alfresco/healthcheck"))

    assert "is not trusted" in error.message
    assert "self-signed" in error.message
    assert presented in error.message
    assert "health.ca_bundle" in error.hint
    assert f'health.fingerprint = "{presented}"' in error.hint


async def test_a_ca_bundle_of_another_certificate_is_not_trusted(
    https_server: Server, tmp_path: Path
) -> None:
    other_cert = tmp_path / "other.pem"
    make_self_signed(other_cert, tmp_path / "other-key.pem")
    url = f"{https_server.base}/alfresco/healthcheck"

    error = await fetch_error(HealthClient(url, ca_bundle=other_cert))

    assert "is not trusted" in error.message
    assert str(other_cert) in error.message
    assert fingerprint_sha256(https_server.cert) in error.message


async def test_a_host_the_certificate_does_not_name_is_not_trusted(
    https_server_elsewhere: Server,
) -> None:
    url = f"{https_server_elsewhere.base}/alfresco/healthcheck"

    error = await fetch_error(HealthClient(url, ca_bundle=https_server_elsewhere.cert))

    assert "is not trusted" in error.message
    assert "mismatch" in error.message
    assert fingerprint_sha256(https_server_elsewhere.cert) in error.message


async def test_a_pin_does_not_depend_on_the_host_name(https_server_elsewhere: Server) -> None:
    url = f"{https_server_elsewhere.base}/alfresco/healthcheck"
    pin = fingerprint_sha256(https_server_elsewhere.cert)
    async with HealthClient(url, fingerprint=pin) as client:
        assert (await client.fetch()).sync_id == GUID


async def test_a_wrong_pin_shows_expected_and_presented(https_server: Server) -> None:
    wrong = "sha256:" + ":".join(["AB"] * 32)
    url = f"{https_server.base}/alfresco/healthcheck"

    error = await fetch_error(HealthClient(url, fingerprint=wrong))

    assert "does not match the pinned fingerprint" in error.message
    assert f"expected:  {wrong}" in error.message
    assert f"presented: {fingerprint_sha256(https_server.cert)}" in error.message


async def test_http_500_with_the_health_json_is_parsed(https_server: Server) -> None:
    url = f"{https_server.base}/unhealthy/alfresco/healthcheck"
    async with HealthClient(url, ca_bundle=https_server.cert) as client:
        report = await client.fetch()

    assert report.http_status == 500
    assert report.healthy is False
    events = report.check("eventsHealthCheck")
    assert events is not None and events.healthy is False
    assert report.sync_id == GUID


async def test_an_html_answer_is_explained(https_server: Server) -> None:
    error = await fetch_error(
        HealthClient(f"{https_server.base}/login", ca_bundle=https_server.cert)
    )

    assert "HTML page instead of the health JSON" in error.message
    assert "text/html; charset=utf-8" in error.message
    assert "Sign in - proxy" in error.message


async def test_a_wrong_path_names_the_404(https_server: Server) -> None:
    error = await fetch_error(
        HealthClient(f"{https_server.base}/healthcheck", ca_bundle=https_server.cert)
    )

    assert "HTTP 404" in error.message
    assert "/alfresco/healthcheck" in error.hint


async def test_connection_refused_says_the_service_is_not_answering() -> None:
    url = f"https://127.0.0.1:{free_port()}/alfresco/healthcheck"

    error = await fetch_error(HealthClient(url))

    assert f"The Sync Service at {url} is not answering (connection refused)" in error.message
    assert "Is it running?" in error.hint


async def test_a_server_that_never_answers_times_out() -> None:
    with socket.socket() as silent:  # listens, never accepts: the TLS handshake hangs
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"https://127.0.0.1:{silent.getsockname()[1]}/alfresco/healthcheck"

        error = await fetch_error(HealthClient(url, timeout=0.3))

    assert "no answer within 0.3 s" in error.message


async def test_https_to_a_plain_http_port_is_a_handshake_error(http_server: Server) -> None:
    url = f"https://127.0.0.1:{http_server.port}/alfresco/healthcheck"

    error = await fetch_error(HealthClient(url))

    assert "TLS handshake" in error.message
    assert "HTTPS" in error.hint


async def test_plain_http_to_an_https_port_suggests_https(https_server: Server) -> None:
    """An admin who copies a compose URL (http://) onto a zip install's HTTPS port."""
    url = https_server.base.replace("https://", "http://") + "/alfresco/healthcheck"
    error = await fetch_error(HealthClient(url))
    assert "closed it without an HTTP answer" in error.message
    assert "it may serve HTTPS on this port" in error.message
    assert "use https://" in error.hint


async def test_plain_http_works_for_docker_installs(http_server: Server) -> None:
    async with HealthClient(f"{http_server.base}/alfresco/healthcheck") as client:
        assert (await client.fetch()).sync_id == GUID


async def test_a_cluster_that_agrees_on_the_guid(https_server: Server) -> None:
    urls = [f"https://{host}:{https_server.port}/alfresco/healthcheck"
            for host in ("127.0.0.1", "localhost")]  # fmt: skip
    clients = [HealthClient(url, ca_bundle=https_server.cert) for url in urls]
    try:
        reports = await fetch_cluster(clients)
    finally:
        for client in clients:
            await client.aclose()

    assert [report.url for report in reports] == urls
    assert {report.sync_id for report in reports} == {GUID}


async def test_a_cluster_with_different_guids_is_refused(https_server: Server) -> None:
    node1 = f"{https_server.base}/alfresco/healthcheck"
    node2 = f"{https_server.base}/node2/alfresco/healthcheck"
    clients = [HealthClient(url, ca_bundle=https_server.cert) for url in (node1, node2)]
    try:
        with pytest.raises(SyncWizardError) as caught:
            await fetch_cluster(clients)
    finally:
        for client in clients:
            await client.aclose()

    assert f"{node1}: {GUID}" in caught.value.message
    assert f"{node2}: {OTHER_GUID}" in caught.value.message
    assert "A cluster shares one sync GUID" in caught.value.hint


async def test_a_cluster_with_a_node_down_names_that_node(https_server: Server) -> None:
    down = f"https://127.0.0.1:{free_port()}/alfresco/healthcheck"
    clients = [
        HealthClient(f"{https_server.base}/alfresco/healthcheck", ca_bundle=https_server.cert),
        HealthClient(down, ca_bundle=https_server.cert),
    ]
    try:
        with pytest.raises(SyncWizardError) as caught:
            await fetch_cluster(clients)
    finally:
        for client in clients:
            await client.aclose()

    assert f"The Sync Service at {down} is not answering" in caught.value.message
