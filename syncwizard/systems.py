"""The clients of a profile's outside systems, built from its settings in one place.

Imported when a screen or command first talks to the systems, not at start-up.
"""

from __future__ import annotations

from pathlib import Path

from syncwizard.clients.health import HealthClient
from syncwizard.clients.jolokia import JolokiaClient
from syncwizard.clients.mysql_conn import MySQLTarget
from syncwizard.clients.mysql_facts import MySQLProbe
from syncwizard.clients.postgres import DatabaseProbe
from syncwizard.clients.results import DatabaseFacts
from syncwizard.config import Profile


def expand(value: str | None) -> Path | None:
    """A path setting, `~` expanded; None when unset."""
    return Path(value).expanduser() if value else None


def health_clients(profile: Profile) -> list[HealthClient]:
    """One client per Sync Service node (`health.url` and `health.other_nodes`)."""
    health = profile.health
    return [
        HealthClient(
            url,
            ca_bundle=expand(health.ca_bundle),
            fingerprint=health.fingerprint,
            timeout=health.timeout,
        )
        for url in health.urls
    ]


def jolokia_client(profile: Profile, password: str | None) -> JolokiaClient:
    """The broker's Jolokia client; through `broker.tunnel` when the profile names one
    (started at the first request, stopped when the client closes)."""
    broker = profile.broker
    if broker.tunnel:
        from syncwizard.clients.tunnel import TunnelledJolokia

        return TunnelledJolokia(
            broker.jolokia_url,
            broker.user,
            password or "",
            tunnel=broker.tunnel,
            tunnel_timeout=broker.tunnel_timeout,
            withheld=(broker.password_env,),
            origin=broker.origin,
            timeout=broker.timeout,
            broker_name=broker.broker_name,
        )
    return JolokiaClient(
        broker.jolokia_url,
        broker.user,
        password or "",
        origin=broker.origin,
        timeout=broker.timeout,
        broker_name=broker.broker_name,
    )


class ExternalProbe:
    """An Oracle or SQL Server database, which syncwizard never connects to: its facts are
    its name and product, said as not read."""

    def __init__(self, name: str, product: str) -> None:
        self.name = name
        self.product = product

    async def facts(self) -> DatabaseFacts:
        return DatabaseFacts(self.name, "", 0, 0, product=self.product, read=False)

    async def aclose(self) -> None:
        """Nothing to close: it never connects."""


def database_probe(profile: Profile, role: str) -> DatabaseProbe | MySQLProbe | ExternalProbe:
    """A probe of `repository_db` or `sync_db`, keeping its connection across polls (a
    MySQL/MariaDB one runs the client at each poll)."""
    settings = getattr(profile, role)
    if settings.engine == "mysql":
        return MySQLProbe(mysql_target(profile, role))
    if settings.engine == "external":
        return ExternalProbe(database_name(profile, role), settings.vendor)
    return DatabaseProbe(settings.conninfo, passfile=expand(settings.passfile), system=role)


def database_name(profile: Profile, role: str) -> str:
    """The name of `role`'s database, whatever its engine."""
    settings = getattr(profile, role)
    if settings.engine == "mysql":
        return str(settings.mysql.database)
    if settings.engine == "external":
        from urllib.parse import urlsplit

        return str(urlsplit(settings.conninfo.strip()).path.lstrip("/") or settings.conninfo)
    from syncwizard.clients.postgres import parse_conninfo

    parts = parse_conninfo(settings.conninfo, role)
    return parts.get("dbname") or parts.get("user", "")


def mysql_target(profile: Profile, role: str) -> MySQLTarget:
    """How the MySQL/MariaDB clients reach `role`'s database (a mysql:// conninfo)."""
    settings = getattr(profile, role)
    url = settings.mysql
    return MySQLTarget(
        database=url.database,
        user=url.user,
        host=url.host,
        port=url.port,
        socket=Path(url.socket) if url.socket else None,
        password_file=expand(settings.password_file),
        password_env=settings.password_env,
        system=role,
        timeout=settings.timeout,
    )
