"""The practice lab's PostgreSQL: one cluster holding the repository DB and the Sync DB.

`initdb` runs once; the server is `postgres -D <data>` started through
`lab.process.spawn`, so `lab down` stops exactly the pid it started. It listens
on 127.0.0.1 only. The two lab roles log in over TCP with scram-sha-256 and
random passwords, which reach the wizard through a libpq password file
(`layout.pgpass`, mode 0600). The lab's own admin is the superuser over the
unix socket, whose folder (mode 0700) only the cluster's OS user and root can
enter.

initdb refuses to run as root, so as root the cluster belongs to Debian's
`postgres` user and lives under /var/lib/syncwizard-lab/<hash of the lab root>/
(root's home is closed to other users); `<lab>/postgres/cluster.json` records
where it is.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from syncwizard.errors import SyncWizardError
from syncwizard.lab import process
from syncwizard.lab.layout import HOST, LabLayout
from syncwizard.paths import private_dir, write_private

REPOSITORY_DB = "alfresco"
SYNC_DB = "syncservice"
REPOSITORY_USER = "alfresco"
SYNC_USER = "sync"
SUPERUSER = "postgres"
SERVER_OS_USER = "postgres"  # Debian's package creates it
PROCESS_NAME = "postgres"
SAMPLE_NODE_EVENT_TYPE = "NODEADDED"

PG_LIB_DIR = Path("/usr/lib/postgresql")
ROOT_CLUSTERS_DIR = Path("/var/lib/syncwizard-lab")
READY_TIMEOUT = 30.0
# A unix socket path must fit in sockaddr_un.sun_path (108 bytes with the NUL).
MAX_SOCKET_PATH = 100

_DATABASES = {"repository": (REPOSITORY_DB, REPOSITORY_USER), "sync": (SYNC_DB, SYNC_USER)}


@dataclass(frozen=True)
class Cluster:
    """Where the lab cluster lives and who runs it (None: the current user)."""

    base_dir: Path
    socket_dir: Path
    os_user: str | None

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"


@dataclass(frozen=True)
class Drift:
    """How far the Sync DB's nodes are from the repository's live nodes."""

    missing: int  # live nodes in alf_node that sync_node lacks
    extra: int  # sync_node rows with no live node in alf_node
    repository_nodes: int = 0
    sync_nodes: int = 0

    @property
    def in_sync(self) -> bool:
        return self.missing == 0 and self.extra == 0

    @property
    def sentence(self) -> str:
        return (
            f"the Sync DB lacks {self.missing:,} node(s) of the repository DB and has "
            f"{self.extra:,} it should not"
        )


# --- where things are -------------------------------------------------------------------


def _cluster_file(layout: LabLayout) -> Path:
    return layout.pg_dir / "cluster.json"


def _planned_cluster(layout: LabLayout) -> Cluster:
    digest = hashlib.sha256(str(layout.root.resolve()).encode()).hexdigest()[:12]
    if os.geteuid() == 0:
        base, user = ROOT_CLUSTERS_DIR / digest, SERVER_OS_USER
    else:
        base, user = layout.pg_dir, None
    socket_dir = base / "run"
    if len(str(socket_dir / f".s.PGSQL.{layout.ports.postgres}")) > MAX_SOCKET_PATH:
        socket_dir = Path(f"/tmp/syncwizard-pg-{os.geteuid()}-{digest}")
    return Cluster(base, socket_dir, user)


def cluster(layout: LabLayout) -> Cluster:
    """The lab's cluster: as recorded in cluster.json, else where it would be created."""
    try:
        data = json.loads(_cluster_file(layout).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return _planned_cluster(layout)
    return Cluster(Path(data["base_dir"]), Path(data["socket_dir"]), data["os_user"])


def bin_dir(data_dir: Path | None = None) -> Path:
    """The server binaries: those of the data dir's version, else the newest installed."""
    if data_dir is not None and (data_dir / "PG_VERSION").exists():
        major = (data_dir / "PG_VERSION").read_text().strip()
        wanted = PG_LIB_DIR / major / "bin"
        if not (wanted / "postgres").exists():
            raise SyncWizardError(
                f"the lab database in {data_dir} is PostgreSQL {major}, "
                f"but {wanted}/postgres is not installed",
                hint=f"apt-get install postgresql-{major}, or remove the lab and bring it up again",
                system="lab",
            )
        return wanted
    installed = sorted(
        (
            d
            for d in PG_LIB_DIR.glob("*/bin")
            if (d / "postgres").exists() and d.parent.name.isdigit()
        ),
        key=lambda d: int(d.parent.name),
    )
    if not installed:
        raise SyncWizardError(
            f"no PostgreSQL server found: expected {PG_LIB_DIR}/<version>/bin/postgres",
            hint="install it: apt-get install postgresql",
            system="lab",
        )
    return installed[-1]


def conninfo(layout: LabLayout, which: Literal["repository", "sync"]) -> str:
    """How a lab role reaches its database over TCP; the password comes from `layout.pgpass`."""
    dbname, user = _DATABASES[which]
    return f"host={HOST} port={layout.ports.postgres} dbname={dbname} user={user}"


def sync_home(layout: LabLayout) -> Literal["repository", "sync"]:
    """Which lab database holds the Sync Service's tables: the repository's with
    `lab up --shared-db` (compose's layout), else its own."""
    from syncwizard.lab.layout import read_settings

    if layout.settings_file.exists() and read_settings(layout).shared_db:
        return "repository"
    return "sync"


def sync_conninfo(layout: LabLayout) -> str:
    """How the Sync Service stand-in reaches its tables (as the repository's user when they
    share its database, as compose's Sync Service does)."""
    return conninfo(layout, sync_home(layout))


def superuser_conninfo(layout: LabLayout, dbname: str = "postgres") -> str:
    """The lab admin: the superuser over the unix socket (trusted; the folder is private)."""
    socket_dir = str(cluster(layout).socket_dir)
    return make_conninfo(
        "", host=socket_dir, port=layout.ports.postgres, dbname=dbname, user=SUPERUSER
    )


# --- files and folders owned by the server's OS user ---------------------------------------


def _give_to(path: Path, cluster_: Cluster) -> None:
    if cluster_.os_user is not None:
        entry = pwd.getpwnam(cluster_.os_user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _server_dir(path: Path, cluster_: Cluster) -> None:
    path.mkdir(parents=True, exist_ok=True)
    if path.is_symlink() or path.stat().st_uid not in (os.geteuid(), _uid(cluster_)):
        raise SyncWizardError(
            f"{path} belongs to another user; the lab database cannot use it",
            hint=f"remove {path}, or run the lab as its owner",
            system="lab",
        )
    _give_to(path, cluster_)
    path.chmod(0o700)


def _uid(cluster_: Cluster) -> int:
    return os.geteuid() if cluster_.os_user is None else pwd.getpwnam(cluster_.os_user).pw_uid


def _write_server_file(path: Path, text: str, cluster_: Cluster) -> None:
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    _give_to(path, cluster_)


def _server_env() -> dict[str, str]:
    # A small environment: the server needs no secret of ours, and C messages keep
    # errors in the English our clients recognise.
    return {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "LANG": "C"}


# --- initdb and configuration ----------------------------------------------------------------


def _prepare(layout: LabLayout) -> Cluster:
    cluster_ = cluster(layout)
    private_dir(layout.pg_dir)
    if cluster_.os_user is not None:
        ROOT_CLUSTERS_DIR.mkdir(parents=True, exist_ok=True)
        ROOT_CLUSTERS_DIR.chmod(0o755)  # the server user must be able to pass through
    _server_dir(cluster_.base_dir, cluster_)
    _server_dir(cluster_.socket_dir, cluster_)
    _cluster_file(layout).write_text(
        json.dumps(
            {
                "base_dir": str(cluster_.base_dir),
                "data_dir": str(cluster_.data_dir),
                "socket_dir": str(cluster_.socket_dir),
                "os_user": cluster_.os_user,
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    if not (cluster_.data_dir / "PG_VERSION").exists():
        _initdb(layout, cluster_)
    return cluster_


def _initdb(layout: LabLayout, cluster_: Cluster) -> None:
    if cluster_.data_dir.exists():  # left over from an interrupted initdb
        shutil.rmtree(cluster_.data_dir)
    argv = [
        str(bin_dir() / "initdb"),
        "-D",
        str(cluster_.data_dir),
        "-U",
        SUPERUSER,
        "-E",
        "UTF8",
        "--locale=C",
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
        "--no-sync",  # a practice cluster; fsync stays on for the running server
        "--no-instructions",
    ]
    result = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        env=_server_env(),
        cwd=cluster_.base_dir,
        check=False,
        **process.popen_user_args(cluster_.os_user),
    )
    if result.returncode != 0:
        raise SyncWizardError(
            f"initdb failed for the lab database in {cluster_.data_dir}: "
            + (result.stderr.strip().splitlines() or ["(no output)"])[-1],
            hint=f"see the full output by running: {' '.join(argv)}",
            system="lab",
        )


def _conf_quoted(path: Path) -> str:
    return str(path).replace("'", "''")


_HBA = f"""\
# syncwizard practice lab. The superuser only over the unix socket, whose folder
# is private to the server's OS user; the lab roles with a password over 127.0.0.1.
local   all   {SUPERUSER}                 trust
host    all   all        127.0.0.1/32   scram-sha-256
"""


def _configure(layout: LabLayout, cluster_: Cluster) -> None:
    data = cluster_.data_dir
    settings = f"""\
# written by syncwizard at every lab start
listen_addresses = '{HOST}'
port = {layout.ports.postgres}
unix_socket_directories = '{_conf_quoted(cluster_.socket_dir)}'
unix_socket_permissions = 0700
password_encryption = 'scram-sha-256'
shared_buffers = 32MB
max_connections = 50
lc_messages = 'C'
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
"""
    _write_server_file(data / "syncwizard.conf", settings, cluster_)
    _write_server_file(data / "pg_hba.conf", _HBA, cluster_)
    main_conf = data / "postgresql.conf"
    text = main_conf.read_text(encoding="utf-8")
    if "include 'syncwizard.conf'" not in text:
        _write_server_file(main_conf, text + "\ninclude 'syncwizard.conf'\n", cluster_)


# --- running ------------------------------------------------------------------------------


def _postmaster_pid(cluster_: Cluster) -> int | None:
    """The live postmaster of our data dir per postmaster.pid (even if pids.json lost it)."""
    try:
        pid = int((cluster_.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except (OSError, ValueError):
        return None
    if cmdline[:1] and cmdline[0].endswith("/postgres") and str(cluster_.data_dir) in cmdline:
        return pid
    return None


def _server_pid(layout: LabLayout) -> int | None:
    return process.running_pid(layout, PROCESS_NAME) or _postmaster_pid(cluster(layout))


def is_running(layout: LabLayout) -> bool:
    return _server_pid(layout) is not None


def _log_tail(layout: LabLayout, lines: int = 8) -> str:
    try:
        text = layout.log_file(PROCESS_NAME).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def _wait_ready(layout: LabLayout, pid: int | None) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    last_error = ""
    while time.monotonic() < deadline:
        if pid is not None and _server_pid(layout) is None:
            raise SyncWizardError(
                "the lab database stopped while starting:\n" + _log_tail(layout),
                hint=f"see {layout.log_file(PROCESS_NAME)}",
                system="lab",
            )
        try:
            with psycopg.connect(superuser_conninfo(layout), connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError as exc:
            last_error = str(exc).strip()
            time.sleep(0.1)
    raise SyncWizardError(
        f"the lab database did not accept connections within {READY_TIMEOUT:.0f} s: {last_error}",
        hint=f"see {layout.log_file(PROCESS_NAME)}",
        system="lab",
    )


def start(layout: LabLayout) -> None:
    """Start the lab server if it is not running, and wait until it accepts connections."""
    cluster_ = cluster(layout)
    if not (cluster_.data_dir / "PG_VERSION").exists():
        raise SyncWizardError(
            f"the lab database has not been created yet (no cluster in {cluster_.data_dir})",
            hint="run `syncwizard lab up`",
            system="lab",
        )
    if is_running(layout):
        _wait_ready(layout, None)
        return
    process.check_port_free(layout.ports.postgres, "the lab database")
    _configure(layout, cluster_)
    argv = [str(bin_dir(cluster_.data_dir) / "postgres"), "-D", str(cluster_.data_dir)]
    pid = process.spawn(
        layout,
        PROCESS_NAME,
        argv,
        env=_server_env(),
        cwd=cluster_.base_dir,
        user=cluster_.os_user,
    )
    _wait_ready(layout, pid)


def stop(layout: LabLayout) -> bool:
    """Stop the lab server (fast shutdown: sessions are disconnected). True if it was running."""
    pid = _server_pid(layout)
    if pid is not None:
        # SIGQUIT after 30 s: immediate shutdown; recovery runs at the next start.
        process.end(pid, signal.SIGINT, grace=30.0, then=signal.SIGQUIT)
    process.stop(layout, PROCESS_NAME)  # drops the record
    return pid is not None


def remove_cluster(layout: LabLayout) -> None:
    """Stop the server and delete the cluster and its password file (tests, `lab destroy`)."""
    stop(layout)
    cluster_ = cluster(layout)
    shutil.rmtree(cluster_.base_dir, ignore_errors=True)
    shutil.rmtree(cluster_.socket_dir, ignore_errors=True)
    _cluster_file(layout).unlink(missing_ok=True)
    layout.pgpass.unlink(missing_ok=True)


# --- roles, databases, sample data --------------------------------------------------------


def scram_verifier(password: str, *, iterations: int = 4096) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores, made here so the password never
    travels to the server (nor into its log if a statement fails)."""
    salt = secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def read_pgpass_passwords(layout: LabLayout) -> dict[str, str]:
    """{user: password} of the lab roles in `layout.pgpass` (empty if there is none)."""
    try:
        lines = layout.pgpass.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return {}
    wanted = {user: db for db, user in _DATABASES.values()}
    found: dict[str, str] = {}
    for line in lines:
        fields = line.split(":", 4)
        if len(fields) == 5 and wanted.get(fields[3]) == fields[2]:
            found[fields[3]] = fields[4]
    return found


def _write_pgpass(layout: LabLayout, passwords: dict[str, str]) -> None:
    private_dir(layout.secrets_dir)
    lines = ["# libpq password file of the syncwizard practice lab (host:port:db:user:password)"]
    for dbname, user in _DATABASES.values():
        lines.append(f"{HOST}:{layout.ports.postgres}:{dbname}:{user}:{passwords[user]}")
    # A restore connects to the maintenance database and to its scratch database too.
    for _dbname, user in _DATABASES.values():
        lines.append(f"{HOST}:{layout.ports.postgres}:*:{user}:{passwords[user]}")
    write_private(layout.pgpass, "\n".join(lines) + "\n")


def _sql_file(name: str) -> str:
    return resources.files("syncwizard.lab").joinpath("sql", name).read_text(encoding="utf-8")


def _table_exists(conn: psycopg.Connection, table: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
    assert row is not None
    return bool(row[0])


def _create_roles_and_databases(layout: LabLayout) -> None:
    known = read_pgpass_passwords(layout)
    passwords: dict[str, str] = {}
    with psycopg.connect(superuser_conninfo(layout), autocommit=True) as admin:
        for dbname, user in _DATABASES.values():
            # Keep a password the pgpass file already holds, so a running stand-in's
            # connections stay valid; set it on the role every time so both agree.
            passwords[user] = known.get(user) or secrets.token_urlsafe(24)
            verb = "ALTER" if _role_exists(admin, user) else "CREATE"
            # CREATEDB: a restore creates a scratch database and renames it into place;
            # pg_read_all_settings: it may read data_directory to see the server's free space.
            admin.execute(
                sql.SQL(verb + " ROLE {} LOGIN CREATEDB PASSWORD {}").format(
                    sql.Identifier(user), sql.Literal(scram_verifier(passwords[user]))
                )
            )
            admin.execute(sql.SQL("GRANT pg_read_all_settings TO {}").format(sql.Identifier(user)))
            if not admin.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)
            ).fetchone():
                admin.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(dbname), sql.Identifier(user)
                    )
                )
    _write_pgpass(layout, passwords)


def _role_exists(admin: psycopg.Connection, user: str) -> bool:
    return (
        admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,)).fetchone() is not None
    )


def _seed(layout: LabLayout) -> None:
    # Each database is created and filled in one transaction, so an interrupted
    # `lab up` either left it complete or leaves it to be done again.
    with psycopg.connect(superuser_conninfo(layout, REPOSITORY_DB)) as repo:
        repo.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(REPOSITORY_USER)))
        if not _table_exists(repo, "alf_node"):
            repo.execute(_sql_file("repository_schema.sql"))
            repo.execute(_sql_file("repository_sample.sql"))
            repo.execute("ANALYZE alf_node, alf_node_properties")
        repo.commit()
        with psycopg.connect(superuser_conninfo(layout, SYNC_DB)) as sync:
            sync.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(SYNC_USER)))
            _seed_sync_tables(repo, sync)
            guid = sync.execute("SELECT guid FROM sync_service_id").fetchone()
        if sync_home(layout) == "repository":
            with psycopg.connect(superuser_conninfo(layout, REPOSITORY_DB)) as shared:
                shared.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(REPOSITORY_USER)))
                _seed_sync_tables(repo, shared, guid[0] if guid else None)


def _seed_sync_tables(
    repo: psycopg.Connection, sync: psycopg.Connection, guid: object = None
) -> None:
    """The Sync Service's tables in `sync`'s database, once, tracking every live node. With
    `guid`, the sync GUID is that one: the lab's Sync Service moved its tables, and keeps
    its queue."""
    if not _table_exists(sync, "sync_node"):
        sync.execute(_sql_file("sync_schema.sql"))
        if guid is not None:
            sync.execute("INSERT INTO sync_service_id (id, guid) VALUES (1, %s)", (guid,))
        live = repo.execute(
            "SELECT uuid, name, created_at FROM alf_node WHERE NOT deleted ORDER BY id"
        ).fetchall()
        with sync.cursor().copy(
            "COPY sync_node (node_uuid, name, last_event_type, last_event_at) FROM STDIN"
        ) as copy:
            for node_uuid, name, created_at in live:
                copy.write_row((node_uuid, name, SAMPLE_NODE_EVENT_TYPE, created_at))
        sync.execute("ANALYZE sync_node")
    sync.commit()


def ensure_cluster(layout: LabLayout) -> None:
    """Create (once), configure and start the lab database; roles, data and pgpass once."""
    _prepare(layout)
    start(layout)
    try:
        _create_roles_and_databases(layout)
        _seed(layout)
    except psycopg.Error as exc:
        raise SyncWizardError(
            f"setting up the lab databases failed: {str(exc).strip()}",
            hint=f"see {layout.log_file(PROCESS_NAME)}",
            system="lab",
        ) from exc


def node_drift(layout: LabLayout) -> Drift:
    """Compare the repository's live nodes with the Sync DB's nodes (for `lab status`)."""
    try:
        with (
            psycopg.connect(superuser_conninfo(layout, REPOSITORY_DB), connect_timeout=5) as repo,
            psycopg.connect(
                superuser_conninfo(layout, _DATABASES[sync_home(layout)][0]), connect_timeout=5
            ) as sync,
        ):
            live = {row[0] for row in repo.execute("SELECT uuid FROM alf_node WHERE NOT deleted")}
            synced = {row[0] for row in sync.execute("SELECT node_uuid FROM sync_node")}
    except psycopg.Error as exc:
        raise SyncWizardError(
            f"cannot compare the lab's repository and Sync databases: {str(exc).strip()}",
            hint="is the lab up? run `syncwizard lab up`",
            system="lab",
        ) from exc
    return Drift(
        missing=len(live - synced),
        extra=len(synced - live),
        repository_nodes=len(live),
        sync_nodes=len(synced),
    )


def _lab_databases(admin: psycopg.Connection) -> list[str]:
    """The lab's two databases and what restores left beside them (scratch and aside copies,
    `<live>__restore_<run>` and `<live>__before_<run>`)."""
    names = [REPOSITORY_DB, SYNC_DB]
    rows = admin.execute(
        "SELECT datname FROM pg_database WHERE datname LIKE %s OR datname LIKE %s",
        (REPOSITORY_DB + "\\_\\_%", SYNC_DB + "\\_\\_%"),
    ).fetchall()
    return names + sorted(str(row[0]) for row in rows)


def sync_guid(layout: LabLayout) -> object:
    """The sync GUID the Sync DB holds now (None if none): kept across a reseed, since the
    broker's `Consumer.<guid>.<topic>` queue is named after it."""
    try:
        with psycopg.connect(
            superuser_conninfo(layout, _DATABASES[sync_home(layout)][0]), connect_timeout=5
        ) as sync:
            if not _table_exists(sync, "sync_service_id"):
                return None
            row = sync.execute("SELECT guid FROM sync_service_id WHERE id = 1").fetchone()
    except psycopg.OperationalError:
        return None
    return row[0] if row else None


def reseed(layout: LabLayout) -> list[str]:
    """Drop the lab's databases (and restores' leftovers) and seed them again as `lab up`
    does the first time, keeping the sync GUID. The stand-ins must be stopped. Returns the
    databases dropped."""
    guid = sync_guid(layout)
    try:
        with psycopg.connect(superuser_conninfo(layout), autocommit=True) as admin:
            dropped = _lab_databases(admin)
            for name in dropped:
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
        _create_roles_and_databases(layout)
        _seed(layout)
        if guid is not None:
            for which in {"sync", sync_home(layout)}:
                with psycopg.connect(superuser_conninfo(layout, _DATABASES[which][0])) as conn:
                    conn.execute(
                        "INSERT INTO sync_service_id (id, guid) VALUES (1, %s) "
                        "ON CONFLICT (id) DO UPDATE SET guid = EXCLUDED.guid",
                        (guid,),
                    )
    except psycopg.Error as exc:
        raise SyncWizardError(
            f"resetting the lab databases failed: {str(exc).strip()}",
            hint=f"see {layout.log_file(PROCESS_NAME)}; `syncwizard lab up` makes what is missing",
            system="lab",
        ) from exc
    return dropped
