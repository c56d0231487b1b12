"""Writing the config file: a commented template, and one profile replaced in place.

Writes go through tomlkit so the admin's comments and layout survive, and
through a temp file + rename so a crash never leaves half a config.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from syncwizard.config import decode_config
from syncwizard.errors import SyncWizardError
from syncwizard.paths import write_private

TEMPLATE = """\
# syncwizard configuration: one [profiles.<name>.*] block per environment.
# Choose a profile with --profile NAME or SYNCWIZARD_PROFILE; override one key
# from the environment with SYNCWIZARD_<SECTION>__<KEY> (e.g. SYNCWIZARD_HEALTH__URL).
# Passwords never go in this file: see password_env / password_file and ~/.pgpass.
default_profile = "prod"

[ui]
poll_interval = 1.0        # seconds between two polls of the dashboard
high_contrast = false
# [ui.keymap]              # rebind a key by its binding id (F1 lists them)
# copy_sync_id = "y"

[profiles.prod.health]
url = "https://sync.example.org:9090/alfresco/healthcheck"
ca_bundle = "/etc/ssl/sync-ca.pem"      # or: fingerprint = "sha256:AB:CD:..."
other_nodes = []                         # health URLs of further cluster nodes, if any

[profiles.prod.broker]
jolokia_url = "http://mq.example.org:8161/api/jolokia"
user = "admin"
password_env = "SYNCWIZARD_BROKER_PASSWORD"   # or password_file = "/path/mode-0600-file"
stomp = "stomp://mq.example.org:61613"        # stomp+ssl:// too
# broker_name and topic are discovered when left out

[profiles.prod.repository_db]
conninfo = "host=db.example.org dbname=alfresco user=alfresco"  # password: PGPASSWORD, .pgpass
# Oracle or SQL Server: backed up with the vendor's tools (`backup --external-repository-backup
# <its snapshot time>`), never connected to, so named without a password:
# conninfo = "oracle://db.example.org:1521/ALFRESCO"   # or sqlserver://db.example.org:1433/alfresco

[profiles.prod.sync_db]
conninfo = "host=db.example.org dbname=syncservice user=sync"
# MySQL or MariaDB instead: the URL's scheme chooses the engine,
# the password never goes in it (nor on any command line):
# conninfo = "mysql://sync@db.example.org:3306/syncservice"   # or mariadb://...; ?socket=/path
# password_env = "SYNC_DB_PASSWORD"        # an environment variable's name, or:
# password_file = "/path/mode-0600-file"   # the password on its first line

[profiles.prod.repository]               # optional: lets restore stop and start it
stop = "systemctl stop alfresco"
start = "systemctl start alfresco"

[profiles.prod.sync_service]
stop = "systemctl stop alfresco-sync"
start = "systemctl start alfresco-sync"
# the recover option arrives in $SYNCWIZARD_RECOVER_OPTION, never on our command line
# (a shell assignment, not `env JAVA_OPTS=...`: env would get the option as an argument)
start_with_recover = "JAVA_OPTS=\\"$SYNCWIZARD_RECOVER_OPTION\\" /opt/sync/syncservice.sh start"
# where its process is found, to check -Drecover is gone after the plain restart:
# pid_file = "/opt/alfresco-sync-service/syncservice.pid"   # or: process_pattern = "SyncService"

[profiles.prod.backup]
dir = "/var/backups/alfresco-sync"
"""


def init_config(path: Path, text: str = TEMPLATE) -> None:
    """Write the commented template (or a preset's profile, `text`) to `path`; never
    overwrite an existing file, not even one created while this one was being written
    (the new file is linked into place, which fails where a name exists)."""
    exists = SyncWizardError(
        f"a config file already exists at {path}; it was left as it is",
        hint="edit it, or give another path with --config",
        system="config",
    )
    if path.exists():
        raise exists
    path.parent.mkdir(parents=True, exist_ok=True)
    new = path.with_name(f".{path.name}.new")
    write_private(new, text)
    try:
        os.link(new, path)
    except FileExistsError:
        raise exists from None
    finally:
        new.unlink(missing_ok=True)


def write_profile(
    path: Path,
    name: str,
    sections: Mapping[str, Mapping[str, Any]],
    *,
    comment: str = "",
    make_default_if_new: bool = True,
) -> None:
    """Replace (or add) `[profiles.<name>]` in the file at `path`, keeping everything else."""
    import tomlkit

    created = not path.exists()
    if created:
        document = tomlkit.document()
        document.add(tomlkit.comment("syncwizard configuration (see `syncwizard config init`)"))
        if make_default_if_new:
            document["default_profile"] = name
    else:
        try:
            document = tomlkit.parse(decode_config(path.read_bytes(), path))
        except tomlkit.exceptions.ParseError as exc:
            raise SyncWizardError(
                f"cannot add the {name!r} profile: {path} is not valid TOML ({exc})",
                hint="fix the file first; it was left as it is",
                system="config",
            ) from None
    profiles = document.get("profiles")
    if profiles is None:
        profiles = tomlkit.table(is_super_table=True)
        document["profiles"] = profiles
    profile = tomlkit.table(is_super_table=True)
    if comment:
        profile.comment(comment)
    for section, values in sections.items():
        table = tomlkit.table()
        for key, value in values.items():
            table[key] = value
        profile[section] = table
    profiles[name] = profile
    path.parent.mkdir(parents=True, exist_ok=True)
    write_private(path, tomlkit.dumps(document))
