"""The stand-in's `-Drecover=<user>:<password>`: where it is read from, the check, the reconcile.

The option arrives in `SYNCWIZARD_RECOVER_OPTION` (what the wizard's start command
receives) or in `JAVA_OPTS` (as the real Sync Service's start script reads it).
The password is never logged: `RecoverCredentials` prints masked.
"""

from __future__ import annotations

import base64
import hmac
import http.client
import re
import shlex
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psycopg

RECOVER_ENV = "SYNCWIZARD_RECOVER_OPTION"
REPOSITORY_ADMIN = "admin"
RECOVERED_EVENT_TYPE = "RECOVERED"

_OPTION = re.compile(r"-Drecover=(?P<user>[^:]*):(?P<password>.*)", re.DOTALL)


class RecoverOptionError(ValueError):
    """The recover option is present but not of the form `-Drecover=<user>:<password>`."""


@dataclass(frozen=True)
class RecoverCredentials:
    user: str
    password: str = field(repr=False)

    def __str__(self) -> str:
        return f"-Drecover={self.user}:****"


def _parse_option(text: str, source: str) -> RecoverCredentials:
    match = _OPTION.fullmatch(text.strip())
    if match is None or not match["user"] or not match["password"]:
        raise RecoverOptionError(
            f"{source} does not hold -Drecover=<user>:<password> (user and password non-empty)"
        )
    return RecoverCredentials(match["user"], match["password"])


def _java_opts_words(java_opts: str) -> list[str]:
    try:
        return shlex.split(java_opts)
    except ValueError:
        return java_opts.split()


def recover_credentials(env: Mapping[str, str]) -> RecoverCredentials | None:
    """The recover credentials in `env`, or None when no recover was asked for.

    An empty `SYNCWIZARD_RECOVER_OPTION` counts as absent (a start template may
    expand it to nothing); a malformed one raises RecoverOptionError.
    """
    option = env.get(RECOVER_ENV, "")
    if option.strip():
        return _parse_option(option, RECOVER_ENV)
    for word in _java_opts_words(env.get("JAVA_OPTS", "")):
        if word.startswith("-Drecover="):
            return _parse_option(word, "JAVA_OPTS")
    return None


ME_PATH = "/alfresco/api/-default-/public/alfresco/versions/1/people/-me-"


def ask_repository(host: str, port: int, credentials: RecoverCredentials, *, wait: float) -> str:
    """Check the admin's credentials with the repository, as the real Sync Service's recover
    reconciles with it as its admin: "" when accepted, else why not (never the password).
    A repository that does not answer is asked again for `wait` seconds."""
    token = base64.b64encode(f"{credentials.user}:{credentials.password}".encode()).decode()
    deadline = time.monotonic() + wait
    while True:
        connection = http.client.HTTPConnection(host, port, timeout=5)
        try:
            connection.request("GET", ME_PATH, headers={"Authorization": f"Basic {token}"})
            status = connection.getresponse().status
        except (OSError, http.client.HTTPException) as exc:
            if time.monotonic() >= deadline:
                return (
                    f"recover failed: the repository at http://{host}:{port} does not answer "
                    f"({exc.strerror if isinstance(exc, OSError) and exc.strerror else exc})"
                )
            time.sleep(0.5)
            continue
        finally:
            connection.close()
        if status == 200:
            return ""
        if status in (401, 403):
            return (
                f"recover refused: wrong repository admin credentials for user {credentials.user}"
            )
        return f"recover failed: the repository answered HTTP {status} to its admin"


def credentials_match(credentials: RecoverCredentials, admin_password: str) -> bool:
    """True when the credentials are the repository admin's (constant-time compare)."""
    same_user = hmac.compare_digest(credentials.user.encode(), REPOSITORY_ADMIN.encode())
    same_password = hmac.compare_digest(credentials.password.encode(), admin_password.encode())
    return same_user and same_password


@dataclass(frozen=True)
class RecoverySummary:
    recovery_id: int
    added: int
    removed: int
    seconds: float


def reconcile(repository: psycopg.Connection, sync: psycopg.Connection) -> RecoverySummary:
    """Make `sync_node` hold exactly the live nodes of `alf_node`; record a `sync_recovery` row.

    The two databases may be separate, so the node sets are compared here rather
    than joined in SQL.
    """
    started = datetime.now(UTC)
    with sync.transaction():
        row = sync.execute(
            "INSERT INTO sync_recovery (started_at) VALUES (%s) RETURNING id", (started,)
        ).fetchone()
        assert row is not None
        recovery_id = row[0]
    live_nodes: dict[str, str] = {
        str(node_uuid): name
        for node_uuid, name in repository.execute(
            "SELECT uuid, name FROM alf_node WHERE NOT deleted"
        ).fetchall()
    }
    repository.rollback()  # end the read-only transaction; keep no snapshot open
    with sync.transaction():
        synced = {str(row[0]) for row in sync.execute("SELECT node_uuid FROM sync_node")}
        missing = [(node, live_nodes[node]) for node in live_nodes.keys() - synced]
        extra = [(node,) for node in synced - live_nodes.keys()]
        with sync.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO sync_node (node_uuid, name, last_event_type) VALUES (%s, %s, %s) "
                "ON CONFLICT (node_uuid) DO NOTHING",
                [(node, name, RECOVERED_EVENT_TYPE) for node, name in missing],
            )
            cursor.executemany("DELETE FROM sync_node WHERE node_uuid = %s", extra)
        finished = datetime.now(UTC)
        sync.execute(
            "UPDATE sync_recovery SET finished_at = %s, added = %s, removed = %s WHERE id = %s",
            (finished, len(missing), len(extra), recovery_id),
        )
    return RecoverySummary(
        recovery_id, len(missing), len(extra), (finished - started).total_seconds()
    )
