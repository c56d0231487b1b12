"""The practice lab as one stack: bring every part up or down, say what runs where.

Order: PostgreSQL and the broker start side by side (neither needs the other),
then the repository stand-in (its events need both), then the Sync Service
stand-in, which needs all three. `up` is safe to run twice:
each part starts only what is not running. The flavour (`classic` or `current`,
see `layout.FLAVOURS`) is kept in lab.json, so `up` again keeps it. `down` stops
exactly the processes the lab started, by pid, and keeps every byte of data.
"""

from __future__ import annotations

import secrets
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from syncwizard.clients.names import EVENT2_TOPIC, LEGACY_TOPIC
from syncwizard.errors import SyncWizardError
from syncwizard.lab import (
    broker,
    certs,
    mariadb,
    odd_node,
    postgres,
    repository_control,
    standin,
    volume,
)
from syncwizard.lab.layout import (
    CLASSIC,
    CURRENT,
    DB_ENGINES,
    FLAVOURS,
    HOST,
    MARIADB,
    POSTGRES,
    LabLayout,
    LabPorts,
    LabSettings,
    flavour_of,
    read_settings,
    write_settings,
)
from syncwizard.paths import private_dir, write_private

PROFILE_NAME = "lab"
BROKER_USER = "admin"
BROKER_PASSWORD = broker.LAB_BROKER_PASSWORD  # what `_start_broker` configures the broker with
REPO_ADMIN_USER = "admin"
LAB_HEALTHY_TIMEOUT = 120.0  # seconds the wizard watches the lab's Sync Service come back


@dataclass(frozen=True)
class PartState:
    name: str
    running: bool
    where: str


def _write_secrets(layout: LabLayout) -> None:
    private_dir(layout.secrets_dir)
    # Written every time: the file must say the password the broker is configured with,
    # also when a lab made by another version left one that is no longer true.
    write_private(layout.broker_password_file, BROKER_PASSWORD + "\n")
    if not layout.repo_admin_password_file.exists():
        write_private(layout.repo_admin_password_file, secrets.token_urlsafe(12) + "\n")


def settings_for(
    layout: LabLayout,
    *,
    event2: bool,
    produce_rate: float = 0.0,
    shared_db: bool = False,
    flavour: str = CLASSIC,
    db: str = POSTGRES,
) -> LabSettings:
    """What `up` runs with. The current flavour models compose's Sync 5.x: it implies event2
    and the Sync Service's tables in the repository database."""
    if db not in DB_ENGINES:
        raise SyncWizardError(
            f"{db!r} is not a lab database: expected one of {', '.join(DB_ENGINES)}.",
            hint="`lab up --db mariadb` runs a MariaDB beside the lab's PostgreSQL",
            system="lab",
        )
    if flavour not in FLAVOURS:
        raise SyncWizardError(
            f"{flavour!r} is not a lab flavour: expected one of {', '.join(FLAVOURS)}.",
            hint="`lab up --like current` for today's hardened deployments, "
            "`--like classic` for the lab as it always was",
            system="lab",
        )
    return LabSettings(
        ports=layout.ports,
        topic=EVENT2_TOPIC if event2 or flavour == CURRENT else LEGACY_TOPIC,
        produce_rate=produce_rate,
        shared_db=shared_db or flavour == CURRENT,
        flavour=flavour,
        db=db,
    )


def up(
    layout: LabLayout,
    *,
    event2: bool = False,
    produce_rate: float = 0.0,
    shared_db: bool = False,
    flavour: str | None = None,
    db: str | None = None,
) -> LabSettings:
    """Start every part that is not running yet; return what the lab runs with.

    `produce_rate`: events a second the repository stand-in makes in the background;
    `shared_db`: the Sync Service's tables in the repository database (compose's layout);
    `flavour`: what the lab models; None keeps the one it was brought up as (classic if new);
    `db`: MARIADB also runs the lab's MariaDB (its own server, the same sample data) beside
    the PostgreSQL the stand-ins use; None keeps the choice it was brought up with.
    """
    private_dir(layout.root)
    previous = read_settings(layout) if layout.settings_file.exists() else None
    if flavour is None:
        flavour = previous.flavour if previous is not None else CLASSIC
    if db is None:
        db = previous.db if previous is not None else POSTGRES
    settings = settings_for(
        layout,
        event2=event2,
        produce_rate=produce_rate,
        shared_db=shared_db,
        flavour=flavour,
        db=db,
    )
    if previous is not None:
        moved = previous.topic != settings.topic or previous.shared_db != settings.shared_db
        if previous.flavour != settings.flavour or (moved and standin.is_running(layout)):
            # Another flavour: another broker configuration and health check. Or a running
            # stand-in consumes the old topic's queue, or writes to the other database.
            # Restart all but the database.
            repository_control.stop(layout)
            standin.stop(layout)
            broker.stop(layout)
    if previous is not None and previous.db == MARIADB and settings.db != MARIADB:
        mariadb.stop(layout)
    write_settings(layout, settings)
    _write_secrets(layout)
    certs.make_self_signed(layout.cert_file, layout.key_file, host=HOST)
    with ThreadPoolExecutor(max_workers=3) as pool:
        database = pool.submit(postgres.ensure_cluster, layout)
        messaging = pool.submit(_start_broker, layout, settings.topic, settings.flavour)
        beside = pool.submit(mariadb.ensure_server, layout) if settings.db == MARIADB else None
        database.result()
        messaging.result()
        if beside is not None:
            beside.result()
            mariadb.write_connection_file(layout)
    repository_control.start(layout)
    repository_control.set_rate(layout, produce_rate)  # also when it ran already
    standin.start(layout)
    return settings


def _start_broker(layout: LabLayout, topic: str, flavour: str) -> None:
    broker.ensure_configured(layout, topic=topic, flavour=flavour)
    broker.start(layout)


def down(layout: LabLayout) -> list[str]:
    """Stop the lab's processes, the producing repository first; return the names of those
    that ran."""
    stopped = []
    volume.unmount_all(layout)  # a scenario's backup volume
    for name, stop in (
        ("odd-node", odd_node.stop),
        ("repository", repository_control.stop),
        ("standin", standin.stop),
        ("broker", broker.stop),
        ("postgres", postgres.stop),
        ("mariadb", mariadb.stop),
    ):
        if stop(layout):
            stopped.append(name)
    return stopped


def parts(layout: LabLayout) -> list[PartState]:
    ports = layout.ports
    jolokia = f"jolokia http://{HOST}:{ports.jolokia}/api/jolokia"
    if flavour_of(layout) == CURRENT:
        name = broker.CURRENT_BROKER_NAME
        where = f"{name}: openwire {HOST}:{ports.openwire}, no STOMP, {jolokia} (POST, admin)"
        health = f"http://{HOST}:{ports.standin} (also /syncservice/healthcheck)"
    else:
        where = f"stomp {HOST}:{ports.stomp}, {jolokia}"
        health = f"https://{HOST}:{ports.standin}"
    states = [
        PartState("postgres", postgres.is_running(layout), f"{HOST}:{ports.postgres}"),
        PartState("broker", broker.is_running(layout), where),
        PartState("standin", standin.is_running(layout), health),
        PartState(
            "repository",
            repository_control.is_running(layout),
            f"http://{HOST}:{ports.repository} (readiness probe, events in the background)",
        ),
    ]
    if layout.settings_file.exists() and read_settings(layout).db == MARIADB:
        where = f"{HOST}:{ports.mariadb} (beside: the stand-ins use PostgreSQL)"
        states.append(PartState("mariadb", mariadb.is_running(layout), where))
    return states


def _health_section(layout: LabLayout, flavour: str) -> dict[str, object]:
    url = f"{HOST}:{layout.ports.standin}/alfresco/healthcheck"
    if flavour == CURRENT:
        return {"url": f"http://{url}"}  # plain HTTP, as compose, Helm and Ansible serve it
    return {"url": f"https://{url}", "ca_bundle": str(layout.cert_file)}


def profile_sections(
    layout: LabLayout, topic: str, flavour: str | None = None
) -> dict[str, dict[str, object]]:
    """The `lab` profile: every part of the lab, secrets by file, never inline.

    The broker's name is never written: the wizard discovers it, as it must on a real
    broker (Helm's is `<release>-activemq`). In the current flavour `broker.stomp`
    names the port nothing listens on, as compose maps 61613 to a broker without STOMP
    (left out, it would default to localhost:61613, maybe another broker)."""
    flavour = flavour or flavour_of(layout)
    ports = layout.ports
    ctl = f"{sys.executable} -m syncwizard.lab.standin ctl"
    repository_ctl = f"{sys.executable} -m syncwizard.lab.repository ctl"
    root = str(layout.root)
    broker_section: dict[str, object] = {
        "jolokia_url": f"http://{HOST}:{ports.jolokia}/api/jolokia",
        "user": BROKER_USER,
        "password_file": str(layout.broker_password_file),
        "stomp": f"stomp://{HOST}:{ports.stomp}",
        "topic": topic,
    }
    if flavour == CURRENT:
        # What an admin's commands do on a broker shipped without STOMP: a loopback
        # connector in activemq.xml, applied by a restart, for the restore's clear only.
        window = f"{sys.executable} -m syncwizard.lab.broker_stomp"
        broker_section["stomp_open"] = f"{window} open {root}"
        broker_section["stomp_close"] = f"{window} close {root}"
    return {
        "health": _health_section(layout, flavour),
        "broker": broker_section,
        "repository_db": {
            "conninfo": postgres.conninfo(layout, "repository"),
            "passfile": str(layout.pgpass),
        },
        "sync_db": {"conninfo": postgres.sync_conninfo(layout), "passfile": str(layout.pgpass)},
        "sync_service": {
            "stop": f"{ctl} stop {root}",
            "start": f"{ctl} start {root}",
            # The recover option travels in $SYNCWIZARD_RECOVER_OPTION, inherited by the stand-in.
            "start_with_recover": f"{ctl} start {root}",
            "drift_command": f"{sys.executable} -m syncwizard.lab.drift {root}",
            "log": str(layout.log_file(standin.PART)),
            # Its process, to check -Drecover is gone from it after the plain restart.
            "pid_file": str(layout.standin_pid_file),
            # The stand-in is healthy seconds after a start: a trainee whose service never
            # gets healthy (the practice scenario) hears which check fails within 2 minutes,
            # not after the 10 a large repository's recover may need.
            "healthy_timeout": LAB_HEALTHY_TIMEOUT,
        },
        "repository": {
            "stop": f"{repository_ctl} stop {root}",
            "start": f"{repository_ctl} start {root}",
            "ready_url": repository_control.ready_url(layout),
            "quiet_window": 3.0,
        },
        "backup": {"dir": str(layout.root / "backups")},
    }


def write_lab_profile(
    layout: LabLayout, config_path: Path, topic: str, flavour: str | None = None
) -> None:
    from syncwizard.config_file import write_profile

    write_profile(
        config_path,
        PROFILE_NAME,
        profile_sections(layout, topic, flavour),
        comment="written by `syncwizard lab up`; rewritten each time",
    )


MARIADB_PROFILE_NAME = "lab-mariadb"


def mariadb_profile_sections(
    layout: LabLayout, topic: str, flavour: str | None = None
) -> dict[str, dict[str, object]]:
    """The `lab-mariadb` profile: the `lab` one with both databases on the lab's MariaDB
    (the broker, the health check and the stand-ins stay the lab's)."""
    return {**profile_sections(layout, topic, flavour), **mariadb_db_sections(layout)}


def mariadb_db_sections(layout: LabLayout) -> dict[str, dict[str, object]]:
    """`repository_db` and `sync_db` on the MariaDB of the lab at `layout`, the passwords
    by their 0600 files."""
    from syncwizard.lab import mariadb

    return {
        role: {
            "conninfo": f"mariadb://{where['user']}@{where['host']}:{where['port']}/"
            f"{where['database']}",
            "password_file": where["password_file"],
        }
        for role, where in mariadb.connection_settings(layout).items()
    }


def write_mariadb_profile(
    layout: LabLayout, config_path: Path, topic: str, flavour: str | None = None
) -> None:
    from syncwizard.config_file import write_profile

    write_profile(
        config_path,
        MARIADB_PROFILE_NAME,
        mariadb_profile_sections(layout, topic, flavour),
        comment="written by `syncwizard lab up --db mariadb`; rewritten each time",
        make_default_if_new=False,
    )


def layout_at(root: Path) -> LabLayout:
    """The lab under `root`, with the ports it was started with (the default ones if never)."""
    if LabLayout(root).settings_file.exists():
        return LabLayout(root, read_settings(LabLayout(root)).ports)
    return LabLayout(root, LabPorts())


def default_layout() -> LabLayout:
    """The practice lab under the user's state dir, with the ports it was started with."""
    from syncwizard.paths import state_dir

    return layout_at(state_dir() / "lab")
