"""Starting the repository stand-in and waiting for it; its `ctl` service commands; its rate."""

from __future__ import annotations

import http.client
import json
import os
import sys
import time
from pathlib import Path

from syncwizard.clients.repository import READY_PATH
from syncwizard.errors import SyncWizardError
from syncwizard.lab import process
from syncwizard.lab.layout import HOST, LabLayout
from syncwizard.lab.service_ctl import service_ctl
from syncwizard.lab.standin_control import child_env

PART = "repository"
PRODUCE_PATH = "/lab/produce"  # the stand-in's rate (POST) and count of events made (GET)
START_TIMEOUT_S = 20.0


def ready_url(layout: LabLayout) -> str:
    return f"http://{HOST}:{layout.ports.repository}{READY_PATH}"


def _request(
    layout: LabLayout, method: str, path: str, body: bytes | None = None
) -> tuple[int, bytes] | None:
    """(status, body) of one request to the stand-in, or None if it does not answer."""
    connection = http.client.HTTPConnection(HOST, layout.ports.repository, timeout=5)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


def is_running(layout: LabLayout) -> bool:
    return process.running_pid(layout, PART) is not None


def stop(layout: LabLayout) -> bool:
    """Stop the stand-in (SIGTERM: it finishes the event it is publishing). True if it ran."""
    return process.stop(layout, PART)


def start(layout: LabLayout) -> None:
    """Start the stand-in unless it runs; wait until its readiness probe answers 200."""
    if is_running(layout):
        return
    process.check_port_free(layout.ports.repository, "the repository stand-in")
    argv = [sys.executable, "-m", "syncwizard.lab.repository", str(layout.root)]
    process.spawn(layout, PART, argv, env=child_env(dict(os.environ)))
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if not is_running(layout):
            raise SyncWizardError(
                "The repository stand-in stopped during start-up.",
                hint=f"See {layout.log_file(PART)}.",
                system="lab",
            )
        answer = _request(layout, "GET", READY_PATH)
        if answer is not None and answer[0] == 200:
            return
        time.sleep(0.1)
    process.stop(layout, PART)
    raise SyncWizardError(
        f"The repository stand-in did not answer at {ready_url(layout)} within "
        f"{START_TIMEOUT_S:.0f} s; it was stopped.",
        hint=f"See {layout.log_file(PART)}.",
        system="lab",
    )


def set_rate(layout: LabLayout, rate: float) -> float:
    """Make the running stand-in produce `rate` events a second; the rate it runs at now."""
    answer = _request(layout, "POST", PRODUCE_PATH, json.dumps({"rate": rate}).encode())
    if answer is None or answer[0] != 200:
        raise SyncWizardError(
            f"The repository stand-in did not take the rate {rate:g} "
            f"({'no answer' if answer is None else f'HTTP {answer[0]}'}).",
            hint="Is the lab up? Run `syncwizard lab status`; start it with `syncwizard lab up`.",
            system="lab",
        )
    return float(json.loads(answer[1])["rate"])


def produced(layout: LabLayout) -> int | None:
    """How many events the running stand-in has produced; None if it does not answer."""
    answer = _request(layout, "GET", PRODUCE_PATH)
    if answer is None or answer[0] != 200:
        return None
    return int(json.loads(answer[1])["produced"])


def ctl(command: str, root: Path) -> int:
    """`ctl start|stop|status <lab root>`: 0 done, 1 failed or not running, 2 bad usage."""
    return service_ctl(
        command, root, label="Repository stand-in", part=PART, start=start, where=ready_url
    )
