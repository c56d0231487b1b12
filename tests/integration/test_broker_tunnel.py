"""`broker.tunnel` against the real lab: a TCP forwarder (tunnel_forwarder.py) stands for
`kubectl port-forward` / `ssh -L` in front of the lab's Jolokia, the profile's jolokia_url
pointing at the forwarder's port only. The wizard starts it, works through it, starts it
again once when it dies, names it (with its last stderr lines) when it dies twice, and
leaves no process of it behind."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from standin_support import plain_env, restore, sync_queue
from test_backup_support import lab_profile

from syncwizard.clients.tunnel import Tunnel, TunnelledJolokia
from syncwizard.config import Profile, broker_password
from syncwizard.errors import SyncWizardError
from syncwizard.lab.layout import HOST, LabLayout
from syncwizard.runbook.backup.options import BackupOptions
from syncwizard.runbook.backup.runbook import start_backup
from syncwizard.runbook.backup.systems import BackupSystems
from syncwizard.runbook.model import StepState

pytestmark = pytest.mark.integration

FORWARDER = Path(__file__).with_name("tunnel_forwarder.py")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def tunnel_environ(lab: LabLayout, port: int) -> dict[str, str]:
    command = f"{sys.executable} {FORWARDER} {port} {HOST} {lab.ports.jolokia} --child"
    return {
        "SYNCWIZARD_BROKER__JOLOKIA_URL": f"http://{HOST}:{port}/api/jolokia",
        "SYNCWIZARD_BROKER__TUNNEL": command,
        "SYNCWIZARD_BROKER__TUNNEL_TIMEOUT": "20",
    }


def processes_of(port: int) -> list[int]:
    """Pids of the tunnel on `port` and its helper (their command lines name the port)."""
    marks = (f"{FORWARDER} {port} ", f"tunnel-helper-{port}")
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if any(mark in cmdline + " " for mark in marks):
            found.append(int(entry.name))
    return found


async def gone(port: int, timeout: float = 10.0) -> list[int]:
    """The tunnel's processes still there after `timeout` s (none, hopefully)."""
    deadline = time.monotonic() + timeout
    while (left := processes_of(port)) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    return left


def tunnelled(lab: LabLayout, lab_config: Path, tmp_path: Path, port: int) -> Profile:
    return lab_profile(lab_config, tmp_path / "backups", **tunnel_environ(lab, port))


async def test_status_reads_the_queue_through_the_tunnel_and_leaves_no_process(
    lab: LabLayout, lab_config: Path
) -> None:
    await restore(lab)
    port = free_port()
    result = subprocess.run(
        [sys.executable, "-m", "syncwizard", "status", "--json", "--profile", "lab"],
        capture_output=True,
        text=True,
        timeout=90,
        env={**plain_env(), "SYNCWIZARD_CONFIG": str(lab_config), **tunnel_environ(lab, port)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["errors"] == [] and report["queue"]["name"] == sync_queue(lab)
    assert await gone(port) == [], "the tunnel and its helper end with the wizard"


async def test_the_backup_preflight_works_through_the_tunnel_which_stops_with_the_run(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    await restore(lab)
    port = free_port()
    profile = tunnelled(lab, lab_config, tmp_path, port)
    engine = start_backup(
        profile,
        BackupOptions.from_settings(profile.backup),
        broker_password=broker_password(profile.broker),
    )
    try:
        assert await engine.run_step("preflight") == StepState.DONE, engine.errors.get("preflight")
        assert engine.results["preflight"]["queue"] == sync_queue(lab)
        assert processes_of(port), "the tunnel runs while the run is open"
    finally:
        await engine.aclose()
    assert await gone(port) == []


async def test_a_tunnel_that_dies_is_started_again_once_and_a_second_death_is_named(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    await restore(lab)
    port = free_port()
    profile = tunnelled(lab, lab_config, tmp_path, port)
    systems = BackupSystems(profile, broker_password(profile.broker))
    queue = sync_queue(lab)
    try:
        assert await systems.queue_stats(queue) is not None
        client = systems.jolokia
        assert isinstance(client, TunnelledJolokia) and client.tunnel is not None
        tunnel = client.tunnel
        first = tunnel.pid
        assert first is not None

        os.kill(first, signal.SIGKILL)  # the pod restarted, the ssh connection dropped
        await until_dead(tunnel)
        assert await systems.queue_stats(queue) is not None, "started again, and used"
        assert tunnel.deaths == 1 and tunnel.pid not in (None, first)

        second = tunnel.pid
        assert second is not None
        os.kill(second, signal.SIGKILL)
        await until_dead(tunnel)
        with pytest.raises(SyncWizardError) as caught:
            await systems.queue_stats(queue)
        error = caught.value
        assert str(FORWARDER) in error.message and "killed by signal 9" in error.message
        assert "again after its restart" in error.message
        assert f"Forwarding from 127.0.0.1:{port}" in error.message, "its last stderr lines"
        assert error.system == "broker" and error.hint
        with pytest.raises(SyncWizardError, match="again after its restart"):
            await systems.queue_stats(queue)  # no third start
    finally:
        await systems.aclose()
    assert await gone(port) == [], "no tunnel, no helper left, even the first one's"


async def until_dead(tunnel: Tunnel, timeout: float = 10.0) -> None:
    """Until the wizard's event loop has seen the tunnel process end."""
    deadline = time.monotonic() + timeout
    while not tunnel.died_under_use():
        assert time.monotonic() < deadline, "the killed tunnel was not seen ending"
        await asyncio.sleep(0.05)


async def test_a_tunnel_whose_port_never_opens_is_named_within_its_timeout(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    port, elsewhere = free_port(), free_port()
    environ = tunnel_environ(lab, port)
    # It listens on another port than jolokia_url's: a typo in the port-forward.
    environ["SYNCWIZARD_BROKER__TUNNEL"] = (
        f"{sys.executable} {FORWARDER} {elsewhere} {HOST} {lab.ports.jolokia}"
    )
    environ["SYNCWIZARD_BROKER__TUNNEL_TIMEOUT"] = "2"
    profile = lab_profile(lab_config, tmp_path / "backups", **environ)
    systems = BackupSystems(profile, broker_password(profile.broker))
    try:
        with pytest.raises(SyncWizardError) as caught:
            await systems.queue_stats(sync_queue(lab))
    finally:
        await systems.aclose()
    assert f"{HOST}:{port} did not accept connections within 2 s" in caught.value.message
    assert f"must be {port}" in (caught.value.hint or "")
    assert await gone(elsewhere) == []


# A stand-in for the wizard: opens the tunnel as the wizard does, says so, waits to be killed.
TUNNEL_USER = """
import asyncio, sys
from syncwizard.clients.tunnel import Tunnel

async def main() -> None:
    tunnel = Tunnel(sys.argv[1], ("127.0.0.1", int(sys.argv[2])), timeout=20)
    await tunnel.ready()
    print(tunnel.pid, flush=True)
    await asyncio.sleep(300)

asyncio.run(main())
"""


async def test_a_wizard_killed_with_signal_9_leaves_no_tunnel_holding_its_port() -> None:
    port = free_port()
    command = f"{sys.executable} {FORWARDER} {port} {HOST} 9"
    wizard = subprocess.Popen(
        [sys.executable, "-c", TUNNEL_USER, command, str(port)], stdout=subprocess.PIPE, text=True
    )
    assert wizard.stdout is not None
    tunnel = int(wizard.stdout.readline())
    try:
        assert tunnel in processes_of(port)  # (the stand-in too: its argv names the port)
        wizard.send_signal(signal.SIGKILL)
        wizard.wait(timeout=10)
        assert await gone(port, timeout=20) == [], "the tunnel outlived the killed wizard"
        with socket.socket() as again:  # no listener left: the next run's tunnel can listen
            again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do (TIME_WAIT)
            again.bind(("127.0.0.1", port))
            again.listen()
    finally:
        for pid in processes_of(port):
            os.kill(pid, signal.SIGKILL)
