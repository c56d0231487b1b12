"""Whether the Alfresco repository serves requests: one GET of its readiness URL.

Alfresco answers `GET /alfresco/api/-default-/public/alfresco/versions/1/probes/-ready-`
with HTTP 200 once it serves requests (503 while it starts). Any URL that answers 200
when the repository is up does. TLS is verified (a CA file, or the system's CAs); the
whole call, connect to last byte, is bounded by `timeout`.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from pathlib import Path

import httpx

from syncwizard.errors import SyncWizardError

READY_PATH = "/alfresco/api/-default-/public/alfresco/versions/1/probes/-ready-"


@dataclass(frozen=True)
class ReadyAnswer:
    ready: bool
    detail: str  # "HTTP 200", "HTTP 503", "connection refused", ...


def _verify(ca_bundle: Path | None) -> ssl.SSLContext | bool:
    if ca_bundle is None:
        return True
    try:
        return ssl.create_default_context(cafile=str(ca_bundle))
    except (OSError, ssl.SSLError) as exc:
        raise SyncWizardError(
            f"the CA file {ca_bundle} for repository.ready_url cannot be read: {exc}",
            hint="set repository.ca_bundle to a PEM file of the CA that signed the "
            "repository's certificate",
            system="config",
        ) from None


async def repository_ready(
    url: str, *, ca_bundle: Path | None = None, timeout: float = 5.0
) -> ReadyAnswer:
    """One look at the repository's readiness URL; never raises for an answer or an outage."""
    verify = _verify(ca_bundle)
    try:
        async with (
            asyncio.timeout(timeout),
            httpx.AsyncClient(verify=verify, timeout=timeout) as client,
        ):
            response = await client.get(url)
    except TimeoutError:
        return ReadyAnswer(False, f"no answer within {timeout:g} s")
    except httpx.ConnectError as exc:
        return ReadyAnswer(False, f"no connection ({_first_line(exc)})")
    except httpx.HTTPError as exc:
        return ReadyAnswer(False, _first_line(exc) or type(exc).__name__)
    return ReadyAnswer(response.status_code == 200, f"HTTP {response.status_code}")


def _first_line(exc: BaseException) -> str:
    return next(iter(str(exc).strip().splitlines()), "")
