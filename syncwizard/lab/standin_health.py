"""The stand-in's health check: real checks, the Dropwizard JSON shape, HTTPS or plain HTTP.

`GET /alfresco/healthcheck` answers like Dropwizard metrics >= 4.1's
HealthCheckServlet: a JSON object with sorted keys, each check
`{"healthy", "message", "duration", "timestamp"}` (`deadlocks` without a
message), HTTP 200 when all are healthy and 500 otherwise. The classic lab
serves it over HTTPS, as the zip install does; the current lab over plain HTTP,
as compose, Helm and Ansible do, and also on `/syncservice/healthcheck`, the
path their proxy or ingress gives it.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import math
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg

HEALTH_PATH = "/alfresco/healthcheck"
PROXY_HEALTH_PATH = "/syncservice/healthcheck"  # behind compose's proxy, Helm's ingress
VERSION_MESSAGE = "    5.0.0 (syncwizard lab stand-in)"
# Sync 5.3.5, what compose, Helm and Ansible ship today; the leading spaces are Sync's own.
CURRENT_VERSION_MESSAGE = "    5.3.5 (syncwizard lab stand-in)"
MINIMUM_CLIENT_VERSION = "1.0.0"
EVENT_LAG_TOLERANCE_MS = 5000
EVENT_LAG_WINDOW_S = 60.0

log = logging.getLogger("syncwizard.lab.standin")


@dataclass(frozen=True)
class Outcome:
    healthy: bool
    message: str | None  # None: the check has no message (Dropwizard's `deadlocks`)


Check = Callable[[], Outcome]


def dropwizard_timestamp(moment: datetime) -> str:
    """`2023-04-28T12:18:27.123Z`, as Dropwizard's `yyyy-MM-dd'T'HH:mm:ss.SSSXXX` in UTC."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def run_checks(checks: dict[str, Check]) -> tuple[int, dict[str, dict[str, object]]]:
    """Run every check; the HTTP status and the JSON object (keys sorted)."""
    results: dict[str, dict[str, object]] = {}
    for name in sorted(checks):
        started = time.perf_counter()
        try:
            outcome = checks[name]()
        except Exception as exc:  # a broken check reports itself unhealthy, never a crash
            outcome = Outcome(False, f"check failed: {exc}")
        entry: dict[str, object] = {"healthy": outcome.healthy}
        if outcome.message is not None:
            entry["message"] = outcome.message
        entry["duration"] = int((time.perf_counter() - started) * 1000)
        entry["timestamp"] = dropwizard_timestamp(datetime.now(UTC))
        results[name] = entry
    status = 200 if all(entry["healthy"] for entry in results.values()) else 500
    return status, results


class EventLag:
    """Lag of processed events (processed time - event timestamp) over the last minute."""

    def __init__(self, window_s: float = EVENT_LAG_WINDOW_S) -> None:
        self._window_s = window_s
        self._samples: deque[tuple[float, float]] = deque()
        self._lock = threading.Lock()

    def record(self, event_timestamp_ms: int, processed_at: float | None = None) -> None:
        now = time.time() if processed_at is None else processed_at
        with self._lock:
            self._samples.append((now, max(0.0, now * 1000 - event_timestamp_ms)))

    def p99(self, now: float | None = None) -> tuple[float, int] | None:
        """(p99 lag in ms, sample count) over the window, or None when no events arrived."""
        cutoff = (time.time() if now is None else now) - self._window_s
        with self._lock:
            while self._samples and self._samples[0][0] < cutoff:
                self._samples.popleft()
            lags = sorted(lag for _, lag in self._samples)
        if not lags:
            return None
        return lags[max(0, math.ceil(0.99 * len(lags)) - 1)], len(lags)

    def check(self, now: float | None = None) -> Outcome:
        measured = self.p99(now)
        if measured is None:
            return Outcome(True, "no events in the last minute")
        p99_ms, count = measured
        healthy = p99_ms <= EVENT_LAG_TOLERANCE_MS
        return Outcome(
            healthy,
            f"p99 event lag {p99_ms:.0f} ms over {count} events in the last minute "
            f"(tolerance {EVENT_LAG_TOLERANCE_MS} ms)",
        )


class DatabaseProbe:
    """`SELECT 1` on a database over one kept connection, reconnecting after a failure."""

    def __init__(self, conninfo: str, passfile: Path, label: str) -> None:
        self._conninfo = conninfo
        self._passfile = passfile
        self._label = label
        self._connection: psycopg.Connection | None = None
        self._lock = threading.Lock()

    def check(self) -> Outcome:
        with self._lock:
            try:
                if self._connection is None or self._connection.closed:
                    self._connection = psycopg.connect(
                        self._conninfo,
                        passfile=str(self._passfile),
                        connect_timeout=3,
                        autocommit=True,
                        application_name="syncwizard-standin-health",
                    )
                self._connection.execute("SELECT 1").fetchone()
            except psycopg.Error as exc:
                self._discard()
                reason = _first_line(exc)
                return Outcome(False, f"cannot reach the {self._label}: {reason}")
        return Outcome(True, f"connected to the {self._label}")

    def _discard(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(psycopg.Error):
                self._connection.close()
        self._connection = None

    def close(self) -> None:
        with self._lock:
            self._discard()


class RepositoryProbe:
    """The repository's readiness probe over HTTP, as the real Sync Service's
    repositoryConnection check asks the repository."""

    def __init__(self, host: str, port: int) -> None:
        self._host = host
        self._port = port

    def check(self) -> Outcome:
        from syncwizard.clients.repository import READY_PATH

        connection = http.client.HTTPConnection(self._host, self._port, timeout=2)
        try:
            connection.request("GET", READY_PATH)
            status = connection.getresponse().status
        except (OSError, http.client.HTTPException) as exc:
            return Outcome(
                False,
                f"cannot reach the repository at http://{self._host}:{self._port}: "
                f"{exc.strerror if isinstance(exc, OSError) and exc.strerror else exc}",
            )
        finally:
            connection.close()
        if status != 200:
            return Outcome(False, f"the repository answers HTTP {status}")
        return Outcome(True, f"connected to the repository at http://{self._host}:{self._port}")


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class _HealthHandler(BaseHTTPRequestHandler):
    server: HealthServer
    protocol_version = "HTTP/1.1"  # keep-alive, as the real Jetty does: one handshake per poller
    timeout = 10  # an idle kept-alive connection is closed after this many seconds
    server_version = "syncwizard-standin"
    sys_version = ""

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] not in self.server.paths:
            self._send(404, {"code": 404, "message": "HTTP 404 Not Found"})
            return
        status, body = run_checks(self.server.checks)
        self._send(status, body)

    def _send(self, status: int, body: object) -> None:
        payload = json.dumps(body, sort_keys=True).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "must-revalidate,no-cache,no-store")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass  # the dashboard polls every second; only errors are worth the log


class HealthServer(ThreadingHTTPServer):
    """The health endpoint over HTTPS (`tls` = (cert, key)) or, with `tls` None, plain HTTP;
    the TLS handshake runs in the request thread."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        checks: dict[str, Check],
        tls: tuple[Path, Path] | None,
        *,
        paths: tuple[str, ...] = (HEALTH_PATH,),
    ) -> None:
        self.checks = checks
        self.paths = paths
        self.tls: ssl.SSLContext | None = None
        if tls is not None:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(*tls)
        super().__init__(address, _HealthHandler)

    @property
    def scheme(self) -> str:
        return "http" if self.tls is None else "https"

    # A TCP server's request is a socket; typeshed's base also allows a UDP server's tuple.
    def finish_request(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        request.settimeout(10)
        # Headers and body go out as two writes: without this, Nagle against delayed ACK
        # holds every kept-alive answer back ~40 ms.
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        try:
            tls_request = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            log.debug("TLS handshake from %s failed: %s", client_address, exc)
            return
        try:
            super().finish_request(tls_request, client_address)
        finally:
            with contextlib.suppress(OSError):
                tls_request.close()


def serve_in_thread(server: HealthServer) -> threading.Thread:
    thread = threading.Thread(
        target=server.serve_forever, name=f"health-{server.scheme}", daemon=True
    )
    thread.start()
    return thread
