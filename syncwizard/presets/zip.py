"""The Sync Service installed from Alfresco's distribution zip: syncservice.sh in its
folder, HTTPS on 9090 with the self-signed sync.jks of the zip, JAVA_OPTS taken from the
script's environment. -Drecover is put in that environment for the one start only."""

from __future__ import annotations

import shlex

from syncwizard.presets import common
from syncwizard.presets.model import Key, Preset, Section
from syncwizard.presets.options import PresetOptions, absolute_path, host

INSTALL_DIR = "/opt/alfresco-sync-service"
ACTIVEMQ_HOME = "/opt/activemq"


def recover_command(script: str) -> str:
    """A shell assignment before the command: the shell puts JAVA_OPTS in the script's
    environment without it ever being an argument (`env JAVA_OPTS=...` would make it one
    of env's)."""
    return f"JAVA_OPTS={common.RECOVER} {script} start"


def preset(options: PresetOptions) -> Preset:
    folder = absolute_path("install_dir", options.install_dir or INSTALL_DIR)
    db = host("db_host", options.db_host or "localhost")
    activemq = absolute_path("activemq_home", options.activemq_home or ACTIVEMQ_HOME)
    script = shlex.quote(f"{folder}/syncservice.sh")
    visible = (
        "the service's environment (/proc/<pid>/environ: root and its user) and its java "
        "command line (`ps`, every local user), until the restart without recover"
    )
    return Preset(
        name="zip",
        title=f"the Sync Service installed from the distribution zip in {folder}",
        about="Run syncwizard on the Sync Service's host, as the user that runs "
        "syncservice.sh. The zip's default connector is HTTPS with the self-signed "
        "certificate in sync.jks: the health check pins that certificate (below).",
        todo=(
            "pin the certificate: set health.fingerprint (the command is in the comment "
            "above it), or health.ca_bundle if you replaced sync.jks with a certificate "
            "your CA signed",
            "name your database hosts and databases in repository_db and sync_db, and put "
            "their passwords in ~/.pgpass; the broker's in $SYNCWIZARD_BROKER_PASSWORD",
            "add the repository's stop, start and ready_url if the wizard should stop and start it",
        ),
        sections=(
            Section(
                "health",
                (
                    Key(
                        "url",
                        f"https://localhost:9090{common.HEALTH_PATH}",
                        "The zip's default: HTTPS with the self-signed certificate of "
                        'sync.jks. Pin it: fingerprint = "sha256:..." as printed by\n'
                        "  openssl s_client -connect localhost:9090 </dev/null |\n"
                        "    openssl x509 -noout -fingerprint -sha256\n"
                        "(or ca_bundle = a CA file if your certificate is signed by one). If "
                        "you switched the connector to http, change the URL to http://.",
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
                    common.broker_cli(
                        f"{activemq}/bin/activemq",
                        "Where your ActiveMQ is installed; run it as the broker's user.",
                    ),
                    common.broker_tunnel(
                        "ssh -N -L 8161:localhost:8161 activemq.example.org",
                        "Only when the broker runs on another host: name that host.",
                        example="if the broker runs on another host, with its name",
                    ),
                ),
                why=common.no_stomp_window(
                    "Write them for your broker: `syncwizard config init --preset systemd "
                    "--config /tmp/example.toml` shows a pair that edits "
                    f"{activemq}/conf/activemq.xml and restarts the broker."
                ),
            ),
            Section(
                "repository_db",
                (
                    Key(
                        "conninfo",
                        f"host={db} dbname=alfresco user=alfresco",
                        "Password: ~/.pgpass.",
                    ),
                ),
            ),
            Section(
                "sync_db",
                (
                    Key(
                        "conninfo",
                        f"host={db} dbname=syncservice user=sync",
                        "The database and user you created for Sync (its config.yml, "
                        "sql.db.url and sql.db.username).",
                    ),
                ),
            ),
            Section(
                "sync_service",
                (
                    Key("stop", f"{script} stop"),
                    Key(
                        "start_with_recover",
                        recover_command(script),
                        f"{common.RECOVER_RULE} The shell hands it to syncservice.sh as "
                        "JAVA_OPTS for this start only; nothing is written to a file. While "
                        "the service runs it is readable in its environment and its java "
                        "command line.",
                    ),
                    Key(
                        "start",
                        f"{script} start",
                        "The restart without recover: the same script without JAVA_OPTS, "
                        "so the option is gone from the new process.",
                    ),
                    Key("recover_option_visible_in", visible),
                    Key(
                        "pid_file",
                        f"{folder}/syncservice.pid",
                        "Written by syncservice.sh; finds the process to check -Drecover "
                        "is gone after the restart without it.",
                    ),
                    Key("process_pattern", common.SYNC_PROCESS),
                ),
            ),
        ),
    )
