"""What the four presets share: the broker as shipped today, the Sync 5.x topic, and the
recover rule (the option travels in $SYNCWIZARD_RECOVER_OPTION, never in argv)."""

from __future__ import annotations

import shlex

from syncwizard.clients.service import RECOVER_ENV
from syncwizard.config import BrokerSettings
from syncwizard.presets.model import Key

RECOVER = f'"${RECOVER_ENV}"'  # the shell reads it from the wizard's child environment
READY_PATH = "/alfresco/api/-default-/public/alfresco/versions/1/probes/-ready-"
HEALTH_PATH = "/alfresco/healthcheck"
PROXY_HEALTH_PATH = "/syncservice/healthcheck"
JOLOKIA_PATH = "/api/jolokia"
# The Dropwizard class every Sync Service start runs (the stop runs SyncServiceShutdown,
# which this does not match).
SYNC_PROCESS = r"org\.alfresco\.service\.sync\.dropwizard\.SyncService"

RECOVER_RULE = (
    f"The recover option (-Drecover=<user>:<password>) reaches start_with_recover only in "
    f"${RECOVER_ENV}, from the password typed at the recover gate; it is never on a "
    "command line of syncwizard's, and never in this file."
)


def topic() -> Key:
    return Key(
        "topic",
        "alfresco.repo.event2",
        "Sync 5.x consumes Consumer.<guid>.alfresco.repo.event2 from this topic (Sync 3.x to "
        "4.0: VirtualTopic.alfresco.repo.events.nodes); remove the line to have it "
        "discovered.",
    )


def broker_user() -> tuple[Key, Key]:
    return (
        Key("user", "admin", "The broker's admin user (ACTIVEMQ_ADMIN_LOGIN)."),
        Key(
            "password_env",
            "SYNCWIZARD_BROKER_PASSWORD",
            "Its password comes from this environment variable (or password_file).",
        ),
    )


def jolokia(url: str, where: str) -> Key:
    return Key(
        "jolokia_url",
        url,
        "ActiveMQ 5.19.7+ and 6.2.6+ accept Jolokia calls by POST from loopback clients with "
        "the admin role only, and their policy denies purge and the removal of messages and "
        f"queues (browsing stays allowed). {where} The broker's name is discovered (Helm's "
        "is <release>-activemq, not localhost).",
    )


# The connector the STOMP window adds for the restore's clear: loopback only, named so that
# closing it removes exactly this line.
STOMP_CONNECTOR = '<transportConnector name="syncwizard-stomp" uri="stomp://127.0.0.1:61613"/>'
STOMP_URL = "stomp://127.0.0.1:61613"


def stomp_window(activemq_xml: str, restart: str) -> tuple[Key, Key, Key]:
    """broker.stomp / stomp_open / stomp_close for a broker whose activemq.xml is a file of
    this host: the connector added before </transportConnectors> (once), the broker
    restarted; then exactly that line taken out, the broker restarted again."""
    xml = shlex.quote(activemq_xml)
    add = shlex.quote(f"s#</transportConnectors>#{STOMP_CONNECTOR}</transportConnectors>#")
    remove = shlex.quote(f"s#{STOMP_CONNECTOR}##")
    return (
        Key(
            "stomp",
            STOMP_URL,
            "ActiveMQ 5.19.7+ and 6.2.6+ open only OpenWire (STOMP is commented out in "
            "activemq.xml). For the restore's clear, with the Sync Service and the repository "
            "stopped, stomp_open adds a STOMP connector on 127.0.0.1 and restarts the broker, "
            "the clear consumes the queue here, and stomp_close takes exactly that line out "
            "and restarts it again. They edit the broker's file on this host: if it runs "
            "elsewhere, run them there (e.g. through ssh) and reach 61613 by a tunnel.",
        ),
        Key("stomp_open", f"(grep -qF syncwizard-stomp {xml} || sed -i {add} {xml}) && {restart}"),
        Key("stomp_close", f"sed -i {remove} {xml} && {restart}"),
    )


def no_stomp_window(how: str) -> str:
    """The broker section's note where the preset cannot write the STOMP window."""
    return (
        "ActiveMQ 5.19.7+ and 6.2.6+ open only OpenWire (STOMP is commented out in "
        "activemq.xml), so the restore's clear needs broker.stomp_open and "
        "broker.stomp_close: commands that add a STOMP connector and restart the broker, "
        f"and undo it (README, Your deployment). {how}"
    )


def broker_cli(command: str, why: str) -> Key:
    return Key(
        "cli",
        command,
        "The broker's own command line tool (browse over OpenWire, purge over its local "
        "JMX, which the Jolokia policy does not govern): a fallback for your own hands, "
        "which the wizard does not run (it needs the broker password on its command line; "
        f"README, A broker without STOMP). {why}",
        needs_field_of=BrokerSettings,
    )


def broker_tunnel(command: str, why: str, example: str = "") -> Key:
    return Key(
        "tunnel",
        command,
        "A command the wizard starts, watches and stops to reach the loopback-only console "
        f"and Jolokia (run without a shell; never a secret in it). {why}",
        needs_field_of=BrokerSettings,
        example=example,
    )
