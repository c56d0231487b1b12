"""The lab's Sync Service stand-in: one process with a health check and a STOMP consumer.

The health check is HTTPS in the classic lab, plain HTTP (also on the proxy path)
in the current one; see `standin_health`.

Run as `python -m syncwizard.lab.standin <lab root>` (the lab starts it with
`start()` below), or drive it like a service with
`python -m syncwizard.lab.standin ctl start|stop|status <lab root>`; `ctl
start` hands its own environment to the stand-in, so `SYNCWIZARD_RECOVER_OPTION`
reaches it without ever being on a command line.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from syncwizard.lab import process
from syncwizard.lab.layout import HOST, LabLayout, LabSettings, layout_from_root, read_settings
from syncwizard.lab.service_ctl import service_main

if TYPE_CHECKING:
    from syncwizard.lab.standin_consumer import EventConsumer
    from syncwizard.lab.standin_health import Check, DatabaseProbe, EventLag, RepositoryProbe
    from syncwizard.lab.standin_recover import RecoverCredentials

PART = "standin"
# For practice: keep the "recovering" state visible at least this long (default: no wait).
RECOVER_MIN_SECONDS_ENV = "SYNCWIZARD_STANDIN_RECOVER_MIN_SECONDS"
REPOSITORY_WAIT_S = 10.0  # a recover start waits this long for the repository to answer

log = logging.getLogger("syncwizard.lab.standin")


# --- the stand-in process ----------------------------------------------------------------
def _broker_password(layout: LabLayout) -> str:
    try:
        return layout.broker_password_file.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return "admin"


def run(root: Path) -> int:
    """The stand-in's main: returns the process exit status."""
    from syncwizard.lab.standin_recover import RecoverOptionError, recover_credentials

    logging.basicConfig(
        stream=sys.stdout, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    logging.getLogger("stomp.py").setLevel(logging.ERROR)  # our own lines say it once
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())

    layout = layout_from_root(root)
    settings = read_settings(layout)
    try:
        credentials = recover_credentials(os.environ)
    except RecoverOptionError as exc:
        log.error("recover refused: %s", exc)
        return 2
    log.info("Sync Service stand-in starting (pid %d, lab %s)", os.getpid(), layout.root)
    _write_pid_file(layout)
    try:
        return _run(layout, settings, credentials, stopping)
    finally:
        _remove_pid_file(layout)


def _write_pid_file(layout: LabLayout) -> None:
    layout.standin_dir.mkdir(parents=True, exist_ok=True)
    tmp = layout.standin_pid_file.with_suffix(".tmp")
    tmp.write_text(f"{os.getpid()}\n", encoding="utf-8")
    os.replace(tmp, layout.standin_pid_file)


def _remove_pid_file(layout: LabLayout) -> None:
    """Remove the pid file if it still names this process (a newer stand-in's stays)."""
    try:
        if layout.standin_pid_file.read_text(encoding="utf-8").strip() == str(os.getpid()):
            layout.standin_pid_file.unlink()
    except OSError:
        pass


def _run(
    layout: LabLayout,
    settings: LabSettings,
    credentials: RecoverCredentials | None,
    stopping: threading.Event,
) -> int:
    import psycopg

    from syncwizard.clients.names import sync_queue_name
    from syncwizard.lab.broker import parts_stomp_port
    from syncwizard.lab.postgres import conninfo
    from syncwizard.lab.postgres import sync_conninfo as sync_home_conninfo
    from syncwizard.lab.standin_consumer import BrokerAddress, EventConsumer
    from syncwizard.lab.standin_health import (
        HEALTH_PATH,
        PROXY_HEALTH_PATH,
        DatabaseProbe,
        EventLag,
        HealthServer,
        RepositoryProbe,
        serve_in_thread,
    )
    from syncwizard.lab.standin_recover import ask_repository, reconcile
    from syncwizard.lab.standin_store import connect, ensure_sync_id

    sync_conninfo, repo_conninfo = sync_home_conninfo(layout), conninfo(layout, "repository")
    try:
        with connect(sync_conninfo, layout.pgpass, "syncwizard-standin") as sync_db:
            sync_id = ensure_sync_id(sync_db)
    except psycopg.Error as exc:
        log.error("cannot open the Sync DB (%s): %s", sync_conninfo, str(exc).strip())
        return 3
    log.info("sync service id (GUID) %s", sync_id)

    if credentials is not None:
        problem = ask_repository(HOST, layout.ports.repository, credentials, wait=REPOSITORY_WAIT_S)
        if problem:
            log.error("%s", problem)
            return 1
        log.info("recover requested (%s): reconciling before consuming", credentials)

    recovering = threading.Event()  # set while reconciling: the health check says so
    if credentials is not None:
        recovering.set()
    lag = EventLag()
    queue = sync_queue_name(sync_id, settings.topic)
    broker = BrokerAddress(HOST, parts_stomp_port(layout), "admin", _broker_password(layout))
    consumer = EventConsumer(broker, queue, sync_conninfo, layout.pgpass, lag)
    sync_probe = DatabaseProbe(sync_conninfo, layout.pgpass, "Sync DB")
    repo_probe = RepositoryProbe(HOST, layout.ports.repository)

    checks = _health_checks(consumer, lag, sync_probe, repo_probe, sync_id, recovering, settings)
    # Current deployments serve plain HTTP, also behind their proxy's path; the zip, HTTPS.
    tls = None if settings.current else (layout.cert_file, layout.key_file)
    paths = (HEALTH_PATH, PROXY_HEALTH_PATH) if settings.current else (HEALTH_PATH,)
    try:
        server = HealthServer((HOST, layout.ports.standin), checks, tls, paths=paths)
    except OSError as exc:
        log.error("cannot serve the health check on %s:%d: %s", HOST, layout.ports.standin, exc)
        return 4
    serve_in_thread(server)
    for path in paths:
        log.info("health check at %s://%s:%d%s", server.scheme, HOST, layout.ports.standin, path)

    try:
        if credentials is not None:
            minimum = _recover_min_seconds()
            with (
                connect(repo_conninfo, layout.pgpass, "syncwizard-standin-recover") as repo_db,
                connect(sync_conninfo, layout.pgpass, "syncwizard-standin-recover") as sync_db,
            ):
                summary = reconcile(repo_db, sync_db)
            stopping.wait(max(0.0, minimum - summary.seconds))
            log.info(
                "recover done: %d nodes added, %d removed in %.2f s (sync_recovery id %d)",
                summary.added, summary.removed, summary.seconds, summary.recovery_id,
            )  # fmt: skip
            recovering.clear()
        if not stopping.is_set():
            consumer.start()
            log.info("consuming %s (ack client-individual, prefetch 3000)", consumer.destination)
        while not stopping.wait(0.5):
            pass
        log.info("stopping: SIGTERM received")
        return 0
    except psycopg.Error as exc:
        log.error("recover failed: %s", str(exc).strip())
        return 3
    finally:
        server.shutdown()
        server.server_close()
        consumer.stop()
        sync_probe.close()
        log.info("stopped (%d events processed)", consumer.processed)


def _health_checks(
    consumer: EventConsumer,
    lag: EventLag,
    sync_probe: DatabaseProbe,
    repo_probe: RepositoryProbe,
    sync_id: str,
    recovering: threading.Event,
    settings: LabSettings,
) -> dict[str, Check]:
    """The eight checks of the real Sync Service, each answered from live state."""
    from syncwizard.lab.standin_health import (
        CURRENT_VERSION_MESSAGE,
        MINIMUM_CLIENT_VERSION,
        VERSION_MESSAGE,
        Outcome,
    )

    version = CURRENT_VERSION_MESSAGE if settings.current else VERSION_MESSAGE

    def unless_recovering(check: Check, message: str) -> Check:
        return lambda: Outcome(False, f"recovering: {message}") if recovering.is_set() else check()

    return {
        "activeMQConnection": unless_recovering(
            consumer.check, "consuming starts once the Sync DB is reconciled"
        ),
        "databaseConnection": sync_probe.check,
        "deadlocks": lambda: Outcome(True, None),
        "eventsHealthCheck": lag.check,
        "minimumClientVersion": lambda: Outcome(True, MINIMUM_CLIENT_VERSION),
        "repositoryConnection": unless_recovering(
            repo_probe.check, "reconciling the Sync DB with the repository"
        ),
        "syncServiceIdCheck": lambda: Outcome(True, sync_id),
        "versionCheck": lambda: Outcome(True, version),
    }


def _recover_min_seconds() -> float:
    text = os.environ.get(RECOVER_MIN_SECONDS_ENV, "")
    try:
        return max(0.0, float(text)) if text.strip() else 0.0
    except ValueError:
        log.warning("ignoring %s=%r: not a number of seconds", RECOVER_MIN_SECONDS_ENV, text)
        return 0.0


# --- control, for the lab and the lab profile's service commands ---------------------------
def is_running(layout: LabLayout) -> bool:
    return process.running_pid(layout, PART) is not None


def stop(layout: LabLayout) -> bool:
    """Stop the stand-in (SIGTERM, clean disconnect). True if it was running."""
    return process.stop(layout, PART)


def start(layout: LabLayout, *, env: Mapping[str, str] | None = None) -> None:
    """Start the stand-in unless it runs; wait until its health check answers (and it has
    recovered).

    `env` (default: ours) is the stand-in's whole environment; a recover option
    travels in it as `SYNCWIZARD_RECOVER_OPTION` or in `JAVA_OPTS`, never in argv.
    """
    from syncwizard.lab.standin_control import start_and_wait

    start_and_wait(layout, dict(os.environ if env is None else env))


def _ctl(command: str, root: Path) -> int:
    from syncwizard.lab.standin_control import ctl

    return ctl(command, root)


def main(argv: list[str]) -> int:
    return service_main("syncwizard.lab.standin", argv, run=run, ctl=_ctl)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
