"""Profiles in TOML: one typed settings object, read strictly, written without losing comments.

The config file holds named profiles (`[profiles.<name>.<section>]`) and a
`[ui]` table. Unknown keys and wrong types are refused with the key and the
profile named; a password never lives in the file: secrets come from the
environment, a 0600 file, libpq's own files, or a masked prompt.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import tomllib
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from syncwizard import paths
from syncwizard.errors import SyncWizardError

ENV_PREFIX = "SYNCWIZARD_"


def _limited(default: Any, expected: str, admits: Callable[[Any], bool]) -> Any:
    """A field whose values `_build` checks: `admits(value)`, else an error saying `expected`."""
    return field(default=default, metadata={"expected": expected, "admits": admits})


def _seconds(default: float, *, at_least: float = 0.0, zero_ok: bool = False) -> Any:
    """A duration: finite and above 0 (or `at_least`, or 0 itself when `zero_ok`)."""
    if zero_ok:
        return _limited(default, "a number of seconds, 0 or more", lambda v: 0 <= v < math.inf)
    if at_least > 0:
        return _limited(
            default,
            f"a number of seconds, {at_least:g} or more",
            lambda v: at_least <= v < math.inf,
        )
    return _limited(default, "a number of seconds greater than 0", lambda v: 0 < v < math.inf)


def _one_of(default: str, choices: tuple[str, ...], expected: str) -> Any:
    return _limited(default, expected, lambda v: v in choices)


@dataclass(frozen=True)
class HealthSettings:
    url: str
    ca_bundle: str | None = None
    fingerprint: str | None = None
    other_nodes: tuple[str, ...] = ()
    timeout: float = _seconds(5.0)  # the whole call: connect, request, every read

    @property
    def urls(self) -> tuple[str, ...]:
        return (self.url, *self.other_nodes)


@dataclass(frozen=True)
class BrokerSettings:
    jolokia_url: str
    user: str = "admin"
    password_env: str = "SYNCWIZARD_BROKER_PASSWORD"
    password_file: str | None = None
    stomp: str = "stomp://localhost:61613"
    broker_name: str | None = None
    topic: str | None = None
    origin: str | None = None
    timeout: float = _seconds(5.0)  # the whole call: connect, request, every read
    # A broker shipped without STOMP (ActiveMQ 5.19.7+, 6.2.6+): shell commands that add a
    # loopback STOMP connector to activemq.xml and restart the broker, and undo it, run by
    # the restore's clear around its consuming; the seconds a restart may take.
    stomp_open: str | None = None
    stomp_close: str | None = None
    restart_timeout: float = _seconds(180.0)
    # A command that makes a loopback-only Jolokia reachable at jolokia_url's port (e.g.
    # `kubectl -n NS port-forward svc/acs-activemq 8161:8161`, `ssh -N -L
    # 8161:localhost:8161 host`): started before the first Jolokia request, restarted once
    # if it dies, stopped at the end (clients/tunnel.py). Never a secret in it.
    tunnel: str | None = None
    tunnel_timeout: float = _seconds(30.0)  # seconds for its port to accept connections


@dataclass(frozen=True)
class DatabaseSettings:
    # PostgreSQL: a libpq conninfo ("host=... dbname=... user=..." or postgresql://...).
    # MySQL/MariaDB: mysql://user@host[:port]/database (mariadb:// too; ?socket=/path for a
    # unix socket); the scheme chooses the engine.
    conninfo: str
    passfile: str | None = None  # a libpq password file; libpq's default when unset
    # MySQL/MariaDB only (never in the URL, never on a tool's argv): the name of an
    # environment variable holding the password, else a file with it on its first line
    # (mode 0600); passed to the tools through a 0600 --defaults-extra-file.
    password_env: str | None = None
    password_file: str | None = None
    # seconds to connect, and for each answer to a short query (facts, progress); a dump's
    # data transfer is not bounded by it
    timeout: float = _seconds(5.0)
    # seconds a dump (and its exact row counts) may wait for a table lock another session
    # holds, e.g. a migration's ACCESS EXCLUSIVE lock
    lock_timeout: float = _seconds(60.0)

    @property
    def engine(self) -> str:
        """ "mysql" (MySQL or MariaDB: a mysql:// or mariadb:// URL), "external" (Oracle or
        SQL Server: backed up and restored by the vendor's tools, see external_vendor), or
        "postgresql"."""
        if is_mysql_url(self.conninfo):
            return "mysql"
        return "external" if external_vendor(self.conninfo) else "postgresql"

    @property
    def vendor(self) -> str:
        """The database's product as the admin names it: "PostgreSQL", "MySQL/MariaDB",
        "Oracle" or "SQL Server"."""
        if is_mysql_url(self.conninfo):
            return "MySQL/MariaDB"
        return external_vendor(self.conninfo) or "PostgreSQL"

    @property
    def mysql(self) -> MySQLURL:
        """The parts of a mysql:// conninfo (checked when the profile was read)."""
        return parse_mysql_url(self.conninfo, "conninfo")


MYSQL_SCHEMES = ("mysql", "mariadb")
MYSQL_FORM = "mysql://user@host[:port]/database (or mariadb://...; ?socket=/path for a socket)"


def is_mysql_url(conninfo: str) -> bool:
    scheme, separator, _ = conninfo.strip().partition("://")
    return bool(separator) and scheme.lower() in MYSQL_SCHEMES


# Databases syncwizard does not dump or restore itself: their backup is taken with the
# vendor's tools and attested (`backup --external-repository-backup`), their restore
# confirmed at a gate. Only where they are (never a password) is written.
EXTERNAL_SCHEMES = {"oracle": "Oracle", "sqlserver": "SQL Server", "mssql": "SQL Server"}
EXTERNAL_FORM = "oracle://host[:port]/SERVICE or sqlserver://host[:port]/database"


def external_vendor(conninfo: str) -> str | None:
    """ "Oracle" or "SQL Server" for an oracle:// or sqlserver:// (mssql://) URL, else None."""
    scheme, separator, _ = conninfo.strip().partition("://")
    return EXTERNAL_SCHEMES.get(scheme.lower()) if separator else None


@dataclass(frozen=True)
class MySQLURL:
    user: str
    host: str
    port: int
    database: str
    socket: str | None = None


def parse_mysql_url(conninfo: str, where: str) -> MySQLURL:
    """`mysql://user@host[:port]/database[?socket=/path]`, or an error naming `where`,
    what was expected and what to do. A password in it is refused, masked."""
    from urllib.parse import parse_qs, unquote, urlsplit

    # Shown as written, unless `user:secret@` is in it.
    shown = _masked_userinfo(conninfo) if re.search(r"://[^/@]*:[^/@]*@", conninfo) else None

    def bad(what: str, fix: str) -> SyncWizardError:
        return _error(f"{where} = {shown or conninfo!r}: {what}", fix)

    try:
        parts = urlsplit(conninfo.strip())
        port = parts.port
    except ValueError:
        raise bad(f"is not a URL of the form {MYSQL_FORM}", "fix the port (a number)") from None
    if parts.password is not None:
        raise _error(
            f"{where} has a password in it ({shown})",
            "remove `:password` from the URL; give it by password_env (an environment "
            "variable's name) or password_file (a mode-0600 file)",
        )
    if not parts.username:
        raise bad("names no user", f"write it as {MYSQL_FORM}")
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - {"socket"})
    if unknown or parts.fragment:
        raise bad(
            f"has {('the option ' + unknown[0]) if unknown else 'a #fragment'}, which "
            "syncwizard does not know",
            "the only option is ?socket=/path/to/mysqld.sock",
        )
    socket = query.get("socket", [None])[0] or None
    if not parts.hostname and not socket:
        raise bad("names no host", f"write it as {MYSQL_FORM}")
    database = unquote(parts.path.lstrip("/"))
    if not database or "/" in database:
        raise bad("names no database (the path after the host)", f"write it as {MYSQL_FORM}")
    return MySQLURL(
        user=unquote(parts.username),
        host=parts.hostname or "localhost",
        port=port or 3306,
        database=database,
        socket=socket,
    )


@dataclass(frozen=True)
class ServiceSettings:
    stop: str | None = None
    start: str | None = None
    start_with_recover: str | None = None
    timeout: float = _seconds(120.0)  # seconds a stop or start command may take
    healthy_timeout: float = _seconds(600.0)  # seconds to wait for the service to answer healthy
    watch_interval: float = _seconds(2.0)  # seconds between two looks while it comes back
    # What -Drecover did: a command printing how far the Sync DB is from the repository
    # (run before and after the recover start), and the service's log, whose lines about
    # the recover are shown after it.
    drift_command: str | None = None
    log: str | None = None
    # How the wizard finds the service's local process, to see whether it runs and whether
    # -Drecover is still in its arguments: a pid file (e.g. the one syncservice.sh writes),
    # or a regular expression matched against each local process's command line.
    pid_file: str | None = None
    process_pattern: str | None = None
    # seconds the restore's stop step waits for the services to be down (no consumer, no
    # producer, no health check answering, no repository session)
    down_timeout: float = _seconds(30.0)
    # Shown at the recover gate: where -Drecover (with the password) is readable while it
    # is set, e.g. "the container's environment (docker inspect)" (a preset writes it), and
    # what else the admin must know before that start (Helm: the liveness probe).
    recover_option_visible_in: str = ""
    recover_caution: str = ""


@dataclass(frozen=True)
class RepositorySettings:
    """The Alfresco repository, so a restore can stop it, start it again and see it answer."""

    stop: str | None = None
    start: str | None = None
    # An HTTP(S) URL that answers 200 once the repository serves requests, e.g. its
    # readiness probe /alfresco/api/-default-/public/alfresco/versions/1/probes/-ready-
    ready_url: str | None = None
    ca_bundle: str | None = None  # CA file for an https ready_url (system CAs otherwise)
    timeout: float = _seconds(120.0)  # seconds a stop or start command may take
    ready_timeout: float = _seconds(600.0)  # seconds to wait for ready_url after a start
    quiet_window: float = _seconds(5.0)  # seconds the topic must receive nothing: quiet


@dataclass(frozen=True)
class BackupSettings:
    dir: str = field(default_factory=lambda: str(paths.default_backup_dir()))
    # pg_dump format: "directory" (parallel jobs) or "custom"
    format: str = _one_of("directory", ("directory", "custom"), '"directory" or "custom"')
    # pg_dump --jobs, directory format only
    jobs: int = _limited(2, "a whole number, 1 or more", lambda v: v >= 1)
    # gzip level of the dump; "" = syncwizard's default (1). A directory dump is gzipped by
    # the wizard (runbook/backup/data_files.py), a custom-format one by pg_dump
    compress: str = _one_of(
        "",
        ("", *"0123456789"),
        'a gzip level from "0" (none) to "9", or "" for the default ("1")',
    )
    # "drain" (runbook/backup/drain.py's criterion) or "countdown" (the doc's wait)
    wait_mode: str = _one_of("drain", ("drain", "countdown"), '"drain" or "countdown"')
    countdown: float = _seconds(120.0)  # seconds, wait_mode = "countdown"
    drain_timeout: float = _seconds(1800.0)  # give up the drain wait, with guidance, after this
    drain_interval: float = _seconds(2.0)  # seconds between two looks at the queue
    drain_confirm: float = _seconds(5.0, zero_ok=True)  # two drained looks this far apart
    # The drain's margin after t0 is publish_lag + the clock skew measured between the
    # database server, the broker and this host; a measured skew above clock_skew is refused.
    # publish_lag: how long the repository may hold the event of a committed change in its
    # asynchronous sender before the broker has it (raise it for a busy repository)
    clock_skew: float = _seconds(2.0, zero_ok=True)
    publish_lag: float = _seconds(10.0, zero_ok=True)
    stall_after: float = _seconds(120.0)  # say so when nothing was consumed for this long
    # A shell command backing up the content store with this set (rsync, a snapshot...),
    # run once the dumps are taken (after t0), before the set is sealed; it gets
    # $SYNCWIZARD_SET_NAME and $SYNCWIZARD_T0 and writes outside the set folder (whose
    # files the manifest lists). "" = the set records none, and the restore asks for a
    # content store backup taken after t0
    content_store: str = ""
    content_store_timeout: float = _seconds(3600.0)


@dataclass(frozen=True)
class Profile:
    name: str
    health: HealthSettings
    broker: BrokerSettings
    repository_db: DatabaseSettings
    sync_db: DatabaseSettings
    repository: RepositorySettings = RepositorySettings()
    sync_service: ServiceSettings = ServiceSettings()
    backup: BackupSettings = field(default_factory=BackupSettings)


@dataclass(frozen=True)
class UiSettings:
    poll_interval: float = _seconds(1.0, at_least=0.1)
    high_contrast: bool = False
    keymap: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Settings:
    """Everything a run needs from the config file, resolved."""

    config_path: Path
    profile: Profile
    ui: UiSettings
    profiles: tuple[str, ...]


SECTIONS: dict[str, type] = {
    "health": HealthSettings,
    "broker": BrokerSettings,
    "repository_db": DatabaseSettings,
    "sync_db": DatabaseSettings,
    "repository": RepositorySettings,
    "sync_service": ServiceSettings,
    "backup": BackupSettings,
}
REQUIRED_SECTIONS = ("health", "broker", "repository_db", "sync_db")


def _error(message: str, hint: str) -> SyncWizardError:
    return SyncWizardError(message, hint=hint, system="config")


def _type_name(annotation: Any) -> str:
    names = {str: "a string", float: "a number", int: "an integer", bool: "true or false"}
    if annotation in names:
        return names[annotation]
    origin = typing.get_origin(annotation)
    if origin in (tuple, list):
        return "a list of strings"
    if origin in (dict, Mapping):
        return "a table of strings"
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    return _type_name(args[0]) if args else str(annotation)


def _coerce(value: Any, annotation: Any, where: str) -> Any:
    """Check `value` against a field annotation; raise naming `where`."""
    origin = typing.get_origin(annotation)
    if origin in (types.UnionType, typing.Union):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _coerce(value, args[0], where)
    ok: bool
    if annotation is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif annotation is int or annotation is bool or annotation is str:
        ok = type(value) is annotation
    elif origin in (tuple, list):
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        value = tuple(value) if ok else value
    elif origin in (dict, Mapping):
        ok = isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    else:  # pragma: no cover - a field type this parser does not know
        raise TypeError(annotation)
    if not ok:
        raise _error(
            f"{where} should be {_type_name(annotation)}, not {value!r}",
            "fix the value in the config file (`syncwizard config show` prints what is in effect)",
        )
    return value


def _shown(value: Any) -> str:
    """A setting's value as the admin would write it: -1, 0.5, inf, "12"."""
    if isinstance(value, float):
        return f"{value:g}"
    return json.dumps(value) if isinstance(value, str) else str(value)


def _check_limits(
    cls: type, values: Mapping[str, Any], where: str, env_vars: Mapping[str, str]
) -> None:
    """Refuse a value outside its field's range, naming where it came from."""
    for spec in dataclasses.fields(cls):
        admits = spec.metadata.get("admits")
        if admits is None or spec.name not in values or admits(values[spec.name]):
            continue
        variable = env_vars.get(spec.name)
        source = f" (set by the environment variable {variable})" if variable else ""
        raise _error(
            f"{where}.{spec.name} = {_shown(values[spec.name])}{source} is out of range: "
            f"expected {spec.metadata['expected']}",
            f"fix or unset {variable}"
            if variable
            else "fix the value in the config file, or remove the line to get the default "
            f"({_shown(spec.default)})",
        )


def _build(
    cls: type,
    raw: Mapping[str, Any],
    where: str,
    extra: dict[str, Any],
    env_vars: Mapping[str, str] | None = None,
) -> Any:
    """Make the dataclass `cls` from a TOML table, refusing unknown keys, wrong types and
    values out of range. `env_vars` names the environment variable of each key set by one."""
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)} - set(extra)
    unknown = sorted(set(raw) - known)
    if unknown:
        raise _error(
            f"unknown key {where}.{unknown[0]}",
            f"the keys of [{where}] are: {', '.join(sorted(known))}",
        )
    values = {key: _coerce(value, hints[key], f"{where}.{key}") for key, value in raw.items()}
    _check_limits(cls, values, where, env_vars or {})
    missing = [
        f.name
        for f in dataclasses.fields(cls)
        if f.name not in values
        and f.name not in extra
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise _error(
            f"{where}.{missing[0]} is missing",
            f"add `{missing[0]} = ...` under [{where}] "
            "(`syncwizard config init` writes an example)",
        )
    return cls(**values, **extra)


def _env_overrides(environ: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """`SYNCWIZARD_<SECTION>__<KEY>=value` overrides one key of the chosen profile."""
    overrides: dict[str, dict[str, str]] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        section, _, key = name[len(ENV_PREFIX) :].lower().partition("__")
        if section in SECTIONS:
            overrides.setdefault(section, {})[key] = value
    return overrides


def _from_env_text(text: str, annotation: Any, where: str) -> Any:
    target = annotation
    if typing.get_origin(annotation) in (types.UnionType, typing.Union):
        target = next(a for a in typing.get_args(annotation) if a is not type(None))
    try:
        if target is float:
            return float(text)
        if target is int:
            return int(text)
        if target is bool:
            return {"true": True, "1": True, "false": False, "0": False}[text.lower()]
    except (ValueError, KeyError):
        raise _error(
            f"{where} (from the environment) should be {_type_name(target)}, not {text!r}",
            "fix or unset the environment variable",
        ) from None
    if typing.get_origin(target) in (tuple, list):
        return [part.strip() for part in text.split(",") if part.strip()]
    return text


# key=value form (`password=...`) or URI form (`postgresql://user:secret@host`); a cheap
# look so start-up need not import the driver.
_PASSWORD_IN_CONNINFO = re.compile(r"(^|\s)password\s*=|^postgres(ql)?://[^/@]*:[^/@]*@", re.I)


def _check_database(profile: Profile, section: str) -> None:
    """A MySQL/MariaDB URL well formed and with its own password keys; a PostgreSQL
    conninfo without them. Each error names the key, what was expected and the fix."""
    settings: DatabaseSettings = getattr(profile, section)
    where = f"profiles.{profile.name}.{section}"
    if settings.engine == "external":
        _check_external(settings, where, section)
        return
    if settings.engine == "mysql":
        parse_mysql_url(settings.conninfo, f"{where}.conninfo")
        if settings.passfile:
            raise _error(
                f"{where}.passfile is a libpq (PostgreSQL) password file, but "
                f"{where}.conninfo is a MySQL/MariaDB URL",
                "remove passfile; give the MySQL/MariaDB password by password_env (an "
                "environment variable's name) or password_file (a mode-0600 file with the "
                "password on its first line)",
            )
        if settings.password_file:
            path = Path(settings.password_file).expanduser()
            try:
                mode = path.stat().st_mode
            except OSError:
                return  # read when used; a missing file is said then, with the step
            if mode & 0o077:
                raise _error(
                    f"{where}.password_file {path} is readable by other users "
                    f"(mode {mode & 0o777:o}); expected mode 600",
                    f"run: chmod 600 {path}",
                )
        return
    for key in ("password_env", "password_file"):
        if getattr(settings, key):
            raise _error(
                f"{where}.{key} is for a MySQL/MariaDB database, but {where}.conninfo is a "
                "PostgreSQL conninfo",
                f"remove {key}; a PostgreSQL password goes in ~/.pgpass (mode 0600), a "
                "`passfile`, or PGPASSWORD; or, if this is MySQL/MariaDB, write conninfo "
                f"as {MYSQL_FORM}",
            )


def _check_external(settings: DatabaseSettings, where: str, section: str) -> None:
    """An Oracle or SQL Server database: the repository's only, named without a password
    (syncwizard never connects to it)."""
    vendor = settings.vendor
    if section != "repository_db":
        raise _error(
            f"{where}.conninfo names {_a(vendor)} database: syncwizard backs up and restores "
            "a Sync DB on PostgreSQL or MySQL/MariaDB only",
            f"follow Alfresco's procedure by hand for a Sync DB on {vendor} (the README's "
            "'Oracle and SQL Server' section has the commands); or point sync_db at a "
            "PostgreSQL or MySQL/MariaDB database",
        )
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(settings.conninfo.strip())
        parts.port  # noqa: B018 (a bad port raises here)
    except ValueError:
        raise _error(
            f"{where}.conninfo = {settings.conninfo!r} is not a URL of the form {EXTERNAL_FORM}",
            "fix the port (a number)",
        ) from None
    if parts.password is not None:
        raise _error(
            f"{where}.conninfo has a password in it ({_masked_userinfo(settings.conninfo)})",
            f"remove it: syncwizard never connects to a {vendor} database, it only names it",
        )
    if not parts.hostname:
        raise _error(
            f"{where}.conninfo = {settings.conninfo!r} names no host",
            f"write it as {EXTERNAL_FORM}",
        )
    for key in ("passfile", "password_env", "password_file"):
        if getattr(settings, key):
            raise _error(
                f"{where}.{key} is set, but {where}.conninfo names {_a(vendor)} database, "
                "which syncwizard never connects to",
                f"remove {key}",
            )


def _a(word: str) -> str:
    return ("an " if word[:1] in "AEIOU" else "a ") + word


def _check_no_password(profile: Profile) -> None:
    for section in ("repository_db", "sync_db"):
        _check_database(profile, section)
        if getattr(profile, section).engine in ("mysql", "external"):
            continue
        if _PASSWORD_IN_CONNINFO.search(getattr(profile, section).conninfo):
            raise _error(
                f"profiles.{profile.name}.{section}.conninfo contains a password",
                "remove it from the config file; put it in ~/.pgpass (mode 0600), "
                "a `passfile`, or PGPASSWORD",
            )


# The URL settings, and where their secrets go instead of `user:password@host`.
_URL_KEYS: dict[tuple[str, str], str] = {
    ("health", "url"): "the Sync Service health check needs no credentials",
    ("health", "other_nodes"): "the Sync Service health check needs no credentials",
    **{
        ("broker", key): (
            "the user goes in broker.user, the password in the environment variable named "
            "by broker.password_env or in a mode-0600 file named by broker.password_file"
        )
        for key in ("jolokia_url", "stomp", "origin")
    },
    ("repository", "ready_url"): "the repository's readiness probe needs no credentials",
}


def _masked_userinfo(url: str) -> str | None:
    """`url` with its `user:password@` shown as `***@`; None when it names no user.

    The authority ends at the first `/`, `?` or `#` after `scheme://` (RFC 3986); a URL
    written without a scheme is looked at the same way.
    """
    scheme, separator, rest = url.partition("://")
    if not separator:
        scheme, rest = "", url
    ends = [index for index in (rest.find(char) for char in "/?#") if index >= 0]
    at = rest.rfind("@", 0, min(ends, default=len(rest)))
    if at < 0:
        return None
    return f"{scheme}{separator}***@{rest[at + 1 :]}"


def _check_no_credentials_in_urls(
    profile: Profile, env_vars: Mapping[str, Mapping[str, str]]
) -> None:
    for (section, key), instead in _URL_KEYS.items():
        value = getattr(getattr(profile, section), key)
        for url in value if isinstance(value, tuple) else (value,):
            shown = _masked_userinfo(url) if url else None
            if shown is None:
                continue
            variable = env_vars.get(section, {}).get(key)
            source = f"the environment variable {variable}" if variable else "the config file"
            raise _error(
                f"profiles.{profile.name}.{section}.{key} has credentials in it ({shown}, "
                f"from {source}): URLs are shown by `config show` and in messages, and "
                "written to a backup's manifest and journal, so they must carry no secret",
                f"remove the `user:password@` part from the URL; {instead}",
            )


def read_config_file(path: Path) -> dict[str, Any]:
    """The TOML document at `path`, or a clear error saying where we looked."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise _error(
            f"no config file at {path}",
            "run `syncwizard config init` to write a commented template there, "
            "`syncwizard lab up` to practise on a local stack, or point --config / "
            "SYNCWIZARD_CONFIG at your file",
        ) from None
    except OSError as exc:
        raise _error(
            f"cannot read the config file {path}: {exc.strerror}", "check its permissions"
        ) from None
    text = decode_config(data, path)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _error(
            f"the config file {path} is not valid TOML: {exc}",
            "fix the line and column named; strings need quotes, tables [brackets]",
        ) from None


def decode_config(data: bytes, path: Path) -> str:
    """The text of a config file, which TOML requires to be UTF-8; else where it is not."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = exc.start
        line = data.count(b"\n", 0, offset) + 1
        column = offset - (data.rfind(b"\n", 0, offset) + 1) + 1
        raise _error(
            f"the config file {path} is not UTF-8 text: the byte 0x{data[offset]:02X} on line "
            f"{line} (byte {column} of the line, byte offset {offset} in the file) is not "
            "valid UTF-8, and TOML files must be UTF-8; the file was left as it is",
            "open it in an editor and save it as UTF-8 (the byte is likely an accented letter "
            f"written as Latin-1 or Windows-1252), or convert it: iconv -f latin1 -t utf-8 "
            f"{path} > {path}.utf8, check the result, then move it into place",
        ) from None


def load_settings(
    config_path: Path | None = None,
    profile_name: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Read the config file and resolve one profile, applying environment overrides."""
    environ = os.environ if environ is None else environ
    path = config_path or paths.config_file()
    document = read_config_file(path)
    unknown = sorted(set(document) - {"default_profile", "profiles", "ui"})
    if unknown:
        raise _error(
            f"unknown top-level key {unknown[0]!r} in {path}",
            "the top level holds default_profile, [profiles.<name>.<section>] and [ui]",
        )
    profiles = document.get("profiles", {})
    if not isinstance(profiles, dict) or not profiles:
        raise _error(
            f"the config file {path} defines no profile",
            "add [profiles.<name>.health] and the other sections (`syncwizard config init`)",
        )
    name = (
        profile_name
        or environ.get("SYNCWIZARD_PROFILE")
        or document.get("default_profile")
        or (next(iter(profiles)) if len(profiles) == 1 else None)
    )
    if name is None:
        raise _error(
            f"{path} has several profiles and no default_profile",
            f"choose one with --profile ({', '.join(profiles)}) or set default_profile",
        )
    if name not in profiles:
        raise _error(
            f"no profile {name!r} in {path}",
            f"the profiles there are: {', '.join(profiles)}",
        )
    profile = _build_profile(name, profiles[name], _env_overrides(environ))
    ui = _build(UiSettings, document.get("ui", {}), "ui", {})
    return Settings(config_path=path, profile=profile, ui=ui, profiles=tuple(profiles))


def _build_profile(name: str, raw: Any, overrides: dict[str, dict[str, str]]) -> Profile:
    where = f"profiles.{name}"
    if not isinstance(raw, dict):
        raise _error(f"{where} should be a table", f"write it as [{where}.health] and so on")
    unknown = sorted(set(raw) - set(SECTIONS))
    if unknown:
        raise _error(
            f"unknown section {where}.{unknown[0]}",
            f"the sections of a profile are: {', '.join(SECTIONS)}",
        )
    sections: dict[str, Any] = {}
    env_vars: dict[str, dict[str, str]] = {}  # section -> key -> the variable that set it
    for section, cls in SECTIONS.items():
        table = raw.get(section)
        if table is None and section in REQUIRED_SECTIONS:
            raise _error(
                f"{where} has no [{where}.{section}] section",
                "add it (`syncwizard config init` writes an example of every section)",
            )
        if table is not None and not isinstance(table, dict):
            raise _error(f"{where}.{section} should be a table", f"write it as [{where}.{section}]")
        merged = dict(table or {})
        hints = typing.get_type_hints(cls)
        for key, text in overrides.get(section, {}).items():
            if key not in hints:
                raise _error(
                    f"unknown key {section}.{key} in the environment variable "
                    f"{ENV_PREFIX}{section.upper()}__{key.upper()}",
                    f"the keys of {section} are: {', '.join(hints)}",
                )
            merged[key] = _from_env_text(text, hints[key], f"{where}.{section}.{key}")
            env_vars.setdefault(section, {})[key] = f"{ENV_PREFIX}{section.upper()}__{key.upper()}"
        if table is not None or merged:
            sections[section] = _build(
                cls, merged, f"{where}.{section}", {}, env_vars.get(section, {})
            )
    profile = Profile(name=name, **sections)
    _check_no_password(profile)
    _check_no_credentials_in_urls(profile, env_vars)
    return profile


def _mask(value: str | None) -> str:
    return "********" if value else "(not set)"


def broker_password(broker: BrokerSettings, environ: Mapping[str, str] | None = None) -> str | None:
    """The broker password from `$<password_env>`, else from `password_file`; None if neither."""
    environ = os.environ if environ is None else environ
    if value := environ.get(broker.password_env):
        return value
    if broker.password_file:
        return read_secret_file(Path(broker.password_file), "broker.password_file")
    return None


def read_secret_file(path: Path, key: str) -> str:
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise _error(
            f"cannot read {key} {path}: {exc.strerror}",
            "create it with the password on one line, mode 0600",
        ) from None
    if mode & 0o077:
        raise _error(
            f"{key} {path} is readable by other users (mode {mode & 0o777:o})",
            f"run: chmod 600 {path}",
        )
    return text.strip()


def describe(settings: Settings, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The resolved profile as plain data, with every secret masked (for `config show`)."""
    environ = os.environ if environ is None else environ
    profile = settings.profile
    data: dict[str, Any] = {
        "config_path": str(settings.config_path),
        "profile": profile.name,
        "profiles": list(settings.profiles),
    }
    for section in SECTIONS:
        data[section] = {
            k: list(v) if isinstance(v, tuple) else v
            for k, v in dataclasses.asdict(getattr(profile, section)).items()
        }
    source = (
        f"${profile.broker.password_env}"
        if environ.get(profile.broker.password_env)
        else profile.broker.password_file
    )
    try:
        found = broker_password(profile.broker, environ)
    except SyncWizardError:
        found = None
    data["broker"]["password"] = _mask(found) + (f" (from {source})" if found else "")
    data["ui"] = {
        "poll_interval": settings.ui.poll_interval,
        "high_contrast": settings.ui.high_contrast,
        "keymap": dict(settings.ui.keymap),
    }
    return data
