"""The health client over plain HTTP, as compose, Helm and Ansible serve it: the Sync 5.x
answer straight from the service and through the proxy path, on a loopback server."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from syncwizard.clients.health import HealthClient, parse_health
from syncwizard.errors import SyncWizardError

FIXTURES = Path(__file__).parents[1] / "fixtures" / "health"
GUID_5 = "7c3f2a10-5b8e-3d4f-a1c2-9e8d7f6a5b4c"
ROUTES = {
    "/alfresco/healthcheck": (200, "sync-5.3.json"),
    "/syncservice/healthcheck": (200, "sync-5.3.json"),  # the proxy's / ingress's path
    "/syncservice/down/healthcheck": (500, "sync-5.3-unhealthy.json"),
}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status, name = ROUTES.get(self.path, (404, ""))
        body = (FIXTURES / name).read_bytes() if name else b"<html>Not Found</html>"
        self.send_response(status)
        self.send_header("Content-Type", "application/json" if name else "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def base() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_sync_5_shape_gives_the_guid_the_version_and_the_timings() -> None:
    body = (FIXTURES / "sync-5.3.json").read_bytes()
    report = parse_health(body, 200, "http://sync:9090/alfresco/healthcheck", fetched_at=1.0)

    assert report.sync_id == GUID_5 and report.healthy is True
    version = report.check("versionCheck")
    assert version is not None and version.message == "5.3.5 (2025-06-12T09:31:44Z)"
    assert report.duration_ms == 0 + 1 + 2 + 3 + 0 + 41 + 4 + 0
    assert report.timestamp == "2026-11-30T08:14:02.169Z"


@pytest.mark.parametrize("path", ["/alfresco/healthcheck", "/syncservice/healthcheck"])
async def test_plain_http_and_the_proxy_path_are_read_alike(base: str, path: str) -> None:
    async with HealthClient(base + path) as client:
        report = await client.fetch()

    assert report.url == base + path and report.sync_id == GUID_5
    assert report.http_status == 200 and len(report.checks) == 8


async def test_an_unhealthy_sync_5_behind_the_proxy_is_parsed_not_an_outage(base: str) -> None:
    async with HealthClient(base + "/syncservice/down/healthcheck") as client:
        report = await client.fetch()

    assert report.http_status == 500 and report.healthy is False
    failing = [check.name for check in report.checks if check.healthy is False]
    assert failing == ["activeMQConnection"]


async def test_a_wrong_path_names_both_health_paths(base: str) -> None:
    async with HealthClient(base + "/syncservice/health") as client:
        with pytest.raises(SyncWizardError) as caught:
            await client.fetch()

    assert "HTTP 404" in caught.value.message
    assert "/alfresco/healthcheck" in caught.value.hint
    assert "/syncservice/healthcheck" in caught.value.hint


async def test_plain_http_to_a_port_that_hangs_up_suggests_https() -> None:
    """What a TLS-only port (the zip install's 9090) does with a plain request: it closes."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]

    def hang_up() -> None:
        connection, _ = listener.accept()
        connection.recv(1024)
        connection.close()

    thread = threading.Thread(target=hang_up, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{port}/alfresco/healthcheck"
        async with HealthClient(url, timeout=5) as client:
            with pytest.raises(SyncWizardError) as caught:
                await client.fetch()
    finally:
        thread.join(5)
        listener.close()

    assert "closed it without an HTTP answer" in caught.value.message
    assert "https://" in caught.value.hint
