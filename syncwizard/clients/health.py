"""The Sync Service health check: fetched over verified TLS or plain HTTP, parsed in both
published shapes.

The endpoint is Dropwizard's HealthCheckServlet: HTTP 200 when every check is
healthy, 500 when any is not (same JSON, so it is parsed, not an outage), 501
when no check is registered. Sync 3.10+ (5.x included) adds `duration` (ms) and
`timestamp` to each check; Sync 2.1 has neither, no `minimumClientVersion`, and
may say `"healthy": "unknown"`. `syncServiceIdCheck.message` is the sync GUID.
The zip install serves HTTPS on 9090; compose, Helm and Ansible plain HTTP, and
`/syncservice/healthcheck` behind their proxy or ingress: any of these URLs works.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import socket
import ssl
import time
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

from syncwizard.clients.results import HealthCheck, HealthReport
from syncwizard.errors import SyncWizardError

SYSTEM = "health"
SYNC_ID_CHECK = "syncServiceIdCheck"
EXAMPLE_URL = "https://host:9090/alfresco/healthcheck"
PATHS = "/alfresco/healthcheck on the Sync Service, /syncservice/healthcheck behind a proxy"
MAX_BODY_BYTES = 1 << 20  # the real answer is about 1 kB; anything huge is not it
_SYNC_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_E = TypeVar("_E", bound=BaseException)
_FIX_TLS = (
    'Set health.ca_bundle to the CA (or certificate) file, or pin health.fingerprint = "sha256:…"'
)


def _error(message: str, hint: str) -> SyncWizardError:
    return SyncWizardError(message, hint=hint, system=SYSTEM)


# --- parsing ------------------------------------------------------------------------------------


def parse_health(
    body: bytes, status: int, url: str, *, fetched_at: float, content_type: str = ""
) -> HealthReport:
    """Parse a health answer; every check is kept, the known ones and any other.

    Raises SyncWizardError when the answer is not the Sync Service health check.
    """
    if status == 501:
        raise _error(
            f"The service at {url} answered HTTP 501: no health checks are registered.",
            hint="A Sync Service that is still starting can answer so: wait a minute and retry. "
            f"If it persists, this URL is not the Sync Service's health check ({EXAMPLE_URL}).",
        )
    data = _decode_json(body, status, url, content_type)
    status_note = "" if status in (200, 500) else f" (HTTP {status})"
    if not isinstance(data, dict):
        raise _error(
            f"The health check at {url} answered a JSON {_json_kind(data)}{status_note}, "
            "expected an object of named checks.",
            hint=f"Check that the URL is the Sync Service health check, e.g. {EXAMPLE_URL}",
        )
    if SYNC_ID_CHECK not in data:
        raise _error(
            f"{url} answers JSON{status_note} but not the Sync Service health check "
            f"(it has no '{SYNC_ID_CHECK}').",
            hint=f"Is it the right port/path, e.g. {EXAMPLE_URL}?",
        )
    checks: list[HealthCheck] = []
    durations: list[float] = []
    timestamps: list[str] = []
    for name, entry in data.items():
        checks.append(_parse_check(str(name), entry))
        if isinstance(entry, dict):
            duration = entry.get("duration")
            if isinstance(duration, int | float) and not isinstance(duration, bool):
                durations.append(float(duration))
            if isinstance(entry.get("timestamp"), str):
                timestamps.append(entry["timestamp"])
    id_check = next(check for check in checks if check.name == SYNC_ID_CHECK)
    return HealthReport(
        url=url,
        http_status=status,
        checks=tuple(checks),
        sync_id=_sync_id(id_check, url),
        fetched_at=fetched_at,
        # Dropwizard runs the checks one after another: the sum is the time the answer took.
        duration_ms=sum(durations) if durations else None,
        timestamp=max(timestamps) if timestamps else None,  # ISO-8601 UTC sorts as text
    )


def _decode_json(body: bytes, status: int, url: str, content_type: str) -> Any:
    if not body.strip():
        raise _error(
            f"{url} answered HTTP {status} with an empty body, "
            "expected the Sync Service health JSON.",
            hint=f"Check the URL, e.g. {EXAMPLE_URL}, and that the Sync Service is fully started.",
        )
    try:
        return json.loads(body)
    except ValueError:  # also UnicodeDecodeError
        pass
    shown = f"content-type {content_type or 'not given'}, starts {_first_chars(body)!r}"
    if status not in (200, 500):
        raise _error(
            f"{url} answered HTTP {status} instead of the health JSON ({shown}).",
            hint=_hint_for_status(status),
        )
    if "html" in content_type.lower() or body.lstrip()[:1] == b"<":
        raise _error(
            f"{url} answered an HTML page instead of the health JSON ({shown}).",
            hint="A proxy or login page may be in the way, or the URL points at a web page: "
            f"use the Sync Service's own health URL, e.g. {EXAMPLE_URL}",
        )
    raise _error(
        f"{url} answered something that is not JSON ({shown}).",
        hint=f"Check that the URL is the Sync Service health check, e.g. {EXAMPLE_URL}",
    )


def _hint_for_status(status: int) -> str:
    if status == 404:
        return f"Wrong path? The health check is at {PATHS}, e.g. {EXAMPLE_URL}"
    if status in (401, 403, 407):
        return (
            "Something in front of the Sync Service asks for credentials: point the URL at "
            "the Sync Service itself, or ask whoever runs the proxy."
        )
    if status in (502, 503, 504):
        return (
            "A proxy answered: the Sync Service behind it is down or unreachable from it. "
            "Check the Sync Service, or point the URL straight at it (port 9090)."
        )
    return f"Check that the URL is the Sync Service health check, e.g. {EXAMPLE_URL}"


def _first_chars(body: bytes, limit: int = 80) -> str:
    text = " ".join(body.decode("utf-8", errors="replace").split())
    return text if len(text) <= limit else text[:limit] + "…"


def _json_kind(data: object) -> str:
    if isinstance(data, list):
        return "array"
    if isinstance(data, str):
        return "string"
    if isinstance(data, bool):
        return "boolean"
    return "null" if data is None else "number"


def _parse_check(name: str, entry: object) -> HealthCheck:
    if not isinstance(entry, dict):
        return HealthCheck(name=name, healthy=None, message=_as_text(entry))
    message = _as_text(entry.get("message"))
    error = entry.get("error")
    if isinstance(error, dict):  # a check that threw: {"message": ..., "stack": [...]}
        error_message = _as_text(error.get("message"))
        if error_message and error_message not in message:
            message = f"{message} ({error_message})" if message else error_message
    return HealthCheck(name=name, healthy=_as_healthy(entry.get("healthy")), message=message)


def _as_healthy(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None  # "unknown" (Sync 2.1), missing, or anything else


def _as_text(value: object) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value)
    return text.strip()  # versionCheck's message starts with spaces


def _sync_id(id_check: HealthCheck, url: str) -> str:
    """The sync GUID, or "" when the check itself failed without naming one."""
    if _SYNC_ID.fullmatch(id_check.message):
        return id_check.message
    if id_check.healthy is not True:
        return ""  # the failing check is shown as such; its message is the reason, not a GUID
    raise _error(
        f"{url} reports a sync ID {id_check.message!r} that is not a GUID: expected the "
        "lowercase 8-4-4-4-12 hex form, like 0abd879e-bdc0-30be-8622-86e3f71f59a6.",
        hint="The queue names are built from this ID, so nothing can go on: check that the URL "
        "is the Sync Service and look at its log and configuration.",
    )


# --- fingerprints -------------------------------------------------------------------------------


def fingerprint_of_der(der: bytes) -> str:
    """`sha256:AB:CD:...` of a DER certificate."""
    return "sha256:" + ":".join(f"{byte:02X}" for byte in hashlib.sha256(der).digest())


def normalize_fingerprint(text: str) -> str:
    """Accept `sha256:AB:CD:...`, `AB:CD:...`, `abcd...` (or openssl's `SHA256 Fingerprint=`)."""
    bare = text.strip().lower()
    for prefix in ("sha256 fingerprint=", "sha256:", "sha256="):
        bare = bare.removeprefix(prefix)
    bare = bare.replace(":", "").replace(" ", "")
    if not _HEX64.fullmatch(bare):
        raise _error(
            f"health.fingerprint {text!r} is not a SHA-256 certificate fingerprint: expected "
            "64 hex digits, e.g. sha256:AB:CD:… (32 pairs).",
            hint="Print it on the Sync Service host: "
            "openssl x509 -in cert.pem -noout -fingerprint -sha256",
        )
    return "sha256:" + ":".join(bare[i : i + 2].upper() for i in range(0, 64, 2))


async def presented_fingerprint(host: str, port: int, timeout: float) -> str | None:
    """The fingerprint of the certificate a TLS server presents, without trusting it."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=context, server_hostname=host), timeout
        )
    except (OSError, TimeoutError, ssl.SSLError):
        return None
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
    finally:
        writer.close()
        with suppress(OSError, ssl.SSLError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), timeout)
    return fingerprint_of_der(der) if der else None


# --- the client ---------------------------------------------------------------------------------


class HealthClient:
    """Polls one Sync Service node's health check, reusing one connection pool across polls.

    TLS is always verified: by the system CA store, by `ca_bundle`, or by pinning
    the leaf certificate's SHA-256 `fingerprint` (the chain is then not checked
    against a CA, but the presented certificate must match the pin before the
    answer is used). With both, both apply. The HTTP client is made on first use,
    so constructing this is cheap and a bad setting surfaces as a fetch error.
    """

    def __init__(
        self,
        url: str,
        *,
        ca_bundle: Path | None = None,
        fingerprint: str | None = None,
        timeout: float = 5.0,
    ) -> None:
        self.url = url
        self.ca_bundle = Path(ca_bundle).expanduser() if ca_bundle is not None else None
        self.fingerprint = fingerprint
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None
        self._request: httpx.Request | None = None
        self._pin: str | None = None

    async def __aenter__(self) -> HealthClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._client is not None:
            client, self._client, self._request = self._client, None, None
            await client.aclose()

    async def fetch(self) -> HealthReport:
        """One GET of the health check, parsed. Raises SyncWizardError on any failure.

        `timeout` bounds the whole call (connect, TLS, request, every read): httpx's own
        timeouts apply to each read, so a server trickling a byte a second never trips them.
        """
        client = self._http_client()
        deadline = asyncio.get_running_loop().time() + self.timeout
        response: httpx.Response | None = None
        try:
            async with asyncio.timeout_at(deadline):
                if self._request is None:  # built once: polled every tick
                    self._request = client.build_request("GET", self.url)
                response = await client.send(self._request, stream=True)
                try:
                    if self._pin is not None:
                        self._check_pin(response)
                    if response.is_redirect:
                        raise _error(
                            f"{self.url} answered HTTP {response.status_code}, a redirect to "
                            f"{response.headers.get('location', '(no location)')}, "
                            "instead of the health JSON.",
                            hint="Set health.url to the Sync Service's own health URL; a "
                            "redirect usually means a proxy or a login page is in the way.",
                        )
                    body = await self._read_body(response)
                finally:
                    await response.aclose()
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise _error(
                f"health.url {self.url!r} is not a usable URL ({str(exc).rstrip('.')}).",
                hint=f"Use the Sync Service health URL, e.g. {EXAMPLE_URL}",
            ) from exc
        except (TimeoutError, httpx.TimeoutException) as exc:
            if response is None:
                raise _error(
                    f"The Sync Service at {self.url} is not answering (no answer within "
                    f"{self.timeout:g} s, the deadline set by health.timeout).",
                    hint="Is it running? Is the host and port right? (Default: port 9090.) If "
                    "it is only slow to answer, raise health.timeout.",
                ) from exc
            raise self._too_slow() from exc
        except httpx.TransportError as exc:
            raise await self._transport_error(exc, deadline) from exc
        except httpx.HTTPError as exc:  # e.g. a body that fails to decode
            raise self._not_answering(f"{type(exc).__name__}: {exc}") from exc
        return parse_health(
            body,
            response.status_code,
            self.url,
            fetched_at=time.time(),
            content_type=response.headers.get("content-type", ""),
        )

    def _http_client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                verify=self._ssl_context(),
                timeout=self.timeout,
                headers={"Accept": "application/json", "User-Agent": "syncwizard"},
                limits=httpx.Limits(max_connections=2, keepalive_expiry=30.0),
            )
        return self._client

    def _ssl_context(self) -> ssl.SSLContext:
        usage = f"Use the Sync Service health URL, e.g. {EXAMPLE_URL}"
        try:
            parts = urlsplit(self.url)
            host, _ = parts.hostname, parts.port  # .port raises on a bad port
        except ValueError as exc:
            raise _error(f"health.url {self.url!r} is not a valid URL ({exc}).", usage) from exc
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise _error(f"health.url {self.url!r} is not an http(s) URL.", hint=usage)
        if not host:
            raise _error(f"health.url {self.url!r} names no host.", hint=usage)
        if scheme == "http" and (self.ca_bundle or self.fingerprint):
            raise _error(
                f"health.url {self.url} is plain http, but a CA bundle or fingerprint is set "
                "for TLS.",
                hint="Use https:// (the Sync Service zip install serves https on 9090), or "
                "remove health.ca_bundle / health.fingerprint.",
            )
        if self.fingerprint:
            self._pin = normalize_fingerprint(self.fingerprint)
        if self.ca_bundle is not None:
            context = self._context_from_bundle(self.ca_bundle)
        else:
            context = ssl.create_default_context()  # the system CA store
        if self._pin is not None and self.ca_bundle is None:
            # Pinned: the chain is not CA-verified; _check_pin vets the leaf on every answer.
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _context_from_bundle(self, bundle: Path) -> ssl.SSLContext:
        if not bundle.is_file():
            raise _error(
                f"health.ca_bundle {bundle} does not exist (or is not a file).",
                hint="Point it at the PEM file of the CA (or the Sync Service's own certificate), "
                "or pin the certificate with health.fingerprint instead.",
            )
        try:
            return ssl.create_default_context(cafile=str(bundle))
        except (ssl.SSLError, OSError, ValueError) as exc:
            raise _error(
                f"health.ca_bundle {bundle} could not be read as PEM certificates: {exc}",
                hint="Give a PEM file (-----BEGIN CERTIFICATE-----). For a Java keystore "
                "(sync.jks), export it: keytool -exportcert -rfc -keystore sync.jks",
            ) from exc

    def _check_pin(self, response: httpx.Response) -> None:
        stream = response.extensions.get("network_stream")
        ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        if not der:
            raise _error(
                f"Could not read the TLS certificate presented by {self.url}, so it cannot be "
                "checked against health.fingerprint; the answer was not used.",
                hint="If a proxy sits in between, pin the proxy's certificate or use "
                "health.ca_bundle instead.",
            )
        presented = fingerprint_of_der(der)
        if presented != self._pin:
            raise _error(
                f"The TLS certificate presented by {self.url} does not match the pinned "
                f"fingerprint.\n  expected:  {self._pin}\n  presented: {presented}",
                hint="If the Sync Service's certificate was renewed, compare the presented "
                "fingerprint with the certificate on the server (openssl x509 -in cert.pem "
                "-noout -fingerprint -sha256) and update health.fingerprint; otherwise "
                "something else answers on this address.",
            )

    async def _read_body(self, response: httpx.Response) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise _error(
                    f"{self.url} answered more than {MAX_BODY_BYTES // 1024} kB; the health JSON "
                    "is about 1 kB.",
                    hint=f"Check that the URL is the Sync Service health check, e.g. {EXAMPLE_URL}",
                )
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_slow(self) -> SyncWizardError:
        return _error(
            f"The Sync Service at {self.url} answered too slowly: its answer was not complete "
            f"within the {self.timeout:g} s deadline (health.timeout, the limit for the whole "
            "call).",
            hint="It started to answer, then trickled or stalled: the Sync Service may be "
            "overloaded, or a proxy or the network in between holds the answer back. Check its "
            "load and what sits in between; if the network is merely slow, raise health.timeout.",
        )

    def _not_answering(self, reason: str) -> SyncWizardError:
        return _error(
            f"The Sync Service at {self.url} is not answering ({reason}).",
            hint="Is it running? Is the host and port right? (Default: port 9090.)",
        )

    async def _transport_error(self, exc: httpx.TransportError, deadline: float) -> SyncWizardError:
        untrusted = _cause_of_type(exc, ssl.SSLCertVerificationError)
        if untrusted is not None:
            return await self._untrusted_error(untrusted, deadline)
        tls_failure = _cause_of_type(exc, ssl.SSLError)
        if tls_failure is not None:
            return _error(
                f"The TLS handshake with {self.url} failed: {tls_failure}.",
                hint="Is this port serving HTTPS? The Sync Service zip install serves https on "
                "9090; Docker and Helm installs serve plain http.",
            )
        if urlsplit(self.url).scheme.lower() == "http" and isinstance(
            exc, httpx.RemoteProtocolError | httpx.ReadError
        ):
            return _error(
                f"{self.url} accepted the connection but closed it without an HTTP answer "
                f"({type(exc).__name__}): it may serve HTTPS on this port.",
                hint="The Sync Service zip install serves https on 9090: use https:// with "
                "health.ca_bundle or health.fingerprint. Compose, Helm and Ansible serve plain "
                "http.",
            )
        return self._not_answering(_connect_failure(exc, urlsplit(self.url).hostname or ""))

    async def _untrusted_error(
        self, failure: ssl.SSLCertVerificationError, deadline: float
    ) -> SyncWizardError:
        parts = urlsplit(self.url)
        host = parts.hostname or ""
        presented: str | None = None
        remaining = deadline - asyncio.get_running_loop().time()
        with suppress(TimeoutError):  # the fingerprint only helps: it gets what time is left
            async with asyncio.timeout_at(deadline):
                presented = await presented_fingerprint(host, parts.port or 443, remaining)
        trusted_by = f"the CA bundle {self.ca_bundle}" if self.ca_bundle else "the system CA store"
        reason = failure.verify_message or failure.reason or str(failure)
        if presented is not None:
            shown = f"It presents the certificate {presented}."
            fix = (
                "Set health.ca_bundle to the CA (or certificate) file, or pin this certificate "
                "once you have compared its fingerprint with the server's own "
                "(openssl x509 -in cert.pem -noout -fingerprint -sha256): "
                f'health.fingerprint = "{presented}"'
            )
        else:
            shown = "Its certificate could not be read for a fingerprint."
            fix = _FIX_TLS
        return _error(
            f"The TLS certificate of {self.url} is not trusted ({reason}; checked against "
            f"{trusted_by}). {shown}",
            hint=fix,
        )


def _cause_of_type(exc: BaseException, kind: type[_E]) -> _E | None:
    """Find `kind` in the chain httpx -> httpcore -> anyio -> ssl/socket (groups included)."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return None
        if isinstance(seen, kind):
            return seen
        if isinstance(seen, BaseExceptionGroup):
            for inner in seen.exceptions:
                if (found := _cause_of_type(inner, kind)) is not None:
                    return found
        seen = seen.__cause__ or seen.__context__
    return None


def _connect_failure(exc: BaseException, host: str) -> str:
    if _cause_of_type(exc, ConnectionRefusedError) is not None:
        return "connection refused"
    if _cause_of_type(exc, socket.gaierror) is not None:
        return f"the host name {host!r} does not resolve"
    return str(exc) or type(exc).__name__


async def fetch_cluster(clients: Sequence[HealthClient]) -> list[HealthReport]:
    """Fetch every node at once; they must agree on the sync GUID (a cluster shares one)."""
    if len(clients) == 1:  # the usual single node: no task to schedule
        return [await clients[0].fetch()]
    results = await asyncio.gather(*(client.fetch() for client in clients), return_exceptions=True)
    failures = [result for result in results if isinstance(result, BaseException)]
    for failure in failures:
        if not isinstance(failure, SyncWizardError):
            raise failure
    if len(failures) == 1:
        raise failures[0]
    if failures:
        raise _error(
            "\n".join(str(failure) for failure in failures),
            hint=next((f.hint for f in failures if isinstance(f, SyncWizardError)), ""),
        )
    reports = [result for result in results if isinstance(result, HealthReport)]
    if len({report.sync_id for report in reports if report.sync_id}) > 1:
        listing = "\n".join(f"  {report.url}: {report.sync_id or '(none)'}" for report in reports)
        raise _error(
            f"The Sync Service nodes report different sync GUIDs:\n{listing}",
            hint="A cluster shares one sync GUID (and one queue). Check each node's config.yml "
            "and that all point at the same Sync database; remove a node that is not part of "
            "this cluster from health.other_nodes.",
        )
    return reports
