"""Where the practice lab keeps its parts, and on which ports they listen."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"


@dataclass(frozen=True)
class LabPorts:
    postgres: int = 15432
    openwire: int = 61616
    stomp: int = 61613
    jolokia: int = 8161
    standin: int = 9090
    repository: int = 18080  # the repository stand-in (readiness probe, admin check)
    # The `current` flavour's broker has no STOMP for the wizard: this STOMP connector is
    # only for the lab's own stand-ins (their stand-in for OpenWire), never in a profile.
    lab_link: int = 61623
    mariadb: int = 13306  # only with `lab up --db mariadb`
    # A second Sync Service node's health check (lab/odd_node.py), for a training scenario.
    odd_node: int = 9091


# The test suite runs its own lab on other ports, so a practice lab can stay up.
# Below 32768: outside Linux's range for outgoing ports, so a client reconnecting to a
# stopped part cannot end up connected to itself on that part's port.
# SYNCWIZARD_TEST_PORT_OFFSET shifts them all, so two test sessions can share a machine.
_OFFSET = int(os.environ.get("SYNCWIZARD_TEST_PORT_OFFSET", "0") or 0)
TEST_PORTS = LabPorts(
    postgres=25432 + _OFFSET,
    openwire=21616 + _OFFSET,
    stomp=21613 + _OFFSET,
    jolokia=28161 + _OFFSET,
    standin=29090 + _OFFSET,
    repository=28080 + _OFFSET,
    lab_link=26613 + _OFFSET,
    mariadb=23306 + _OFFSET,
    odd_node=27090 + _OFFSET,
)

# What a lab models (`lab up --like NAME`): `classic` is the lab as it always was (broker with
# STOMP and a permissive Jolokia, the Sync Service on HTTPS); `current` is shaped like the
# deployments Alfresco publishes today (see the README's lab section).
CLASSIC = "classic"
CURRENT = "current"
FLAVOURS = (CLASSIC, CURRENT)

# The lab's database engines (`lab up --db`).
POSTGRES = "postgres"
MARIADB = "mariadb"
DB_ENGINES = (POSTGRES, MARIADB)


@dataclass(frozen=True)
class LabLayout:
    """The lab's folders under `<state dir>/lab`. Everything is on 127.0.0.1."""

    root: Path
    ports: LabPorts = LabPorts()

    @property
    def pg_dir(self) -> Path:
        return self.root / "postgres"

    @property
    def broker_dir(self) -> Path:
        return self.root / "broker"

    @property
    def standin_dir(self) -> Path:
        return self.root / "standin"

    @property
    def secrets_dir(self) -> Path:
        return self.root / "secrets"

    @property
    def pgpass(self) -> Path:
        return self.secrets_dir / "pgpass"

    @property
    def broker_password_file(self) -> Path:
        return self.secrets_dir / "broker-password"

    @property
    def repo_admin_password_file(self) -> Path:
        """The repository admin password that `-Drecover=admin:<password>` must carry."""
        return self.secrets_dir / "repo-admin-password"

    @property
    def cert_file(self) -> Path:
        return self.standin_dir / "cert.pem"

    @property
    def key_file(self) -> Path:
        return self.standin_dir / "key.pem"

    @property
    def standin_pid_file(self) -> Path:
        """The Sync Service stand-in's own pid file, as syncservice.sh keeps one: the lab
        profile's sync_service.pid_file, by which the wizard finds its process."""
        return self.standin_dir / "syncservice.pid"

    @property
    def pids_file(self) -> Path:
        return self.root / "pids.json"

    @property
    def settings_file(self) -> Path:
        """lab.json: ports and mode (legacy or event2) the lab was brought up with."""
        return self.root / "lab.json"

    def log_file(self, part: str) -> Path:
        return self.root / "logs" / f"{part}.log"


@dataclass(frozen=True)
class LabSettings:
    """What `lab up` chose, saved in lab.json so every lab process agrees."""

    ports: LabPorts
    topic: str  # LEGACY_TOPIC, or EVENT2_TOPIC with `lab up --event2`
    # Events a second the repository stand-in makes in the background (`lab up --produce`).
    produce_rate: float = 0.0
    # The Sync Service's tables inside the repository database (compose's layout), used by
    # the stand-in as the repository's user: `lab up --shared-db`.
    shared_db: bool = False
    flavour: str = CLASSIC  # CLASSIC or CURRENT (`lab up --like`)
    # The databases' engine: POSTGRES, or MARIADB with `lab up --db mariadb`, which runs a
    # MariaDB beside (the stand-ins keep PostgreSQL for now).
    db: str = POSTGRES

    @property
    def current(self) -> bool:
        return self.flavour == CURRENT


def write_settings(layout: LabLayout, settings: LabSettings) -> None:
    import json
    from dataclasses import asdict

    layout.root.mkdir(parents=True, exist_ok=True)
    layout.settings_file.write_text(json.dumps(asdict(settings), indent=2), encoding="utf-8")


def read_settings(layout: LabLayout) -> LabSettings:
    import json

    data = json.loads(layout.settings_file.read_text(encoding="utf-8"))
    return LabSettings(
        ports=LabPorts(**data["ports"]),
        topic=data["topic"],
        produce_rate=float(data.get("produce_rate", 0.0)),
        shared_db=bool(data.get("shared_db", False)),
        # A lab made before flavours existed is the classic one.
        flavour=str(data.get("flavour", CLASSIC)),
        db=str(data.get("db", POSTGRES)),
    )


def flavour_of(layout: LabLayout) -> str:
    """The flavour the lab under `layout` was brought up as (classic if never)."""
    if not layout.settings_file.exists():
        return CLASSIC
    return read_settings(layout).flavour


def layout_from_root(root: Path) -> LabLayout:
    """The layout of an existing lab, with the ports it was brought up with."""
    layout = LabLayout(root)
    return LabLayout(root, read_settings(layout).ports)
