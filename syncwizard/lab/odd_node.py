"""A second Sync Service node whose health check reports ANOTHER sync GUID: a node that
is configured against another Sync database (or another installation), listed in the
cluster's `health.other_nodes`. Only its health check is modelled: that is where the
wizard meets it (clients/health.py fetch_cluster refuses nodes that disagree).

`python -m syncwizard.lab.odd_node <lab root> <guid>` serves it on the lab's `odd_node`
port, with the stand-in's scheme and paths (HTTPS in the classic lab, plain HTTP in the
current one); `lab reset` and `lab down` stop it.
"""

from __future__ import annotations

import signal
import socket
import sys
import threading
import time
from pathlib import Path

from syncwizard.errors import SyncWizardError
from syncwizard.lab import process
from syncwizard.lab.layout import HOST, LabLayout, layout_from_root, read_settings

PART = "odd-node"
START_TIMEOUT = 15.0


def url(layout: LabLayout) -> str:
    from syncwizard.lab.standin_health import HEALTH_PATH

    scheme = "http" if read_settings(layout).current else "https"
    return f"{scheme}://{HOST}:{layout.ports.odd_node}{HEALTH_PATH}"


def run(root: Path, guid: str) -> int:
    from syncwizard.lab.standin_health import (
        CURRENT_VERSION_MESSAGE,
        HEALTH_PATH,
        MINIMUM_CLIENT_VERSION,
        PROXY_HEALTH_PATH,
        VERSION_MESSAGE,
        Check,
        HealthServer,
        Outcome,
        serve_in_thread,
    )

    layout = layout_from_root(root)
    settings = read_settings(layout)

    def healthy(message: str | None) -> Check:
        return lambda: Outcome(True, message)

    checks: dict[str, Check] = {
        "activeMQConnection": healthy(f"consuming Consumer.{guid}.{settings.topic}"),
        "databaseConnection": healthy("connected to the Sync DB"),
        "deadlocks": healthy(None),
        "eventsHealthCheck": healthy("no events in the last minute"),
        "minimumClientVersion": healthy(MINIMUM_CLIENT_VERSION),
        "repositoryConnection": healthy("connected to the repository"),
        "syncServiceIdCheck": healthy(guid),
        "versionCheck": healthy(CURRENT_VERSION_MESSAGE if settings.current else VERSION_MESSAGE),
    }
    tls = None if settings.current else (layout.cert_file, layout.key_file)
    paths = (HEALTH_PATH, PROXY_HEALTH_PATH) if settings.current else (HEALTH_PATH,)
    server = HealthServer((HOST, layout.ports.odd_node), checks, tls, paths=paths)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    serve_in_thread(server)
    print(f"second node's health check at {url(layout)} (sync GUID {guid})", flush=True)
    try:
        while not stopping.wait(0.5):
            pass
    finally:
        server.shutdown()
        server.server_close()
    return 0


def start(layout: LabLayout, guid: str) -> None:
    """Start the second node unless it runs; wait until its port answers."""
    if process.running_pid(layout, PART) is not None:
        return
    process.check_port_free(layout.ports.odd_node, "the second Sync Service node (odd_node)")
    process.spawn(
        layout, PART, [sys.executable, "-m", "syncwizard.lab.odd_node", str(layout.root), guid]
    )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.running_pid(layout, PART) is None:
            break
        try:
            socket.create_connection((HOST, layout.ports.odd_node), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SyncWizardError(
        f"the second Sync Service node did not answer on {HOST}:{layout.ports.odd_node} "
        f"within {START_TIMEOUT:g} s",
        hint=f"look at {layout.log_file(PART)}",
        system="lab",
    )


def stop(layout: LabLayout) -> bool:
    return process.stop(layout, PART)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m syncwizard.lab.odd_node <lab root> <guid>", file=sys.stderr)
        return 2
    return run(Path(argv[0]), argv[1])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
