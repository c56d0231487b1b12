"""What the four presets share: the broker as shipped today, the Sync 5.x topic, and the
recover rule (the option travels in $SYNCWIZARD_RECOVER_OPTION, never in argv)."""

from __future__ import annotations

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
        "ActiveMQ 5.19.7+ and 6.2.6+ open only OpenWire: STOMP is commented out in their "
        "activemq.xml, so the `stomp` key is left out. Their Jolokia accepts POST from "
        "loopback clients with the admin role only, and its policy denies purge and the "
        f"removal of messages and queues (browsing stays allowed). {where} The broker's "
        "name is discovered (Helm's is <release>-activemq, not localhost). If you open a "
        'loopback STOMP connector for the restore, add stomp = "stomp://localhost:61613".',
    )


def broker_cli(command: str, why: str) -> Key:
    return Key(
        "cli",
        command,
        "The broker's own command line tool (browse over OpenWire, purge over its local "
        f"JMX, which the Jolokia policy does not govern). {why}",
        needs_field_of=BrokerSettings,
    )


def broker_tunnel(command: str, why: str) -> Key:
    return Key(
        "tunnel",
        command,
        "A command the wizard starts, watches and stops to reach the loopback-only console "
        f"and Jolokia. {why}",
        needs_field_of=BrokerSettings,
    )
