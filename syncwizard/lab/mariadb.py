"""The practice lab's MariaDB (`lab up --db mariadb`): a repository DB and a Sync DB with
the same tables and sample data as the lab's PostgreSQL.

Its own server, never Debian's: `mariadb-install-db` makes a data dir once, and
`mariadbd --defaults-file=<its my.cnf>` runs through `lab.process.spawn` on the lab's
port (127.0.0.1 only) and its own unix socket, so `lab down` stops exactly that pid. The
lab's admin is the OS user over the socket (unix_socket authentication); the two lab
users log in over TCP with random passwords kept in the secrets dir (mode 0600).

As root the server runs as Debian's `mysql` user, with its files under
/var/lib/syncwizard-lab/<hash of the lab root>-mariadb (root's home is closed to it).
"""

from __future__ import annotations

import asyncio
import getpass
import hashlib
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

from syncwizard.clients.mysql_conn import MySQLTarget, ident, literal, run_sql, tool_path
from syncwizard.errors import SyncWizardError
from syncwizard.lab import process
from syncwizard.lab.layout import HOST, LabLayout
from syncwizard.paths import private_dir, write_private

REPOSITORY_DB = "alfresco"
SYNC_DB = "syncservice"
REPOSITORY_USER = "alfresco"
SYNC_USER = "sync"
SERVER_OS_USER = "mysql"  # Debian's package creates it
PROCESS_NAME = "mariadb"
ROOT_BASE_DIR = Path("/var/lib/syncwizard-lab")
READY_TIMEOUT = 60.0
MAX_SOCKET_PATH = 100
SAMPLE_NODE_EVENT_TYPE = "NODEADDED"

Which = Literal["repository", "sync"]
_DATABASES: dict[Which, tuple[str, str]] = {
    "repository": (REPOSITORY_DB, REPOSITORY_USER),
    "sync": (SYNC_DB, SYNC_USER),
}


@dataclass(frozen=True)
class Server:
    """Where the lab's MariaDB lives and who runs it (None: the current user)."""

    base_dir: Path
    socket: Path
    os_user: str | None

    @property
    def data_dir(self) -> Path:
        return self.base_dir / "data"

    @property
    def config(self) -> Path:
        return self.base_dir / "my.cnf"


def lab_dir(layout: LabLayout) -> Path:
    return layout.root / "mariadb"


def _server_file(layout: LabLayout) -> Path:
    return lab_dir(layout) / "server.json"


def _seeded_file(layout: LabLayout) -> Path:
    return lab_dir(layout) / "seeded"


def password_file(layout: LabLayout, user: str) -> Path:
    return layout.secrets_dir / f"mariadb-{user}-password"


def server(layout: LabLayout) -> Server:
    """The lab's server: as recorded in server.json, else where it would be created."""
    try:
        data = json.loads(_server_file(layout).read_text(encoding="utf-8"))
        return Server(Path(data["base_dir"]), Path(data["socket"]), data["os_user"])
    except FileNotFoundError:
        pass
    digest = hashlib.sha256(str(layout.root.resolve()).encode()).hexdigest()[:12]
    if os.geteuid() == 0:
        # Beside the PostgreSQL cluster's folder (<digest>, private to `postgres`), not in it.
        base, user = ROOT_BASE_DIR / f"{digest}-mariadb", SERVER_OS_USER
    else:
        base, user = lab_dir(layout) / "server", None
    socket = base / "run" / "mariadb.sock"
    if len(str(socket)) > MAX_SOCKET_PATH:
        socket = Path(f"/tmp/syncwizard-my-{os.geteuid()}-{digest}/mariadb.sock")
    return Server(base, socket, user)


def admin_user() -> str:
    """Who the admin is over the socket: mariadb-install-db gives root and the OS user that
    runs it unix_socket logins."""
    return "root" if os.geteuid() == 0 else getpass.getuser()


def admin_target(layout: LabLayout, database: str = "") -> MySQLTarget:
    return MySQLTarget(
        database=database, user=admin_user(), socket=server(layout).socket, system="lab"
    )


def target(layout: LabLayout, which: Which, *, timeout: float = 5.0) -> MySQLTarget:
    """How a lab user reaches its database over TCP, its password in the secrets dir."""
    dbname, user = _DATABASES[which]
    return MySQLTarget(
        database=dbname,
        user=user,
        host=HOST,
        port=layout.ports.mariadb,
        password_file=password_file(layout, user),
        system="repository_db" if which == "repository" else "sync_db",
        timeout=timeout,
    )


# --- files owned by the server's OS user -------------------------------------------------------


def _own(path: Path, srv: Server) -> None:
    if srv.os_user is not None:
        entry = pwd.getpwnam(srv.os_user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def _server_dir(path: Path, srv: Server, mode: int = 0o700) -> None:
    path.mkdir(parents=True, exist_ok=True)
    _own(path, srv)
    path.chmod(mode)


def _server_env() -> dict[str, str]:
    return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C", "LANG": "C"}


def _mariadbd() -> Path:
    for candidate in (shutil.which("mariadbd"), "/usr/sbin/mariadbd"):
        if candidate and os.access(candidate, os.X_OK):
            return Path(candidate)
    raise SyncWizardError(
        "no MariaDB server found: expected mariadbd on PATH or in /usr/sbin",
        hint="install it: apt-get install mariadb-server (scripts/system-deps does)",
        system="lab",
    )


def _config_text(layout: LabLayout, srv: Server) -> str:
    return f"""\
# written by syncwizard at every lab start: the practice lab's own server
[mariadbd]
datadir={srv.data_dir}
socket={srv.socket}
pid-file={srv.base_dir / "run" / "mariadbd.pid"}
bind-address={HOST}
port={layout.ports.mariadb}
skip-name-resolve
log-error={srv.base_dir / "error.log"}
innodb_buffer_pool_size=64M
innodb_log_file_size=32M
performance_schema=OFF
max_connections=50
character-set-server=utf8mb4
collation-server=utf8mb4_general_ci
"""


def _prepare(layout: LabLayout) -> Server:
    srv = server(layout)
    private_dir(lab_dir(layout))
    if srv.os_user is not None:
        ROOT_BASE_DIR.mkdir(parents=True, exist_ok=True)
        ROOT_BASE_DIR.chmod(0o755)  # the server user must be able to pass through
    _server_dir(srv.base_dir, srv)
    _server_dir(srv.socket.parent, srv, 0o755 if srv.os_user else 0o700)
    _server_file(layout).write_text(
        json.dumps(
            {"base_dir": str(srv.base_dir), "socket": str(srv.socket), "os_user": srv.os_user},
            indent=2,
        ),
        encoding="utf-8",
    )
    srv.config.write_text(_config_text(layout, srv), encoding="utf-8")
    srv.config.chmod(0o644)  # mariadbd refuses a world-writable one; it holds no secret
    if not (srv.data_dir / "mysql").is_dir():
        _install_db(srv)
    return srv


def _install_db(srv: Server) -> None:
    if srv.data_dir.exists():  # left over from an interrupted install
        shutil.rmtree(srv.data_dir)
    argv = [
        "mariadb-install-db",
        f"--defaults-file={srv.config}",
        "--auth-root-authentication-method=socket",
        "--skip-test-db",
        "--skip-name-resolve",
    ]
    if srv.os_user is not None:
        argv.append(f"--user={srv.os_user}")
    result = subprocess.run(
        argv, capture_output=True, text=True, env=_server_env(), check=False, cwd=srv.base_dir
    )
    if result.returncode != 0:
        shutil.rmtree(srv.data_dir, ignore_errors=True)
        raise SyncWizardError(
            f"mariadb-install-db failed for the lab's MariaDB in {srv.data_dir}: "
            + (result.stderr.strip().splitlines() or ["(no output)"])[-1],
            hint=f"see the full output by running: {' '.join(argv)}",
            system="lab",
        )


# --- running ------------------------------------------------------------------------------------


def _pid_from_file(srv: Server) -> int | None:
    try:
        pid = int((srv.base_dir / "run" / "mariadbd.pid").read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except (OSError, ValueError):
        return None
    return pid if "mariadbd" in cmdline and str(srv.config) in cmdline else None


def server_pid(layout: LabLayout) -> int | None:
    return process.running_pid(layout, PROCESS_NAME) or _pid_from_file(server(layout))


def is_running(layout: LabLayout) -> bool:
    return server_pid(layout) is not None


def _log_tail(srv: Server, lines: int = 8) -> str:
    try:
        text = (srv.base_dir / "error.log").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def _ping(layout: LabLayout) -> str | None:
    """None when the server answers over its socket, else why not."""
    try:
        asyncio.run(run_sql(admin_target(layout), "SELECT 1;", what="a ping"))
    except SyncWizardError as exc:
        return exc.message
    return None


def _wait_ready(layout: LabLayout, srv: Server) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    why = ""
    while time.monotonic() < deadline:
        if server_pid(layout) is None:
            raise SyncWizardError(
                "the lab's MariaDB stopped while starting:\n" + _log_tail(srv),
                hint=f"see {srv.base_dir / 'error.log'}",
                system="lab",
            )
        if srv.socket.exists():
            reason = _ping(layout)
            if reason is None:
                return
            why = reason
        time.sleep(0.1)
    raise SyncWizardError(
        f"the lab's MariaDB did not answer within {READY_TIMEOUT:.0f} s: {why}",
        hint=f"see {srv.base_dir / 'error.log'}",
        system="lab",
    )


def start(layout: LabLayout) -> None:
    """Start the lab's MariaDB if it is not running; wait until it answers."""
    srv = server(layout)
    if not (srv.data_dir / "mysql").is_dir():
        raise SyncWizardError(
            f"the lab's MariaDB has not been created yet (nothing in {srv.data_dir})",
            hint="run `syncwizard lab up --db mariadb`",
            system="lab",
        )
    if not is_running(layout):
        process.check_port_free(layout.ports.mariadb, "the lab's MariaDB")
        srv.config.write_text(_config_text(layout, srv), encoding="utf-8")
        argv = [str(_mariadbd()), f"--defaults-file={srv.config}"]
        if srv.os_user is not None:
            argv.append(f"--user={srv.os_user}")
        # Started as root with --user, mariadbd drops to that user itself (it must open
        # its files as that user, which it does after the switch).
        process.spawn(layout, PROCESS_NAME, argv, env=_server_env(), cwd=srv.base_dir)
    _wait_ready(layout, srv)


def stop(layout: LabLayout) -> bool:
    """Stop the lab's MariaDB (SIGTERM: a clean shutdown). True if it was running."""
    pid = server_pid(layout)
    if pid is not None:
        # SIGKILL after 60 s: InnoDB recovers at the next start.
        process.end(pid, signal.SIGTERM, grace=60.0, then=signal.SIGKILL)
    process.stop(layout, PROCESS_NAME)
    return pid is not None


def remove(layout: LabLayout) -> None:
    """Stop the server and delete its files and passwords (tests, `lab destroy`)."""
    stop(layout)
    srv = server(layout)
    shutil.rmtree(srv.base_dir, ignore_errors=True)
    shutil.rmtree(srv.socket.parent, ignore_errors=True)
    shutil.rmtree(lab_dir(layout), ignore_errors=True)
    for _db, user in _DATABASES.values():
        password_file(layout, user).unlink(missing_ok=True)


# --- users, databases, sample data ------------------------------------------------------------


def native_password_hash(password: str) -> str:
    """mysql_native_password's stored hash, made here so the password never travels to the
    server (nor into its logs)."""
    inner = hashlib.sha1(password.encode()).digest()
    return "*" + hashlib.sha1(inner).hexdigest().upper()


def _sql_file(name: str) -> str:
    return resources.files("syncwizard.lab").joinpath("sql", name).read_text(encoding="utf-8")


def _grant_pattern(dbname: str) -> str:
    """`<db>\\_\\_%`: the scratch and aside databases of a restore (`_` escaped: in a grant
    it is a wildcard)."""
    return dbname.replace("_", "\\_") + "\\_\\_%"


async def _users_and_databases(layout: LabLayout) -> None:
    private_dir(layout.secrets_dir)
    admin = admin_target(layout)
    statements = []
    for dbname, user in _DATABASES.values():
        pw_file = password_file(layout, user)
        if not pw_file.exists():
            write_private(pw_file, secrets.token_urlsafe(24) + "\n")
        password = pw_file.read_text(encoding="utf-8").splitlines()[0]
        account = f"{literal(user)}@{literal(HOST)}"
        statements += [
            f"CREATE DATABASE IF NOT EXISTS {ident(dbname)};",
            f"CREATE USER IF NOT EXISTS {account};",
            # Set every time: the file and the server agree even if one was replaced.
            f"ALTER USER {account} IDENTIFIED BY PASSWORD "
            f"{literal(native_password_hash(password))};",
            f"GRANT ALL PRIVILEGES ON {ident(dbname)}.* TO {account};",
            # A restore creates <db>__restore_<run> and <db>__before_<run> beside it.
            f"GRANT ALL PRIVILEGES ON {ident(_grant_pattern(dbname))}.* TO {account};",
            # To see (and end) the sessions of its database, as the swap does.
            f"GRANT PROCESS ON *.* TO {account};",
        ]
    await run_sql(admin, "\n".join(statements), what="creating the lab users")


async def _seed(layout: LabLayout) -> None:
    """The sample tables and rows, once. DDL commits by itself in MariaDB, so the seed
    starts from scratch (DROP) until it has finished once (the `seeded` file)."""
    if _seeded_file(layout).exists():
        return
    admin = admin_target(layout)
    repo, sync = REPOSITORY_DB, SYNC_DB
    drop = "SET FOREIGN_KEY_CHECKS = 0;\n" + "".join(
        f"DROP TABLE IF EXISTS {ident(t)};\n"
        for t in ("alf_node_properties", "alf_node", "alf_applied_patch")
    )
    await run_sql(
        admin,
        drop
        + _sql_file("mariadb_repository_schema.sql")
        + _sql_file("mariadb_repository_sample.sql"),
        database=repo,
        timeout=120,
        what="filling the lab's repository database",
    )
    sync_tables = ("sync_service_id", "sync_node", "sync_event_log", "sync_recovery")
    await run_sql(
        admin,
        "".join(f"DROP TABLE IF EXISTS {ident(t)};\n" for t in sync_tables)
        + _sql_file("mariadb_sync_schema.sql")
        + "INSERT INTO sync_node (node_uuid, name, last_event_type, last_event_at)\n"
        f"SELECT uuid, name, {literal(SAMPLE_NODE_EVENT_TYPE)}, created_at\n"
        f"FROM {ident(repo)}.alf_node WHERE NOT deleted ORDER BY id;\n"
        "ANALYZE TABLE sync_node;\n",
        database=sync,
        timeout=120,
        what="filling the lab's Sync database",
    )
    _seeded_file(layout).write_text("the sample data is in place\n", encoding="utf-8")


def ensure_server(layout: LabLayout) -> None:
    """Create (once) and start the lab's MariaDB; users, databases and sample data once."""
    tool_path(("mariadb-install-db",))  # a clear error before anything is made
    _mariadbd()
    _prepare(layout)
    start(layout)
    asyncio.run(_users_and_databases(layout))
    asyncio.run(_seed(layout))


async def _leftovers(layout: LabLayout) -> list[str]:
    """The databases restores left beside the lab's two (`<db>__restore_<run>`,
    `<db>__before_<run>`)."""
    rows = await run_sql(admin_target(layout), "SHOW DATABASES;", what="listing the databases")
    prefixes = (f"{REPOSITORY_DB}__", f"{SYNC_DB}__")
    return sorted(str(r[0]) for r in rows if str(r[0]).startswith(prefixes))


async def _reseed(layout: LabLayout) -> list[str]:
    dropped = await _leftovers(layout)
    if dropped:
        statements = "".join(f"DROP DATABASE IF EXISTS {ident(name)};\n" for name in dropped)
        await run_sql(admin_target(layout), statements, timeout=0, what="dropping leftovers")
    _seeded_file(layout).unlink(missing_ok=True)
    await _seed(layout)
    return dropped


def reseed(layout: LabLayout) -> list[str]:
    """`lab reset` for the lab's MariaDB: the databases restores left beside it dropped
    (their names returned), the sample tables and rows seeded again."""
    return asyncio.run(_reseed(layout))


def connection_file(layout: LabLayout) -> Path:
    return lab_dir(layout) / "connection.json"


def connection_settings(layout: LabLayout) -> dict[str, dict[str, object]]:
    """How the wizard reaches the lab's MariaDB, by role; the passwords by file only."""
    sections: dict[str, dict[str, object]] = {}
    for which, role in (("repository", "repository_db"), ("sync", "sync_db")):
        t = target(layout, which)  # type: ignore[arg-type]
        sections[role] = {
            "host": t.host,
            "port": t.port,
            "database": t.database,
            "user": t.user,
            "password_file": str(t.password_file),
        }
    return sections


def write_connection_file(layout: LabLayout) -> Path:
    """`<lab>/mariadb/connection.json`: the MariaDB settings (no secret in it). The `lab`
    profile keeps PostgreSQL; `lab-mariadb` (stack.mariadb_profile_sections) uses these."""
    path = connection_file(layout)
    path.write_text(json.dumps(connection_settings(layout), indent=2) + "\n", encoding="utf-8")
    return path
