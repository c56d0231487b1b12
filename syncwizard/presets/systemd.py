"""The Sync Service as Alfresco's Ansible playbook installs it: the systemd unit
alfresco-sync (JAVA_OPTS from the unit's environment), ActiveMQ 6.2 under
/opt/apache-activemq-<version>, the Sync DB `alfresco-sync` beside the repository's.

-Drecover goes into a runtime drop-in (/run/systemd/system/<unit>.service.d/): an
EnvironmentFile of mode 0600 that `systemctl show` does not print (an Environment= line
would be shown to every local user), under /run so a reboot removes it even if the wizard
never gets to the restart without it.
"""

from __future__ import annotations

import shlex

from syncwizard.presets import common
from syncwizard.presets.model import Key, Preset, Section
from syncwizard.presets.options import (
    PresetOptions,
    absolute_path,
    host,
    java_opts,
    unit_name,
)

UNIT = "alfresco-sync"
REPOSITORY_UNIT = "alfresco-content"
JAVA_OPTS = "-Xms512m -Xmx2g"  # the role's sync_environment
ACTIVEMQ_HOME = "/opt/apache-activemq-6.2.7"
ACTIVEMQ_UNIT = "activemq"  # the role's unit for the broker
CONFIG = "/etc/opt/alfresco/sync-service/config.yml"
LOG = "/var/log/alfresco/sync-service.log"
DROPIN_NAME = "syncwizard-recover"
RUNTIME_UNITS = "/run/systemd/system"  # systemd's runtime unit folder: a tmpfs


def dropin_dir(unit: str, runtime: str = RUNTIME_UNITS) -> str:
    return f"{runtime}/{unit}.service.d"


def recover_commands(unit: str, opts: str, runtime: str = RUNTIME_UNITS) -> tuple[str, str]:
    """(start_with_recover, start): the first writes the drop-in and its EnvironmentFile
    (printf is a shell builtin: the option goes from the environment into the file, on no
    command line), reloads and starts; the second removes both, reloads and starts."""
    folder = dropin_dir(unit, runtime)
    env_file, conf = f"{folder}/{DROPIN_NAME}.env", f"{folder}/{DROPIN_NAME}.conf"
    quoted = shlex.quote(unit)
    with_recover = (
        f"umask 077 && mkdir -p {shlex.quote(folder)}"
        f" && printf 'JAVA_OPTS=%s %s\\n' {shlex.quote(opts)} {common.RECOVER}"
        f" > {shlex.quote(env_file)}"
        f" && printf '[Service]\\nEnvironmentFile=%s\\n' {shlex.quote(env_file)}"
        f" > {shlex.quote(conf)}"
        f" && systemctl daemon-reload && systemctl start {quoted}"
    )
    without = (
        f"rm -f {shlex.quote(conf)} {shlex.quote(env_file)}"
        f" && systemctl daemon-reload && systemctl start {quoted}"
    )
    return with_recover, without


def preset(options: PresetOptions) -> Preset:
    unit = unit_name("unit", options.unit or UNIT)
    repository_unit = unit_name("repository_unit", options.repository_unit or REPOSITORY_UNIT)
    opts = java_opts("java_opts", options.java_opts if options.java_opts is not None else JAVA_OPTS)
    db = host("db_host", options.db_host or "localhost")
    activemq = absolute_path("activemq_home", options.activemq_home or ACTIVEMQ_HOME)
    with_recover, start = recover_commands(unit, opts)
    folder = dropin_dir(unit)
    visible = (
        f"{folder}/{DROPIN_NAME}.env (root only, mode 0600; under /run, so gone at a "
        "reboot), the service's environment (/proc/<pid>/environ: root and its user) and "
        "the java command line (`ps`, every local user) until the restart without recover"
    )
    return Preset(
        name="systemd",
        title=f"the Sync Service as the systemd unit {unit} (Alfresco's Ansible playbook)",
        about=f"Run syncwizard as root on the Sync Service's host (systemctl needs it). Sync "
        f"reads {CONFIG} and logs to /var/log/alfresco; it answers plain HTTP on 9090 "
        "(Ansible sets the connector type http), and its admin connector on 9093 is not "
        "used.",
        todo=(
            "put the broker's admin password in $SYNCWIZARD_BROKER_PASSWORD, and the "
            "database passwords in ~/.pgpass (the repository's user alfresco, Sync's "
            "alfresco-sync)",
            f"check db_host ({db}) and that Jolokia is reachable as a loopback client "
            "(the broker on this host, or a tunnel)",
            f"if your unit's JAVA_OPTS are not `{opts}`, rerun with --java-opts (the recover "
            "drop-in replaces the unit's JAVA_OPTS for that one start)",
        ),
        sections=(
            Section(
                "health",
                (
                    Key(
                        "url",
                        f"http://localhost:9090{common.HEALTH_PATH}",
                        "Plain HTTP on the application port, as Ansible configures it "
                        f"(behind its nginx: {common.PROXY_HEALTH_PATH}).",
                    ),
                ),
            ),
            Section(
                "broker",
                (
                    common.jolokia(
                        f"http://localhost:8161{common.JOLOKIA_PATH}",
                        "Run the wizard on the broker's host, or reach it through broker.tunnel.",
                    ),
                    *common.broker_user(),
                    common.topic(),
                    *common.stomp_window(
                        f"{activemq}/conf/activemq.xml", f"systemctl restart {ACTIVEMQ_UNIT}"
                    ),
                    common.broker_cli(
                        f"{activemq}/bin/activemq",
                        "Its JMX attach works as the broker's own user (alfresco): prefix "
                        "`sudo -u alfresco` if the wizard runs as another user, or `ssh "
                        "<broker-host>` if the broker runs elsewhere.",
                    ),
                    common.broker_tunnel(
                        "ssh -N -L 8161:localhost:8161 activemq.example.org",
                        "Only when the broker runs on another host: name that host.",
                        example="if the broker runs on another host, with its name",
                    ),
                ),
            ),
            Section(
                "repository_db",
                (
                    Key(
                        "conninfo",
                        f"host={db} dbname=alfresco user=alfresco",
                        "Password: ~/.pgpass or PGPASSWORD.",
                    ),
                ),
            ),
            Section(
                "sync_db",
                (
                    Key(
                        "conninfo",
                        f"host={db} dbname=alfresco-sync user=alfresco-sync",
                        "Ansible's Sync DB and user, on the repository's server.",
                    ),
                ),
            ),
            Section(
                "repository",
                (
                    Key("stop", f"systemctl stop {shlex.quote(repository_unit)}"),
                    Key("start", f"systemctl start {shlex.quote(repository_unit)}"),
                    Key("ready_url", f"http://localhost:8080{common.READY_PATH}"),
                ),
            ),
            Section(
                "sync_service",
                (
                    Key("stop", f"systemctl stop {shlex.quote(unit)}"),
                    Key(
                        "start_with_recover",
                        with_recover,
                        f"{common.RECOVER_RULE} This command writes it into a runtime "
                        f"drop-in of the unit ({folder}/{DROPIN_NAME}.conf, naming the "
                        f"EnvironmentFile {DROPIN_NAME}.env beside it, mode 0600) with the "
                        "JAVA_OPTS the unit always has, reloads systemd and starts the unit. "
                        "While it is set it is readable in that file, in the service's "
                        "environment and in its java command line. The unit's "
                        "Restart=on-failure would recover again after a crash.",
                    ),
                    Key(
                        "start",
                        start,
                        "The restart without recover (the restore offers it, and requires "
                        "it since start_with_recover stores the option): removes the drop-in "
                        "and its file, reloads systemd, starts the unit. The normal stop and "
                        "start otherwise.",
                    ),
                    Key("recover_option_visible_in", visible),
                    Key(
                        "process_pattern",
                        common.SYNC_PROCESS,
                        "Finds its java process, to check -Drecover is gone after the "
                        "restart without it.",
                    ),
                    Key("log", LOG, "Its lines about the recover are shown after it."),
                ),
            ),
        ),
    )
