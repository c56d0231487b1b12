"""The lab's repository stand-in: the Alfresco repository as the restore sees it.

One process (`python -m syncwizard.lab.repository <lab root>`) that
- answers over plain HTTP on 127.0.0.1 like the repository: its readiness probe
  (`.../probes/-ready-`, 200) and `.../people/-me-`, which checks the admin's
  credentials by basic auth (the Sync stand-in's -Drecover asks it, as the real Sync
  Service reconciles with the repository as its admin);
- produces events in the background, like a repository in use: each change committed
  to the repository DB, then its event published to the topic (`rate` a second, 0 = idle;
  `POST /lab/produce {"rate": r}` changes it while it runs).

Driven like a service by the lab profile's `repository.stop` / `repository.start`:
`python -m syncwizard.lab.repository ctl start|stop|status <lab root>`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import random
import signal
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from syncwizard.clients.repository import READY_PATH
from syncwizard.lab.layout import HOST, LabLayout, layout_from_root, read_settings
from syncwizard.lab.repository_control import PRODUCE_PATH, ctl
from syncwizard.lab.service_ctl import service_main
from syncwizard.lab.standin_recover import (
    REPOSITORY_ADMIN,
    RecoverCredentials,
    credentials_match,
)

ME_PATH = "/alfresco/api/-default-/public/alfresco/versions/1/people/-me-"
LIVE_PATH = "/alfresco/api/-default-/public/alfresco/versions/1/probes/-live-"
RETRY_AFTER_S = 1.0

log = logging.getLogger("syncwizard.lab.repository")


def read_admin_password(layout: LabLayout) -> str | None:
    try:
        return layout.repo_admin_password_file.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None


class Producer:
    """Changes nodes and publishes their events at `rate` a second, until stopped."""

    def __init__(self, layout: LabLayout, rate: float) -> None:
        self.layout = layout
        self.rate = rate
        self.produced = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        asyncio.run(self._produce())

    async def _produce(self) -> None:
        import psycopg
        import stomp.exception

        from syncwizard.lab.generator import RepositoryChanges, _connect_stomp, _disconnect
        from syncwizard.lab.node_events import HEADERS
        from syncwizard.lab.postgres import conninfo

        destination = f"/topic/{read_settings(self.layout).topic}"
        db: psycopg.AsyncConnection[Any] | None = None
        link: Any = None
        changes: RepositoryChanges | None = None
        complained = ""
        while not self.stopping.is_set():
            rate = self.rate
            if rate <= 0:
                await asyncio.sleep(0.2)
                continue
            started = time.monotonic()
            try:
                if db is None or changes is None:
                    db = await psycopg.AsyncConnection.connect(
                        conninfo(self.layout, "repository"),
                        passfile=str(self.layout.pgpass),
                        connect_timeout=5,
                        application_name="syncwizard-lab-repository",
                        autocommit=True,
                    )
                    changes = RepositoryChanges(db, random.Random())
                    await changes.load()
                if link is None:
                    link = await asyncio.to_thread(_connect_stomp, self.layout)
                event = await changes.change()
                await asyncio.to_thread(
                    link[0].send, destination, event.to_json(), headers=dict(HEADERS)
                )
                self.produced += 1
                complained = ""
            except Exception as exc:  # the DB swapped away, the broker down: try again soon
                why = f"{type(exc).__name__}: {str(exc).strip()}"
                if why != complained:
                    log.warning("producing paused: %s", why)
                    complained = why
                if isinstance(exc, psycopg.Error) and db is not None:
                    await db.close()
                    db = changes = None
                if isinstance(exc, OSError | stomp.exception.StompException) and link:
                    await asyncio.to_thread(_disconnect, *link)
                    link = None
                await asyncio.sleep(RETRY_AFTER_S)
                continue
            await asyncio.sleep(max(0.0, 1.0 / rate - (time.monotonic() - started)))
        if link is not None:
            await asyncio.to_thread(_disconnect, *link)
        if db is not None:
            await db.close()


def _handler(layout: LabLayout, producer: Producer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "syncwizard-lab-repository"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # requests carry credentials in headers: never logged

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if status == HTTPStatus.UNAUTHORIZED:
                self.send_header("WWW-Authenticate", 'Basic realm="Alfresco"')
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path in (READY_PATH, LIVE_PATH):
                self._send(200, {"entry": {"message": "readyProbe: Success - Tested"}})
            elif self.path == ME_PATH:
                if self._admin():
                    self._send(200, {"entry": {"id": REPOSITORY_ADMIN, "enabled": True}})
                else:
                    self._send(401, {"error": {"statusCode": 401, "briefSummary": "Login failed"}})
            elif self.path == PRODUCE_PATH:
                self._send(200, {"rate": producer.rate, "produced": producer.produced})
            else:
                self._send(404, {"error": {"statusCode": 404}})

        def do_POST(self) -> None:
            if self.path != PRODUCE_PATH:
                self._send(404, {"error": {"statusCode": 404}})
                return
            try:
                length = int(self.headers.get("Content-Length", "0"))
                rate = float(json.loads(self.rfile.read(length))["rate"])
            except (ValueError, KeyError, TypeError):
                self._send(400, {"error": 'expected {"rate": <events a second, 0 or more>}'})
                return
            producer.rate = max(0.0, rate)
            log.info("producing %g events a second", producer.rate)
            self._send(200, {"rate": producer.rate, "produced": producer.produced})

        def _admin(self) -> bool:
            header = self.headers.get("Authorization", "")
            if not header.startswith("Basic "):
                return False
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return False
            expected = read_admin_password(layout)
            return bool(expected) and credentials_match(
                RecoverCredentials(user, password), expected or ""
            )

    return Handler


def run(root: Path) -> int:
    """The stand-in's main: returns the process exit status."""
    logging.basicConfig(
        stream=sys.stdout, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    logging.getLogger("stomp.py").setLevel(logging.ERROR)
    layout = layout_from_root(root)
    settings = read_settings(layout)
    producer = Producer(layout, settings.produce_rate)
    try:
        server = ThreadingHTTPServer((HOST, layout.ports.repository), _handler(layout, producer))
    except OSError as exc:
        log.error("cannot serve HTTP on %s:%d: %s", HOST, layout.ports.repository, exc)
        return 4
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    producing = threading.Thread(target=producer.run, daemon=True)
    producing.start()
    log.info(
        "repository stand-in at http://%s:%d%s, producing %g events a second",
        HOST, layout.ports.repository, READY_PATH, producer.rate,
    )  # fmt: skip
    stopping.wait()
    producer.stopping.set()
    producing.join(timeout=10)
    server.shutdown()
    server.server_close()
    log.info("stopped (%d events produced)", producer.produced)
    return 0


def main(argv: list[str]) -> int:
    return service_main("syncwizard.lab.repository", argv, run=run, ctl=ctl)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
