"""The practice lab's ActiveMQ broker: Debian's activemq 5.17 plus a Jolokia agent.

The Debian package has no web console, so Jolokia is served by a small Java
agent (source in `lab/jolokia/`) compiled here with `javac` against Debian's
`libjolokia-core-java`. Everything listens on 127.0.0.1 only (but the current
flavour's Jolokia, which refuses clients off loopback itself). Like the real
console, Jolokia needs basic auth (admin/admin) and refuses requests without an
`Origin` or `Referer` header.

Two flavours (`lab up --like`). `classic`: broker `localhost` with OpenWire and
STOMP, Jolokia allowing everything but the JVM's diagnostic MBeans. `current`, as
ActiveMQ 5.19.7+ and 6.2.6+ ship: broker `acs-activemq` (Helm's
`<release>-activemq`), no STOMP for clients, Jolokia POST-only for the admin
role with ActiveMQ's own hardened `jolokia-access.xml` made effective (it denies
purge, removeQueue, ...; see `effective_policy`), enforced by Jolokia's
restrictor, from loopback only. The
lab's own Python stand-ins speak STOMP only, so that broker has one STOMP
connector on `ports.lab_link` standing for their OpenWire links; no profile
names it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path
from xml.sax.saxutils import quoteattr

from syncwizard.clients.names import EVENT2_TOPIC
from syncwizard.errors import SyncWizardError
from syncwizard.lab import process
from syncwizard.lab.layout import CLASSIC, CURRENT, HOST, LabLayout
from syncwizard.paths import private_dir, write_private

PROCESS_NAME = "broker"
BROKER_NAME = "localhost"  # the classic lab's broker
CURRENT_BROKER_NAME = "acs-activemq"  # like Helm's `<release>-activemq`: never `localhost`
LAB_BROKER_USER = "admin"
LAB_BROKER_PASSWORD = "admin"
# The `current` flavour's console user without the admin role, as ActiveMQ's
# jetty-realm.properties ships it (`user: user, user`): Jolokia refuses it with 403.
CONSOLE_USER = "user"
CONSOLE_USER_PASSWORD = "user"
ADMIN_ROLE = "admin"

ACTIVEMQ_HOME = Path("/usr/share/activemq")
ACTIVEMQ_RUN_JAR = ACTIVEMQ_HOME / "bin" / "activemq.jar"
ACTIVEMQ_BROKER_JAR = ACTIVEMQ_HOME / "lib" / "activemq-broker.jar"
JOLOKIA_JARS = (Path("/usr/share/java/jolokia-core.jar"), Path("/usr/share/java/json-simple.jar"))
AGENT_SOURCES = Path(__file__).parent / "jolokia"
# ActiveMQ 5.19.7+/6.2.6+'s conf/jolokia-access.xml, verbatim (see its header).
SHIPPED_POLICY_FILE = "jolokia-access-activemq.xml"
AGENT_FILES = ("JolokiaAgent.java", "MANIFEST.MF")

APT_HINT = "install them with: apt-get install activemq libjolokia-core-java"
START_TIMEOUT = 60.0

# Startup speed over peak throughput: a small heap, serial GC, no DNS lookups.
JVM_OPTIONS = (
    "-Xms64m",
    "-Xmx256m",
    "-XX:+UseSerialGC",
    "-Xss512k",
    "-Djava.awt.headless=true",
    "-Dsun.net.httpserver.nodelay=true",
)


def broker_name(flavour: str) -> str:
    return CURRENT_BROKER_NAME if flavour == CURRENT else BROKER_NAME


def jolokia_url(layout: LabLayout) -> str:
    return f"http://{HOST}:{layout.ports.jolokia}/api/jolokia"


def stomp_url(layout: LabLayout) -> str:
    return f"stomp://{HOST}:{layout.ports.stomp}"


def _conf_dir(layout: LabLayout) -> Path:
    return layout.broker_dir / "conf"


def _agent_jar(layout: LabLayout) -> Path:
    return layout.broker_dir / "agent" / "agent.jar"


def check_installed() -> None:
    """Raise a SyncWizardError naming the apt packages if ActiveMQ or Jolokia is missing."""
    required = (ACTIVEMQ_RUN_JAR, ACTIVEMQ_BROKER_JAR, *JOLOKIA_JARS)
    missing = [str(path) for path in required if not path.is_file()]
    if missing:
        raise SyncWizardError(
            f"The practice broker needs {', '.join(missing)}, which is not installed.",
            hint=APT_HINT,
            system="lab",
        )
    if shutil.which("java") is None or shutil.which("javac") is None:
        raise SyncWizardError(
            "The practice broker needs a JDK (java and javac) on PATH; none was found.",
            hint="install one with: apt-get install default-jdk-headless",
            system="lab",
        )


_EFFECTIVE_NOTE = """<!--
  syncwizard's practice lab (flavour `current`): ActiveMQ's shipped policy above,
  with the two changes that make its <deny> section do what its comments say
  under Jolokia's PolicyRestrictor (1.7.x in ActiveMQ 5.19, 2.x in 6.2):
  1. <command>exec</command> is added. Jolokia reads <deny> only for command types
     listed in <commands>; for the others (exec, as shipped) only <allow>, whose
     org.apache.activemq:* entry allows every operation: as shipped, purge passes.
  2. each denied operation NAME becomes NAME*: Jolokia matches the operation as
     the client names it, so `purge()` or `removeTopic(java.lang.String)` (with
     the signature) would pass a deny of `purge` or `removeTopic`.
  Found with the real restrictor of Debian's libjolokia-core-java 1.7.1 and read in
  Jolokia 2.6.0's MBeanAccessChecker; tests/integration/test_lab_current.py shows it.
-->
"""


def effective_policy(shipped: str) -> str:
    """ActiveMQ's shipped jolokia-access.xml with the two changes (`_EFFECTIVE_NOTE`) that
    make its deny section refuse purge, removeTopic, ... under Jolokia's restrictor."""
    commands = "<command>search</command>"
    if commands not in shipped or "</deny>" not in shipped:
        raise SyncWizardError(
            f"{SHIPPED_POLICY_FILE} is not ActiveMQ's jolokia-access.xml: it has no "
            f"{commands} or no <deny> section.",
            hint=f"restore {AGENT_SOURCES / SHIPPED_POLICY_FILE} from syncwizard's sources",
            system="lab",
        )
    policy = shipped.replace(commands, f"{commands}\n    <command>exec</command>", 1)
    head, _, deny = policy.rpartition("<deny>")  # the section, after every comment naming it
    deny = re.sub(r"<operation>(\w+)</operation>", r"<operation>\1*</operation>", deny)
    return head.replace("<restrict>", _EFFECTIVE_NOTE + "<restrict>", 1) + "<deny>" + deny


def _policy(flavour: str) -> str:
    if flavour == CURRENT:
        return effective_policy((AGENT_SOURCES / SHIPPED_POLICY_FILE).read_text("utf-8"))
    return (AGENT_SOURCES / "jolokia-access.xml").read_text("utf-8")


def _connectors(layout: LabLayout, flavour: str) -> str:
    openwire = f'<transportConnector name="openwire" uri="tcp://{HOST}:{layout.ports.openwire}"/>'
    if flavour == CURRENT:
        # As shipped: STOMP (and AMQP, MQTT, WS) commented out; only OpenWire for clients.
        return f"""{openwire}
      <!-- <transportConnector name="stomp" uri="stomp://0.0.0.0:61613"/>  off, as shipped -->
      <!-- Not in a real broker: the lab's Python stand-ins (Sync Service, repository) speak
           STOMP only, so this loopback connector stands for their OpenWire links. No
           profile names it; the wizard finds no STOMP. -->
      <transportConnector name="lab-link" uri="stomp://{HOST}:{layout.ports.lab_link}"/>"""
    return f"""{openwire}
      <transportConnector name="stomp" uri="stomp://{HOST}:{layout.ports.stomp}"/>"""


def activemq_xml(layout: LabLayout, *, topic: str, password: str, flavour: str = CLASSIC) -> str:
    """The broker configuration: persistent, JMX on, OpenWire (+ STOMP) on 127.0.0.1, auth."""
    data_dir = layout.broker_dir / "data"
    # The broker's default rule is restated because declaring interceptors replaces it.
    virtual_topics = ["VirtualTopic.&gt;"] + ([EVENT2_TOPIC] if topic == EVENT2_TOPIC else [])
    # selectorAware="false": every existing Consumer.*.<topic> queue gets a copy of each event.
    virtual_topic_rules = "\n".join(
        f'          <virtualTopic name="{name}" prefix="Consumer.*." selectorAware="false"/>'
        for name in virtual_topics
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by syncwizard's practice lab; rewritten at every `lab up`. -->
<beans xmlns="http://www.springframework.org/schema/beans"
       xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
       xsi:schemaLocation="http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans.xsd
       http://activemq.apache.org/schema/core http://activemq.apache.org/schema/core/activemq-core.xsd">
  <broker xmlns="http://activemq.apache.org/schema/core"
          brokerName="{broker_name(flavour)}" persistent="true" useJmx="true"
          schedulerSupport="false" dataDirectory={quoteattr(str(data_dir))}>
    <managementContext>
      <managementContext createConnector="false"/>
    </managementContext>
    <persistenceAdapter>
      <kahaDB directory={quoteattr(str(data_dir / "kahadb"))}/>
    </persistenceAdapter>
    <destinationInterceptors>
      <virtualDestinationInterceptor>
        <virtualDestinations>
{virtual_topic_rules}
        </virtualDestinations>
      </virtualDestinationInterceptor>
    </destinationInterceptors>
    <plugins>
      <simpleAuthenticationPlugin anonymousAccessAllowed="false">
        <users>
          <authenticationUser username="{LAB_BROKER_USER}" password={quoteattr(password)}
                              groups="admins,users"/>
        </users>
      </simpleAuthenticationPlugin>
    </plugins>
    <systemUsage>
      <systemUsage>
        <memoryUsage><memoryUsage limit="64 mb"/></memoryUsage>
        <storeUsage><storeUsage limit="2 gb"/></storeUsage>
        <tempUsage><tempUsage limit="512 mb"/></tempUsage>
      </systemUsage>
    </systemUsage>
    <transportConnectors>
      {_connectors(layout, flavour)}
    </transportConnectors>
  </broker>
</beans>
"""


LOG4J_PROPERTIES = """\
# Written by syncwizard's practice lab. The broker's stdout is its lab log file.
log4j.rootLogger=INFO, stdout
log4j.logger.org.springframework=WARN
log4j.logger.org.apache.xbean=WARN
log4j.logger.org.apache.activemq.spring=WARN
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=%d{ISO8601} | %-5p | %m | %c | %t%n
"""


def _sources_digest() -> str:
    digest = hashlib.sha256()
    for name in AGENT_FILES:  # the policy files are copied at each configure, not built in
        digest.update(name.encode())
        digest.update((AGENT_SOURCES / name).read_bytes())
    return digest.hexdigest()


def _compile_agent(layout: LabLayout) -> None:
    """Build agent.jar with javac and jar, unless the sources are unchanged since the last build."""
    agent_dir = private_dir(layout.broker_dir / "agent")
    jar = _agent_jar(layout)
    stamp = agent_dir / "agent.sha256"
    digest = _sources_digest()
    if jar.is_file() and stamp.is_file() and stamp.read_text().strip() == digest:
        return
    classes = agent_dir / "classes"
    shutil.rmtree(classes, ignore_errors=True)
    classpath = os.pathsep.join(str(path) for path in JOLOKIA_JARS)
    source = AGENT_SOURCES / "JolokiaAgent.java"
    commands = (
        ["javac", "--release", "17", "-cp", classpath, "-d", str(classes), str(source)],
        ["jar", "cfm", str(jar), str(AGENT_SOURCES / "MANIFEST.MF"), "-C", str(classes), "."],
    )
    for argv in commands:
        result = subprocess.run(argv, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise SyncWizardError(
                f"Building the lab's Jolokia agent failed ({argv[0]} exited with "
                f"{result.returncode}): {(result.stderr or result.stdout).strip()[:800]}",
                hint="check that JDK 17 and libjolokia-core-java are installed",
                system="lab",
            )
    stamp.write_text(digest + "\n")


def ensure_configured(
    layout: LabLayout,
    *,
    topic: str,
    password: str = LAB_BROKER_PASSWORD,
    flavour: str = CLASSIC,
    policy: str | None = None,
) -> None:
    """Write the broker's configuration and build the Jolokia agent if its source changed.

    `policy`: the text of conf/jolokia-access.xml instead of the flavour's own (tests).
    A running broker keeps its old configuration until it is restarted.
    """
    check_installed()
    private_dir(layout.broker_dir)
    conf = private_dir(_conf_dir(layout))
    private_dir(layout.broker_dir / "data")
    # activemq.xml and the users file hold the password: 0600 like every secret file.
    write_private(
        conf / "activemq.xml",
        activemq_xml(layout, topic=topic, password=password, flavour=flavour),
    )
    users = f"{LAB_BROKER_USER}={password}\n"
    if flavour == CURRENT:
        users += f"{CONSOLE_USER}={CONSOLE_USER_PASSWORD}\n"
        write_private(
            conf / "jolokia-roles.properties",
            f"{LAB_BROKER_USER}={ADMIN_ROLE}\n{CONSOLE_USER}={CONSOLE_USER}\n",
        )
    write_private(conf / "jolokia-users.properties", users)
    write_private(conf / "log4j.properties", LOG4J_PROPERTIES)
    # The agent reads conf/jolokia-access.xml, the name the real broker's policy has.
    write_private(conf / "jolokia-access.xml", policy if policy is not None else _policy(flavour))
    write_private(conf / "lab-topic", topic + "\n")
    write_private(conf / "lab-flavour", flavour + "\n")
    _compile_agent(layout)


def configured_topic(layout: LabLayout) -> str | None:
    """The topic the broker was last configured for, or None if never configured."""
    try:
        return (_conf_dir(layout) / "lab-topic").read_text("utf-8").strip()
    except FileNotFoundError:
        return None


def configured_flavour(layout: LabLayout) -> str:
    """The flavour the broker was last configured as (classic if never, or before flavours)."""
    try:
        return (_conf_dir(layout) / "lab-flavour").read_text("utf-8").strip() or CLASSIC
    except FileNotFoundError:
        return CLASSIC


def parts_stomp_port(layout: LabLayout) -> int:
    """The STOMP port the lab's own stand-ins use: the clients' one in the classic flavour,
    the lab-only link in the current one (whose broker has no STOMP for clients)."""
    return layout.ports.lab_link if configured_flavour(layout) == CURRENT else layout.ports.stomp


def _agent_argument(layout: LabLayout, flavour: str) -> str:
    if flavour == CURRENT:
        # jetty.xml of 5.19.7+/6.2.6+: the API for the admin role, loopback clients only
        # (the container binds every address; InetAccessHandler refuses the others).
        # web.xml: allowErrorDetails=false (no stack traces in answers).
        return f"{layout.ports.jolokia},role={ADMIN_ROLE},any-address,no-error-details"
    return str(layout.ports.jolokia)


def _argv(layout: LabLayout) -> list[str]:
    base = layout.broker_dir
    conf = _conf_dir(layout)
    return [
        "java",
        *JVM_OPTIONS,
        f"-javaagent:{_agent_jar(layout)}={_agent_argument(layout, configured_flavour(layout))}",
        f"-Dactivemq.home={ACTIVEMQ_HOME}",
        f"-Dactivemq.base={base}",
        f"-Dactivemq.conf={conf}",
        f"-Dactivemq.data={base / 'data'}",
        f"-Dlog4j.configuration=file:{conf / 'log4j.properties'}",
        "-jar",
        str(ACTIVEMQ_RUN_JAR),
        "start",
        f"xbean:file:{conf / 'activemq.xml'}",
    ]


def is_running(layout: LabLayout) -> bool:
    return process.running_pid(layout, PROCESS_NAME) is not None


def start(layout: LabLayout) -> None:
    """Start the broker unless it runs already, and wait until Jolokia and STOMP answer."""
    if not is_running(layout):
        if not (_conf_dir(layout) / "activemq.xml").is_file() or not _agent_jar(layout).is_file():
            raise SyncWizardError(
                f"The practice broker under {layout.broker_dir} is not configured yet.",
                hint="run `syncwizard lab up`, which configures it before starting it",
                system="lab",
            )
        ports = layout.ports
        for role, port in (
            ("OpenWire", ports.openwire),
            ("STOMP", parts_stomp_port(layout)),
            ("Jolokia", ports.jolokia),
        ):
            process.check_port_free(port, f"the practice broker ({role})")
        process.spawn(layout, PROCESS_NAME, _argv(layout), cwd=layout.broker_dir)
    _wait_until_ready(layout, timeout=START_TIMEOUT)


def stop(layout: LabLayout) -> bool:
    """Stop the broker we started (SIGTERM, it shuts down cleanly). True if it was running.

    Returns once every thread of the JVM has exited, so its ports are free again.
    """
    pid = process.running_pid(layout, PROCESS_NAME)
    stopped = process.stop(layout, PROCESS_NAME, timeout=30.0)
    if pid is not None:
        _wait_until_gone(pid, timeout=10.0)
    return stopped


def _wait_until_gone(pid: int, *, timeout: float) -> None:
    """Wait until no thread of `pid` runs: a JVM's main thread can be a zombie while
    its other threads still shut down, holding the sockets open."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if (
            fields.get("State", "").strip().startswith("Z")
            and fields.get("Threads", "").strip() == "1"
        ):
            return
        time.sleep(0.02)


def _log_tail(layout: LabLayout, lines: int = 15) -> str:
    try:
        text = layout.log_file(PROCESS_NAME).read_text("utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _failure(layout: LabLayout, what: str) -> SyncWizardError:
    log = layout.log_file(PROCESS_NAME)
    tail = _log_tail(layout)
    return SyncWizardError(
        f"The practice broker {what}. Its log is {log}"
        + (f"; last lines:\n{tail}" if tail else "."),
        hint=f"read {log}; a port clash or a broken data directory under "
        f"{layout.broker_dir / 'data'} are the usual causes",
        system="lab",
    )


def _wait_until_ready(layout: LabLayout, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    jolokia_ready = stomp_ready = False
    while time.monotonic() < deadline:
        if not is_running(layout):
            # Just after exec, /proc/<pid>/cmdline can read empty for a moment: look twice.
            time.sleep(0.2)
            if not is_running(layout):
                raise _failure(layout, "exited while starting")
        jolokia_ready = jolokia_ready or _jolokia_answers(layout)
        # STOMP last: the lab's stand-ins need it (the lab link in the current flavour).
        stomp_ready = jolokia_ready and (stomp_ready or _stomp_accepts(layout))
        if jolokia_ready and stomp_ready:
            return
        time.sleep(0.1)
    stop(layout)
    missing = "Jolokia" if not jolokia_ready else "STOMP"
    raise _failure(layout, f"did not get ready within {timeout:.0f} s ({missing} did not answer)")


def _lab_password(layout: LabLayout) -> str:
    """The password ensure_configured wrote to the agent's users file."""
    users = (_conf_dir(layout) / "jolokia-users.properties").read_text("utf-8")
    for line in users.splitlines():
        user, _, password = line.partition("=")
        if user == LAB_BROKER_USER:
            return password
    return ""


def _auth_header(layout: LabLayout) -> str:
    token = base64.b64encode(f"{LAB_BROKER_USER}:{_lab_password(layout)}".encode()).decode()
    return f"Basic {token}"


def _jolokia_answers(layout: LabLayout) -> bool:
    """True once Jolokia serves the broker MBean (the agent is up before the broker is)."""
    import http.client

    body = json.dumps(
        {
            "type": "read",
            "mbean": "org.apache.activemq:type=Broker,brokerName="
            + broker_name(configured_flavour(layout)),
            "attribute": "BrokerName",
        }
    )
    connection = http.client.HTTPConnection(HOST, layout.ports.jolokia, timeout=2)
    try:
        connection.request(
            "POST",
            "/api/jolokia",
            body=body,
            headers={
                "Authorization": _auth_header(layout),
                "Origin": f"http://{HOST}:{layout.ports.jolokia}",
                "Content-Type": "application/json",
            },
        )
        answer = connection.getresponse().read()
        status: object = json.loads(answer).get("status")
        return status == 200
    except (OSError, ValueError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def _stomp_accepts(layout: LabLayout) -> bool:
    """True once a STOMP 1.2 CONNECT with the lab credentials gets CONNECTED back."""
    frame = (
        f"CONNECT\naccept-version:1.2\nhost:{broker_name(configured_flavour(layout))}\n"
        f"login:{LAB_BROKER_USER}\npasscode:{_lab_password(layout)}\n\n\0"
    )
    try:
        with socket.create_connection((HOST, parts_stomp_port(layout)), timeout=2) as sock:
            sock.sendall(frame.encode())
            reply = b""
            while b"\0" not in reply:
                chunk = sock.recv(4096)
                if not chunk:
                    return False
                reply += chunk
            sock.sendall(b"DISCONNECT\n\n\0")
            return reply.lstrip(b"\n").startswith(b"CONNECTED")
    except OSError:
        return False


def _jolokia(layout: LabLayout, request: dict[str, object]) -> dict[str, object]:
    """One Jolokia request as the lab's admin; its answer (status, value or error)."""
    import http.client

    connection = http.client.HTTPConnection(HOST, layout.ports.jolokia, timeout=10)
    try:
        connection.request(
            "POST",
            "/api/jolokia",
            body=json.dumps(request),
            headers={
                "Authorization": _auth_header(layout),
                "Origin": f"http://{HOST}:{layout.ports.jolokia}",
                "Content-Type": "application/json",
            },
        )
        answer: dict[str, object] = json.loads(connection.getresponse().read())
        return answer
    except (OSError, ValueError, http.client.HTTPException) as exc:
        raise _failure(layout, f"did not answer on Jolokia ({exc})") from exc
    finally:
        connection.close()


def purge_queues(layout: LabLayout) -> dict[str, int] | None:
    """Empty every queue of the lab's broker with Jolokia's purge; {queue: messages it held}.
    None when the broker's policy refuses the purge (the current flavour's hardened one)."""
    brokername = broker_name(configured_flavour(layout))
    found = _jolokia(
        layout,
        {
            "type": "search",
            "mbean": f"org.apache.activemq:type=Broker,brokerName={brokername},"
            "destinationType=Queue,destinationName=*",
        },
    )
    mbeans = found.get("value")
    if found.get("status") != 200 or not isinstance(mbeans, list):
        return None
    purged: dict[str, int] = {}
    for mbean in mbeans:
        name = str(mbean).rsplit("destinationName=", 1)[-1].split(",", 1)[0]
        size = _jolokia(layout, {"type": "read", "mbean": mbean, "attribute": "QueueSize"})
        answer = _jolokia(layout, {"type": "exec", "mbean": mbean, "operation": "purge()"})
        if answer.get("status") != 200:
            return None
        value = size.get("value")
        purged[name] = value if isinstance(value, int) else 0
    return purged


def wipe_data(layout: LabLayout) -> None:
    """Stop the broker and delete its message store (every queue and its messages), then
    start it again: how a broker that refuses the purge is emptied."""
    stop(layout)
    shutil.rmtree(layout.broker_dir / "data", ignore_errors=True)
    start(layout)
