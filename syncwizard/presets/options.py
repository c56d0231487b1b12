"""The parameters of the presets (the names that vary between deployments), checked before
anything is written: a name that no systemd, Docker Compose or Kubernetes object can have
is refused with what was expected, rather than rendered into commands that fail at 3 a.m.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit

from syncwizard.errors import SyncWizardError

# What each preset takes; an option given to another preset is refused (it would be
# silently ignored otherwise, and the admin would believe it applied).
ACCEPTS: dict[str, frozenset[str]] = {
    "systemd": frozenset({"unit", "repository_unit", "java_opts", "db_host", "activemq_home"}),
    "zip": frozenset({"install_dir", "db_host", "activemq_home"}),
    "compose": frozenset({"compose_dir", "compose_file", "service"}),
    "helm": frozenset({"release", "namespace", "replicas", "repository_replicas", "ingress_url"}),
}

_PROFILE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_UNIT = re.compile(r"[A-Za-z0-9:_.\\@-]{1,200}")
_COMPOSE_SERVICE = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]")


@dataclass(frozen=True)
class PresetOptions:
    """Every preset parameter; None = the preset's default (see each preset's module)."""

    unit: str | None = None
    repository_unit: str | None = None
    java_opts: str | None = None
    db_host: str | None = None
    activemq_home: str | None = None
    install_dir: str | None = None
    compose_dir: str | None = None
    compose_file: str | None = None
    service: str | None = None
    release: str | None = None
    namespace: str | None = None
    replicas: int | None = None
    repository_replicas: int | None = None
    ingress_url: str | None = None

    def given(self) -> list[str]:
        return [f.name for f in fields(self) if getattr(self, f.name) is not None]


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def refuse(option: str, value: object, expected: str, hint: str = "") -> SyncWizardError:
    return SyncWizardError(
        f"{flag(option)} {value!r} cannot be used: expected {expected}",
        hint=hint
        or f"give {flag(option)} again with such a value, or leave it out for the preset's default",
        system="config",
    )


def check_applicable(preset: str, options: PresetOptions) -> None:
    wrong = [name for name in options.given() if name not in ACCEPTS[preset]]
    if wrong:
        takes = ", ".join(sorted(flag(n) for n in ACCEPTS[preset]))
        raise SyncWizardError(
            f"{flag(wrong[0])} does not apply to the {preset} preset",
            hint=f"the {preset} preset takes {takes}; leave {flag(wrong[0])} out",
            system="config",
        )


def check_profile_name(name: str) -> str:
    if not _PROFILE.fullmatch(name):
        raise SyncWizardError(
            f"the profile name {name!r} cannot be used: expected letters, digits, _ or -",
            hint="give another name with --profile (e.g. prod)",
            system="config",
        )
    return name


def unit_name(option: str, value: str) -> str:
    """A systemd unit name, given with or without `.service`."""
    name = value.removesuffix(".service")
    if not _UNIT.fullmatch(name):
        raise refuse(option, value, "a systemd unit name such as alfresco-sync")
    return name


def absolute_path(option: str, value: str) -> str:
    if not value.startswith("/") or "\n" in value:
        raise refuse(option, value, "an absolute path (starting with /)")
    return value.rstrip("/") or "/"


def host(option: str, value: str) -> str:
    if not _HOST.fullmatch(value):
        raise refuse(option, value, "a host name or IP address, without a port or scheme")
    return value


def compose_service(option: str, value: str) -> str:
    if not _COMPOSE_SERVICE.fullmatch(value):
        raise refuse(option, value, "a Compose service name (letters, digits, _ . -)")
    return value


def dns_label(option: str, value: str, limit: int, what: str) -> str:
    if len(value) > limit or not _DNS_LABEL.fullmatch(value):
        raise refuse(
            option,
            value,
            f"a {what}: lower-case letters, digits and -, starting and ending with a letter "
            f"or digit, at most {limit} characters",
        )
    return value


def count(option: str, value: int) -> int:
    if value < 1:
        raise refuse(option, value, "a whole number, 1 or more")
    return value


def java_opts(option: str, value: str) -> str:
    """JVM options the recover start keeps beside -Drecover (never -Drecover itself)."""
    if "-Drecover" in value:
        raise refuse(
            option,
            value,
            "the JVM options the service always gets, without -Drecover",
            "the recover option is added by the wizard at the recover start only, from the "
            "password you type; never put it in a file or on a command line",
        )
    try:
        shlex.split(value)
    except ValueError as exc:
        raise refuse(option, value, f"options a shell can split ({exc})") from None
    return value


def base_url(option: str, value: str) -> str:
    """An http(s) URL without credentials, path, query or fragment; no trailing /."""
    parts = urlsplit(value)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or "@" in parts.netloc
        or parts.path.strip("/")
        or parts.query
        or parts.fragment
    ):
        raise refuse(option, value, "http(s)://host[:port] of the ingress, without a path or user")
    return value.rstrip("/")


def compose_file(directory: str, name: str) -> str:
    """The compose file `name` in `directory`, which must be there: every command of the
    profile names it."""
    if "/" in name or name in ("", ".", ".."):
        raise refuse("compose_file", name, "a file name in --compose-dir, such as compose.yaml")
    path = Path(directory) / name
    if not path.is_file():
        raise SyncWizardError(
            f"there is no compose file {path}",
            hint="run `config init --preset compose` in the folder of your compose file, or "
            "give --compose-dir (the folder) and --compose-file (e.g. docker-compose.yml)",
            system="config",
        )
    return str(path)
