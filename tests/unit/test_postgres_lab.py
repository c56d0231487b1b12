"""The lab PostgreSQL's pure parts: where the cluster goes, password verifiers, the pgpass file."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from pathlib import Path

import pytest

from syncwizard.lab import postgres
from syncwizard.lab.layout import TEST_PORTS, LabLayout


def test_conninfo_names_host_port_db_and_user_without_a_password(tmp_path: Path) -> None:
    layout = LabLayout(tmp_path / "lab", TEST_PORTS)
    port = TEST_PORTS.postgres  # 25432, unless SYNCWIZARD_TEST_PORT_OFFSET moves the test lab
    assert postgres.conninfo(layout, "repository") == (
        f"host=127.0.0.1 port={port} dbname=alfresco user=alfresco"
    )
    assert postgres.conninfo(layout, "sync") == (
        f"host=127.0.0.1 port={port} dbname=syncservice user=sync"
    )


def test_as_root_the_cluster_belongs_to_the_postgres_user_outside_roots_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    cluster = postgres.cluster(LabLayout(tmp_path / "lab", TEST_PORTS))
    assert cluster.os_user == "postgres"
    assert cluster.base_dir.parent == postgres.ROOT_CLUSTERS_DIR
    assert cluster.socket_dir == cluster.base_dir / "run"
    other = postgres.cluster(LabLayout(tmp_path / "other-lab", TEST_PORTS))
    assert other.base_dir != cluster.base_dir  # one cluster per lab root


def test_a_user_keeps_the_cluster_in_the_lab_with_a_short_socket_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    short = postgres.cluster(LabLayout(tmp_path / "lab", TEST_PORTS))
    assert short.os_user is None
    assert short.data_dir == tmp_path / "lab" / "postgres" / "data"
    deep = postgres.cluster(LabLayout(tmp_path / ("d" * 120) / "lab", TEST_PORTS))
    assert str(deep.socket_dir).startswith("/tmp/syncwizard-pg-1000-")
    assert len(str(deep.socket_dir / ".s.PGSQL.25432")) <= postgres.MAX_SOCKET_PATH


def test_scram_verifier_is_what_postgres_computes_for_the_password() -> None:
    verifier = postgres.scram_verifier("correct horse")
    method, rest = verifier.split("$", 1)
    iterations_salt, keys = rest.split("$")
    iterations, salt_b64 = iterations_salt.split(":")
    stored_b64, server_b64 = keys.split(":")
    assert method == "SCRAM-SHA-256" and iterations == "4096"
    salted = hashlib.pbkdf2_hmac("sha256", b"correct horse", base64.b64decode(salt_b64), 4096)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    assert base64.b64decode(stored_b64) == hashlib.sha256(client_key).digest()
    assert base64.b64decode(server_b64) == hmac.new(salted, b"Server Key", "sha256").digest()
    assert "correct horse" not in verifier
    assert postgres.scram_verifier("correct horse") != verifier  # a fresh salt each time


def test_read_pgpass_passwords_takes_only_the_lab_roles_lines(tmp_path: Path) -> None:
    layout = LabLayout(tmp_path / "lab", TEST_PORTS)
    layout.secrets_dir.mkdir(parents=True)
    layout.pgpass.write_text(
        "# comment\n"
        "127.0.0.1:25432:alfresco:alfresco:repo-pw\n"
        "127.0.0.1:25432:other:sync:not-this\n"
        "127.0.0.1:25432:syncservice:sync:sync-pw\n"
    )
    assert postgres.read_pgpass_passwords(layout) == {"alfresco": "repo-pw", "sync": "sync-pw"}
    assert postgres.read_pgpass_passwords(LabLayout(tmp_path / "none")) == {}
