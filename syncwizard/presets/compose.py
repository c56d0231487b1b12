"""The Sync Service in Alfresco's Docker Compose files (acs-deployment): the service
sync-service with one JAVA_OPTS string in its environment, its DB the repository's own
(`alfresco` on the `postgres` service), plain HTTP on 9090, the broker in the activemq
service.

`docker compose restart` does not read the environment again: the recover start and the
restart without it each recreate the container. -Drecover reaches JAVA_OPTS through an
interpolated variable, `${SYNCWIZARD_RECOVER_OPTION:-}`, added once to sync-service's
JAVA_OPTS in the compose file: docker compose reads it from the environment the wizard
gives the recover start only, and the plain recreate, without it, renders it empty.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from syncwizard.clients.service import RECOVER_ENV
from syncwizard.presets import common
from syncwizard.presets.model import Key, Preset, Section
from syncwizard.presets.options import (
    PresetOptions,
    absolute_path,
    compose_file,
    compose_service,
)

SERVICE = "sync-service"
COMPOSE_FILE = "compose.yaml"
INTERPOLATED = f"${{{RECOVER_ENV}:-}}"


def compose(path: str) -> str:
    return f"docker compose -f {shlex.quote(path)}"


def recreate(path: str, service: str) -> str:
    """Recreate one service's container from the compose file (its environment read
    again), without starting the services it depends on."""
    return f"{compose(path)} up -d --no-deps --force-recreate {shlex.quote(service)}"


def recover_start(path: str, service: str) -> str:
    """Checks, before the recreate, that the option reaches the service's environment (the
    compose file has the variable): else the recover start would start Sync plainly and the
    watch would take it for recovered. `docker compose config` renders the password into
    the pipe to grep only."""
    missing = (
        f"-Drecover does not reach the environment of {service}: add {INTERPOLATED} to "
        f"its JAVA_OPTS in {path}"
    )
    return (
        f"if ! {compose(path)} config {shlex.quote(service)} | grep -q -e -Drecover=; "
        f"then echo {shlex.quote(missing)} >&2; exit 1; fi; {recreate(path, service)}"
    )


def preset(options: PresetOptions) -> Preset:
    folder = absolute_path("compose_dir", options.compose_dir or str(Path.cwd()))
    path = compose_file(folder, options.compose_file or COMPOSE_FILE)
    service = compose_service("service", options.service or SERVICE)
    dc = compose(path)
    visible = (
        "the container's environment (`docker inspect`, anyone in the docker group) and the "
        "java command line (`ps` on the Docker host) until the recreate without it"
    )
    return Preset(
        name="compose",
        title=f"the Sync Service as the Compose service {service} ({path})",
        about="Run syncwizard on the Docker host, as a user allowed to run docker. Sync "
        "answers plain HTTP on the published port 9090 (and "
        f"{common.PROXY_HEALTH_PATH} behind the proxy on 8080); its database is the "
        "repository's own.",
        todo=(
            f"add {INTERPOLATED} at the end of {service}'s JAVA_OPTS in {path} (once): it "
            "is empty except during the recover start. Without it the recover start "
            "starts Sync without -Drecover",
            "put the database password (user alfresco) in ~/.pgpass, the broker's in "
            "$SYNCWIZARD_BROKER_PASSWORD",
            "check that postgres publishes 5432 and sync-service 9090 on this host (they "
            "do in Alfresco's compose files)",
        ),
        sections=(
            Section(
                "health",
                (
                    Key(
                        "url",
                        f"http://localhost:9090{common.HEALTH_PATH}",
                        "Plain HTTP: the compose file sets "
                        "-Ddw.server.applicationConnectors[0].type=http. Behind the proxy: "
                        f"http://localhost:8080{common.PROXY_HEALTH_PATH}.",
                    ),
                ),
            ),
            Section(
                "broker",
                (
                    common.jolokia(
                        f"http://localhost:8161{common.JOLOKIA_PATH}",
                        "Through Docker's published port the broker sees the bridge's "
                        "address, not loopback (inference): expect its console and Jolokia "
                        "to refuse.",
                    ),
                    *common.broker_user(),
                    common.topic(),
                    common.broker_cli(
                        f"{dc} exec -T activemq /opt/activemq/bin/activemq",
                        "Runs inside the activemq container (-T: no terminal, the wizard "
                        "reads its output).",
                    ),
                ),
                why=common.no_stomp_window(
                    "None is written here: the broker's activemq.xml is inside its image. A "
                    "connector added with `docker compose exec -T activemq sed -i ...` "
                    "survives `docker compose restart activemq` (not a recreate), but it is "
                    "reached through the published port 61613, not as loopback, so it listens "
                    "on the Docker host's addresses while it is open (inference). Weigh that "
                    "before you write them."
                ),
            ),
            Section(
                "repository_db",
                (
                    Key(
                        "conninfo",
                        "host=localhost port=5432 dbname=alfresco user=alfresco",
                        "The postgres service, published on 5432. Password: ~/.pgpass.",
                    ),
                ),
            ),
            Section(
                "sync_db",
                (
                    Key(
                        "conninfo",
                        "host=localhost port=5432 dbname=alfresco user=alfresco",
                        "The same database: Alfresco's compose file gives Sync the "
                        "repository's DB. The backup finds this and dumps Sync's tables "
                        "apart, after the wait (README: when the Sync Service shares the "
                        "repository database).",
                    ),
                ),
            ),
            Section(
                "repository",
                (
                    Key("stop", f"{dc} stop alfresco"),
                    Key("start", f"{dc} start alfresco"),
                    Key("ready_url", f"http://localhost:8080{common.READY_PATH}"),
                ),
            ),
            Section(
                "sync_service",
                (
                    Key("stop", f"{dc} stop {shlex.quote(service)}"),
                    Key(
                        "start_with_recover",
                        recover_start(path, service),
                        f"{common.RECOVER_RULE} docker compose reads it through "
                        f"{INTERPOLATED} in {service}'s JAVA_OPTS and recreates the "
                        "container with it (after checking it arrives). While it is set it is "
                        "readable in the "
                        "container's environment (`docker inspect`) and in the java "
                        "command line on this host.",
                    ),
                    Key(
                        "start",
                        recreate(path, service),
                        "The restart without recover: the same recreate without the "
                        "variable, so the new container's JAVA_OPTS has no -Drecover (a "
                        "`docker compose start` or `restart` would keep the old "
                        "environment).",
                    ),
                    Key("recover_option_visible_in", visible),
                    Key(
                        "process_pattern",
                        common.SYNC_PROCESS,
                        "A container's processes show on the Docker host: this finds Sync's "
                        "java process, to check -Drecover is gone after the restart "
                        "without it.",
                    ),
                ),
            ),
        ),
    )
