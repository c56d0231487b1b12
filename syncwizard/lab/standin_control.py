"""Starting the stand-in and waiting for it; the `ctl start|stop|status` service commands."""

from __future__ import annotations

import http.client
import json
import os
import ssl
import sys
import time
from pathlib import Path

import syncwizard
from syncwizard.errors import SyncWizardError
from syncwizard.lab import process
from syncwizard.lab.layout import CURRENT, HOST, LabLayout, flavour_of
from syncwizard.lab.service_ctl import service_ctl
from syncwizard.lab.standin_health import HEALTH_PATH
from syncwizard.lab.standin_recover import RECOVER_ENV, RecoverOptionError, recover_credentials

PART = "standin"
START_TIMEOUT_S = 20.0
RECOVER_TIMEOUT_S = 120.0


def health_url(layout: LabLayout) -> str:
    """Where the stand-in serves its health check: plain HTTP in the current flavour."""
    scheme = "http" if flavour_of(layout) == CURRENT else "https"
    return f"{scheme}://{HOST}:{layout.ports.standin}{HEALTH_PATH}"


def _health_status(
    layout: LabLayout, tls: ssl.SSLContext | None
) -> tuple[int, dict[str, object]] | None:
    """(HTTP status, JSON) of the stand-in's health check, or None if it does not answer."""
    connection = (
        http.client.HTTPConnection(HOST, layout.ports.standin, timeout=5)
        if tls is None
        else http.client.HTTPSConnection(HOST, layout.ports.standin, context=tls, timeout=5)
    )
    try:
        connection.request("GET", HEALTH_PATH)
        response = connection.getresponse()
        body = response.read()
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()
    try:
        return response.status, json.loads(body)
    except ValueError:
        return response.status, {}


def _last_error(layout: LabLayout) -> str:
    """The last ERROR line the stand-in logged (never holds a password), or ''."""
    try:
        with layout.log_file(PART).open("rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(0, log.tell() - 8192))
            tail = log.read().decode(errors="replace").splitlines()
    except OSError:
        return ""
    errors = [line.split(" ERROR ", 1)[1] for line in tail if " ERROR " in line]
    return errors[-1] if errors else ""


def child_env(env: dict[str, str]) -> dict[str, str]:
    # The stand-in must import this very package, installed or not.
    package_parent = str(Path(syncwizard.__file__).resolve().parents[1])
    pythonpath = env.get("PYTHONPATH", "")
    env = dict(env)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, pythonpath) if p)
    return env


def _recover_requested(env: dict[str, str]) -> bool:
    try:
        return recover_credentials(env) is not None
    except RecoverOptionError as exc:
        raise SyncWizardError(
            f"The recover option is malformed: {exc}.",
            hint=f"Set {RECOVER_ENV} to -Drecover=<repository admin>:<password>.",
            system="lab",
        ) from None


def _still_recovering(health: dict[str, object]) -> bool:
    return any(
        isinstance(check, dict) and str(check.get("message", "")).startswith("recovering")
        for check in health.values()
    )


def start_and_wait(layout: LabLayout, env: dict[str, str]) -> None:
    """Spawn the stand-in; wait until its health check answers and, with recover, it has
    recovered.

    Raises SyncWizardError (naming the log) if it exits, or if it is already
    running while a recover is asked for (the recover would silently not happen).
    """
    recovering = _recover_requested(env)
    log_path = layout.log_file(PART)
    if process.running_pid(layout, PART) is not None:
        if recovering:
            raise SyncWizardError(
                "The Sync Service stand-in is already running, so the recover option was not "
                "applied.",
                hint="Stop it first, then start it again with the recover option.",
                system="lab",
            )
        return
    process.check_port_free(layout.ports.standin, "the Sync Service stand-in")
    if not (layout.cert_file.exists() and layout.key_file.exists()):
        from syncwizard.lab.certs import make_self_signed

        make_self_signed(layout.cert_file, layout.key_file, host=HOST)
    argv = [sys.executable, "-m", "syncwizard.lab.standin", str(layout.root)]
    process.spawn(layout, PART, argv, env=child_env(env))
    tls: ssl.SSLContext | None = None
    if flavour_of(layout) != CURRENT:
        tls = ssl.create_default_context(cafile=str(layout.cert_file))
        tls.check_hostname = False  # our own process on 127.0.0.1; the chain is still verified
    deadline = time.monotonic() + (RECOVER_TIMEOUT_S if recovering else START_TIMEOUT_S)
    answered = False
    while time.monotonic() < deadline:
        if process.running_pid(layout, PART) is None:
            reason = _last_error(layout) or "no error was logged"
            raise SyncWizardError(
                f"The Sync Service stand-in stopped during start-up: {reason}.",
                hint=f"See {log_path}.",
                system="lab",
            )
        answer = _health_status(layout, tls)
        answered = answered or answer is not None
        if answer is not None and not (recovering and _still_recovering(answer[1])):
            return
        time.sleep(0.1)
    if answered:  # recovering takes longer than we wait: leave it to finish
        raise SyncWizardError(
            f"The Sync Service stand-in is still recovering after {RECOVER_TIMEOUT_S:.0f} s; "
            "it keeps running.",
            hint=f"Watch its health check and {log_path}.",
            system="lab",
        )
    process.stop(layout, PART)
    raise SyncWizardError(
        f"The Sync Service stand-in did not answer on {health_url(layout)} "
        f"within {START_TIMEOUT_S:.0f} s; it was stopped.",
        hint=f"See {log_path}.",
        system="lab",
    )


def ctl(command: str, root: Path) -> int:
    """`ctl start|stop|status <lab root>`: 0 done, 1 failed or not running, 2 bad usage."""
    return service_ctl(
        command,
        root,
        label="Sync Service stand-in",
        part=PART,
        start=lambda layout: start_and_wait(layout, dict(os.environ)),
        where=health_url,
    )
