"""The practice lab's ActiveMQ broker: Debian's activemq 5.17 plus a Jolokia agent.

The Debian package has no web console, so Jolokia is served by a small Java
agent (source in `lab/jolokia/`) compiled here with `javac` against Debian's
`libjolokia-core-java`. Everything listens on 127.0.0.1 only. Like the real
console, Jolokia needs basic auth (admin/admin) and refuses requests without an
`Origin` or `Referer` header.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from xml.sax.saxutils import quoteattr

from syncwizard.clients.names import EVENT2_TOPIC
from syncwizard.errors import SyncWizardError
from syncwizard.lab import process
from syncwizard.lab.layout import HOST, LabLayout
from syncwizard.paths import private_dir, write_private

PROCESS_NAME = "broker"
BROKER_NAME = "localhost"
LAB_BROKER_USER = "admin"
LAB_BROKER_PASSWORD = "admin"

ACTIVEMQ_HOME = Path("/usr/share/activemq")
ACTIVEMQ_RUN_JAR = ACTIVEMQ_HOME / "bin" / "activemq.jar"
ACTIVEMQ_BROKER_JAR = ACTIVEMQ_HOME / "lib" / "activemq-broker.jar"
JOLOKIA_JARS = (Path("/usr/share/java/jolokia-core.jar"), Path("/usr/share/java/json-simple.jar"))
AGENT_SOURCES = Path(__file__).parent / "jolokia"
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


def activemq_xml(layout: LabLayout, *, topic: str, password: str) -> str:
    """The broker configuration: persistent, JMX on, STOMP + OpenWire on 127.0.0.1, auth."""
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
          brokerName="{BROKER_NAME}" persistent="true" useJmx="true"
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
      <transportConnector name="openwire" uri="tcp://{HOST}:{layout.ports.openwire}"/>
      <transportConnector name="stomp" uri="stomp://{HOST}:{layout.ports.stomp}"/>
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
    for name in AGENT_FILES:
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
    layout: LabLayout, *, topic: str, password: str = LAB_BROKER_PASSWORD
) -> None:
    """Write the broker's configuration and build the Jolokia agent if its source changed.

    A running broker keeps its old configuration until it is restarted.
    """
    check_installed()
    private_dir(layout.broker_dir)
    conf = private_dir(_conf_dir(layout))
    private_dir(layout.broker_dir / "data")
    # activemq.xml and the users file hold the password: 0600 like every secret file.
    write_private(conf / "activemq.xml", activemq_xml(layout, topic=topic, password=password))
    write_private(conf / "jolokia-users.properties", f"{LAB_BROKER_USER}={password}\n")
    write_private(conf / "log4j.properties", LOG4J_PROPERTIES)
    write_private(
        conf / "jolokia-access.xml", (AGENT_SOURCES / "jolokia-access.xml").read_text("utf-8")
    )
    write_private(conf / "lab-topic", topic + "\n")
    _compile_agent(layout)


def configured_topic(layout: LabLayout) -> str | None:
    """The topic the broker was last configured for, or None if never configured."""
    try:
        return (_conf_dir(layout) / "lab-topic").read_text("utf-8").strip()
    except FileNotFoundError:
        return None


def _argv(layout: LabLayout) -> list[str]:
    base = layout.broker_dir
    conf = _conf_dir(layout)
    return [
        "java",
        *JVM_OPTIONS,
        f"-javaagent:{_agent_jar(layout)}={layout.ports.jolokia}",
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
            ("STOMP", ports.stomp),
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
    return users.strip().partition("=")[2]


def _auth_header(layout: LabLayout) -> str:
    token = base64.b64encode(f"{LAB_BROKER_USER}:{_lab_password(layout)}".encode()).decode()
    return f"Basic {token}"


def _jolokia_answers(layout: LabLayout) -> bool:
    """True once Jolokia serves the broker MBean (the agent is up before the broker is)."""
    import http.client

    body = json.dumps(
        {
            "type": "read",
            "mbean": f"org.apache.activemq:type=Broker,brokerName={BROKER_NAME}",
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
        f"CONNECT\naccept-version:1.2\nhost:{BROKER_NAME}\n"
        f"login:{LAB_BROKER_USER}\npasscode:{_lab_password(layout)}\n\n\0"
    )
    try:
        with socket.create_connection((HOST, layout.ports.stomp), timeout=2) as sock:
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
