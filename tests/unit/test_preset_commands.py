"""The presets' recover commands run for real through /bin/sh, as the wizard runs them
(clients/service.py's ServiceControl), with stand-ins for systemctl, docker, kubectl and
syncservice.sh that record what they get, and every other program they call (mkdir, rm,
grep, awk, xargs) wrapped to record its arguments: the password reaches the deployment
(a file, a stdin, an environment), and no process ever has it in its argv.

systemd, Docker and Kubernetes themselves do not run on this machine: what they do with
what they get is the deployment's documented behaviour, not tested here.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from syncwizard.clients.results import CommandResult
from syncwizard.clients.service import ServiceControl
from syncwizard.presets import build, common, helm, systemd
from syncwizard.presets.options import PresetOptions

USER, PASSWORD = "admin", "s3cr3t-Pw"
OPTION = f"-Drecover={USER}:{PASSWORD}"
# (printf is a builtin of sh: were it not, its wrapper would record the password)
WRAPPED = ("mkdir", "rm", "grep", "awk", "xargs", "sed", "printf", "env")

# A stand-in: records its name, argv, stdin (when a `-` argument asks for it) and whether
# our variable was in its environment, then acts as the named program would for the
# calls the presets make.
STAND_IN = """\
import json, os, sys
name = os.path.basename(sys.argv[0])
args = sys.argv[1:]
entry = {"name": name, "argv": args, "recover_env": os.environ.get("SYNCWIZARD_RECOVER_OPTION")}
if name == "kubectl" and "-e" in args and args[args.index("-e") + 1] == "-":
    entry["stdin"] = sys.stdin.read()
if name == "syncservice.sh":
    entry["java_opts"] = os.environ.get("JAVA_OPTS")
with open(os.environ["STAND_IN_LOG"], "a") as log:
    log.write(json.dumps(entry) + "\\n")
if name == "kubectl" and "get" in args and "rs" in args:
    sys.stdout.write(os.environ.get("STAND_IN_RS", ""))
if name == "docker" and "config" in args:
    # docker compose config: the file interpolated with the caller's environment
    text = open(args[args.index("-f") + 1]).read()
    value = os.environ.get("SYNCWIZARD_RECOVER_OPTION", "")
    print(text.replace("${SYNCWIZARD_RECOVER_OPTION:-}", value))
"""
# A wrapper: records argv, then runs the real program.
WRAPPER = """\
import json, os, sys
with open(os.environ["STAND_IN_LOG"], "a") as log:
    log.write(json.dumps({"name": os.path.basename(sys.argv[0]), "argv": sys.argv[1:]}) + "\\n")
os.execv(REAL, [REAL, *sys.argv[1:]])
"""


@dataclass
class Bench:
    bin: Path
    log: Path

    def add(self, path: Path, source: str) -> None:
        path.write_text(f"#!{sys.executable}\n{source}")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)

    def entries(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def calls(self, name: str) -> list[list[str]]:
        return [e["argv"] for e in self.entries() if e["name"] == name]

    def assert_no_password_in_any_argv(self) -> None:
        entries = self.entries()
        assert entries, "the stand-ins were called"
        for entry in entries:
            assert not any(PASSWORD in arg for arg in entry["argv"]), entry


@pytest.fixture
def bench(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Bench]:
    folder = tmp_path / "bin"
    folder.mkdir()
    found = Bench(folder, tmp_path / "calls.jsonl")
    for name in ("systemctl", "docker", "kubectl"):
        found.add(folder / name, STAND_IN)
    for name in WRAPPED:
        real = shutil.which(name)
        assert real, f"{name} is on this machine"
        found.add(folder / name, f"REAL = {real!r}\n{WRAPPER}")
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("STAND_IN_LOG", str(found.log))
    monkeypatch.delenv("SYNCWIZARD_RECOVER_OPTION", raising=False)
    yield found


def control(start_with_recover: str, start: str, stop: str = "true") -> ServiceControl:
    return ServiceControl(
        "sync_service", stop=stop, start=start, start_with_recover=start_with_recover, timeout=30
    )


def recover(service: ServiceControl) -> CommandResult:
    return asyncio.run(service.start_with_recover(USER, PASSWORD))


def plain(service: ServiceControl) -> CommandResult:
    return asyncio.run(service.start())


def test_systemd_drop_in_holds_the_option_mode_0600_and_the_plain_start_removes_it(
    bench: Bench, tmp_path: Path
) -> None:
    runtime = tmp_path / "run-systemd-system"
    with_recover, start = systemd.recover_commands("alfresco-sync", "-Xms512m -Xmx2g", str(runtime))
    service = control(with_recover, start)
    result = recover(service)
    assert result.ok, result.output
    folder = runtime / "alfresco-sync.service.d"
    env_file, conf = folder / "syncwizard-recover.env", folder / "syncwizard-recover.conf"
    assert env_file.read_text() == f"JAVA_OPTS=-Xms512m -Xmx2g {OPTION}\n"
    assert conf.read_text() == f"[Service]\nEnvironmentFile={env_file}\n"
    assert env_file.stat().st_mode & 0o777 == 0o600 and conf.stat().st_mode & 0o777 == 0o600
    assert bench.calls("systemctl") == [["daemon-reload"], ["start", "alfresco-sync"]]
    assert bench.calls("mkdir") == [["-p", str(folder)]]
    result = plain(service)
    assert result.ok, result.output
    assert not env_file.exists() and not conf.exists()
    assert bench.calls("systemctl")[2:] == [["daemon-reload"], ["start", "alfresco-sync"]]
    bench.assert_no_password_in_any_argv()


def test_zip_hands_the_option_to_syncservice_sh_in_its_environment_only(
    bench: Bench, tmp_path: Path
) -> None:
    folder = tmp_path / "sync service"
    folder.mkdir()
    bench.add(folder / "syncservice.sh", STAND_IN)
    preset = build("zip", PresetOptions(install_dir=str(folder)))
    key = preset.key
    service = control(
        str(key("sync_service", "start_with_recover").value),
        str(key("sync_service", "start").value),
    )
    assert recover(service).ok
    assert plain(service).ok
    runs = [e for e in bench.entries() if e["name"] == "syncservice.sh"]
    assert [(e["argv"], e["java_opts"]) for e in runs] == [(["start"], OPTION), (["start"], None)]
    bench.assert_no_password_in_any_argv()


def write_compose(folder: Path, *, with_variable: bool) -> Path:
    extra = " ${SYNCWIZARD_RECOVER_OPTION:-}" if with_variable else ""
    path = folder / "compose.yaml"
    path.write_text(
        "services:\n  sync-service:\n    environment:\n"
        f"      JAVA_OPTS: >-\n        -Dsql.db.url=jdbc:postgresql://postgres:5432/alfresco{extra}\n"
    )
    return path


def compose_control(folder: Path) -> ServiceControl:
    preset = build("compose", PresetOptions(compose_dir=str(folder)))
    key = preset.key
    return control(
        str(key("sync_service", "start_with_recover").value),
        str(key("sync_service", "start").value),
    )


def test_compose_recreates_with_the_variable_then_without_it(bench: Bench, tmp_path: Path) -> None:
    path = write_compose(tmp_path, with_variable=True)
    service = compose_control(tmp_path)
    assert recover(service).ok
    assert plain(service).ok
    docker = [e for e in bench.entries() if e["name"] == "docker"]
    recreate = [
        "compose",
        "-f",
        str(path),
        "up",
        "-d",
        "--no-deps",
        "--force-recreate",
        "sync-service",
    ]
    assert [(e["argv"], e["recover_env"]) for e in docker] == [
        (["compose", "-f", str(path), "config", "sync-service"], OPTION),
        (recreate, OPTION),  # docker compose interpolates it into JAVA_OPTS
        (recreate, None),  # the recreate without it
    ]
    bench.assert_no_password_in_any_argv()


def test_compose_refuses_the_recover_start_when_the_file_lacks_the_variable(
    bench: Bench, tmp_path: Path
) -> None:
    write_compose(tmp_path, with_variable=False)
    result = recover(compose_control(tmp_path))
    assert result.exit_code == 1
    assert "-Drecover does not reach the environment of sync-service" in result.output
    assert "${SYNCWIZARD_RECOVER_OPTION:-}" in result.output
    assert [argv[3] for argv in bench.calls("docker")] == ["config"], "nothing was recreated"
    bench.assert_no_password_in_any_argv()


def test_helm_sets_the_option_from_stdin_and_the_plain_start_deletes_its_replicaset(
    bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    deploy = "acs-alfresco-sync-service"
    service = control(
        helm.recover_start("alfresco", deploy), helm.plain_start("alfresco", deploy, 2)
    )
    assert recover(service).ok
    [set_env, scale] = [e for e in bench.entries() if e["name"] == "kubectl"]
    assert set_env["argv"] == ["set", "env", "-n", "alfresco", f"deploy/{deploy}", "-e", "-"]
    assert set_env["stdin"] == f"JAVA_OPTS=$(JAVA_OPTS) {OPTION}\n"
    assert scale["argv"] == ["scale", "-n", "alfresco", f"deploy/{deploy}", "--replicas=1"]
    # What `kubectl get rs -o jsonpath=...` prints: the recover ReplicaSet, the one before
    # it, and another application's that happens to carry the option.
    monkeypatch.setenv(
        "STAND_IN_RS",
        f"{deploy}-7f9c $(JAVA_OPTS) {OPTION}\n{deploy}-5d2a \nother-app-1b2c {OPTION}\n",
    )
    assert plain(service).ok
    after = bench.calls("kubectl")[2:]
    assert after[0] == ["set", "env", "-n", "alfresco", f"deploy/{deploy}", "JAVA_OPTS-"]
    assert after[1] == ["scale", "-n", "alfresco", f"deploy/{deploy}", "--replicas=2"]
    assert after[2][:4] == ["get", "rs", "-n", "alfresco"]
    assert after[3:] == [["delete", "rs", "-n", "alfresco", f"{deploy}-7f9c"]]
    assert bench.calls("awk") and bench.calls("xargs"), "the pipeline ran through them"
    bench.assert_no_password_in_any_argv()


# activemq.xml as ActiveMQ 6.2 ships it, cut to what the STOMP window touches: only
# OpenWire open, the other connectors commented out.
STOCK_ACTIVEMQ_XML = """\
<beans xmlns="http://www.springframework.org/schema/beans">
  <broker xmlns="http://activemq.apache.org/schema/core" brokerName="localhost">
    <transportConnectors>
      <!-- DOS protection, limit concurrent connections to 1000 and frame size to 100MB -->
      <transportConnector name="openwire" uri="tcp://0.0.0.0:61616?maximumConnections=1000&amp;wireFormat.maxFrameSize=104857600"/>
      <!--
      <transportConnector name="stomp" uri="stomp://0.0.0.0:61613?maximumConnections=1000&amp;wireFormat.maxFrameSize=104857600"/>
      -->
    </transportConnectors>
  </broker>
</beans>
"""


def connectors(xml: Path) -> list[dict[str, str]]:
    from xml.etree import ElementTree

    core = "{http://activemq.apache.org/schema/core}"
    root = ElementTree.parse(xml).getroot()
    return [dict(c.attrib) for c in root.iter(f"{core}transportConnector")]


def test_the_stomp_window_adds_one_loopback_connector_and_removes_exactly_it(
    bench: Bench, tmp_path: Path
) -> None:
    xml = tmp_path / "conf" / "activemq.xml"
    xml.parent.mkdir()
    xml.write_text(STOCK_ACTIVEMQ_XML)
    _, stomp_open, stomp_close = common.stomp_window(str(xml), "systemctl restart activemq")
    window = ServiceControl(
        "broker", stop=str(stomp_close.value), start=str(stomp_open.value), timeout=30
    )
    for _ in range(2):  # a second open (a retried step) adds nothing
        result = plain(window)
        assert result.ok, result.output
    opened = [c for c in connectors(xml) if c["name"] == "syncwizard-stomp"]
    assert opened == [{"name": "syncwizard-stomp", "uri": "stomp://127.0.0.1:61613"}]
    assert len(connectors(xml)) == 2
    result = asyncio.run(window.stop())
    assert result.ok, result.output
    assert xml.read_text() == STOCK_ACTIVEMQ_XML  # byte for byte as shipped
    assert bench.calls("systemctl") == [["restart", "activemq"]] * 3
