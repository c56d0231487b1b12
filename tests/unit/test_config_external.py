"""A repository DB on Oracle or SQL Server: named by an oracle:// or sqlserver:// URL,
never connected to (its backup is the vendor's tools', attested), shown as not read; the
Sync DB there, a password, or password keys are refused when the profile is read."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from syncwizard import systems
from syncwizard.clients.results import DatabaseFacts
from syncwizard.config import load_settings
from syncwizard.errors import SyncWizardError
from syncwizard.status import DatabaseStatus, StatusReport
from syncwizard.status_text import render_status

HEAD = """
[profiles.p.health]
url = "https://sync:9090/alfresco/healthcheck"
[profiles.p.broker]
jolokia_url = "http://mq:8161/api/jolokia"
"""
SYNC_ON_POSTGRES = """
[profiles.p.sync_db]
conninfo = "host=db dbname=syncservice user=sync"
"""


def write(tmp_path: Path, repository_db: str, sync_db: str = SYNC_ON_POSTGRES) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(HEAD + sync_db + "[profiles.p.repository_db]\n" + repository_db)
    return path


def error_of(tmp_path: Path, repository_db: str, sync_db: str = SYNC_ON_POSTGRES) -> str:
    with pytest.raises(SyncWizardError) as caught:
        load_settings(write(tmp_path, repository_db, sync_db), "p", {})
    assert caught.value.system == "config"
    assert caught.value.hint, "every config error says what to do"
    return f"{caught.value.message} | {caught.value.hint}"


@pytest.mark.parametrize(
    ("url", "vendor"),
    [
        ("oracle://db.example:1521/ALFRESCO", "Oracle"),
        ("sqlserver://db.example:1433/alfresco", "SQL Server"),
        ("mssql://db.example/alfresco", "SQL Server"),
    ],
)
def test_an_oracle_or_sql_server_url_is_an_external_repository(
    tmp_path: Path, url: str, vendor: str
) -> None:
    profile = load_settings(write(tmp_path, f'conninfo = "{url}"\n'), "p", {}).profile
    assert profile.repository_db.engine == "external"
    assert profile.repository_db.vendor == vendor
    assert profile.sync_db.engine == "postgresql"


def test_the_dashboard_shows_it_by_name_and_product_as_not_read(tmp_path: Path) -> None:
    url = 'conninfo = "oracle://db.example:1521/ALFRESCO"\n'
    profile = load_settings(write(tmp_path, url), "p", {}).profile
    facts = asyncio.run(systems.database_probe(profile, "repository_db").facts())
    assert facts == DatabaseFacts("ALFRESCO", "", 0, 0, product="Oracle", read=False)
    report = StatusReport(taken_at=0.0, databases=(DatabaseStatus("repository_db", facts),))
    assert "repository_db  ALFRESCO  Oracle  not read: vendor's backup" in (render_status(report))


def test_a_sync_db_on_oracle_is_refused_naming_what_is_supported(tmp_path: Path) -> None:
    text = error_of(
        tmp_path,
        'conninfo = "host=db dbname=alfresco user=alfresco"\n',
        '[profiles.p.sync_db]\nconninfo = "oracle://db.example:1521/SYNC"\n',
    )
    assert "profiles.p.sync_db.conninfo names an Oracle database" in text
    assert "a Sync DB on PostgreSQL or MySQL/MariaDB only" in text
    assert "follow Alfresco's procedure by hand" in text


def test_a_password_in_the_url_is_refused_and_not_shown(tmp_path: Path) -> None:
    text = error_of(tmp_path, 'conninfo = "oracle://system:hunter2@db.example/ALFRESCO"\n')
    assert "has a password in it" in text and "hunter2" not in text
    assert "never connects" in text


def test_password_keys_beside_an_external_url_are_refused(tmp_path: Path) -> None:
    text = error_of(
        tmp_path, 'conninfo = "sqlserver://db.example/alfresco"\npassword_env = "MSSQL_PW"\n'
    )
    assert "repository_db.password_env is set" in text and "SQL Server" in text
    assert "remove password_env" in text


def test_an_external_url_without_a_host_is_refused(tmp_path: Path) -> None:
    text = error_of(tmp_path, 'conninfo = "oracle:///ALFRESCO"\n')
    assert "names no host" in text and "oracle://host[:port]/SERVICE" in text
