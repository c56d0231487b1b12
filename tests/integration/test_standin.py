"""The lab's Sync Service stand-in, run for real: HTTPS verified against the lab cert,
its STOMP consumer on the real broker, its Sync DB and the repository DB in PostgreSQL.

Every test leaves the stand-in running, healthy and in sync, as the session's
other tests expect of the lab.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import ssl
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from standin_support import (
    admin_password,
    db,
    drained,
    eventually,
    health,
    healthy,
    jolokia,
    log_text,
    pending,
    plain_env,
    recover_env,
    running_standin,  # noqa: F401  (the fixture every test here uses)
    stored_guid,
    sync_queue,
)

from syncwizard.clients.health import HealthClient
from syncwizard.clients.results import HealthReport
from syncwizard.errors import SyncWizardError
from syncwizard.lab import broker, postgres, process, repository_control, standin
from syncwizard.lab.generator import generate
from syncwizard.lab.layout import HOST, LabLayout
from syncwizard.lab.repository import ME_PATH

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("running_standin")]

CHECKS = {
    "activeMQConnection",
    "databaseConnection",
    "deadlocks",
    "eventsHealthCheck",
    "minimumClientVersion",
    "repositoryConnection",
    "syncServiceIdCheck",
    "versionCheck",
}


# --- health over HTTPS ---------------------------------------------------------------------
async def test_reports_healthy_with_its_guid_over_verified_https(
    lab: LabLayout,
) -> None:
    report = await health(lab)

    assert report.http_status == 200
    assert report.healthy
    assert {check.name for check in report.checks} == CHECKS
    assert report.sync_id == stored_guid(lab)
    assert report.check("versionCheck").message.strip() == "5.0.0 (syncwizard lab stand-in)"  # type: ignore[union-attr]
    consumer = report.check("activeMQConnection")
    assert consumer is not None and sync_queue(lab) in consumer.message


async def test_the_wire_shape_is_dropwizards(lab: LabLayout) -> None:
    context = ssl.create_default_context(cafile=str(lab.cert_file))
    url = f"https://{HOST}:{lab.ports.standin}/alfresco/healthcheck"
    with urllib.request.urlopen(url, context=context, timeout=5) as response:
        raw = response.read().decode()
        assert response.headers["Content-Type"] == "application/json"
    body = json.loads(raw)
    assert list(body) == sorted(CHECKS)
    assert raw.index('"activeMQConnection"') < raw.index('"versionCheck"')
    assert body["versionCheck"]["message"] == "    5.0.0 (syncwizard lab stand-in)"
    assert set(body["deadlocks"]) == {"healthy", "duration", "timestamp"}
    for name in CHECKS - {"deadlocks"}:
        assert set(body[name]) == {"healthy", "message", "duration", "timestamp"}, name
        assert isinstance(body[name]["duration"], int)


async def test_the_guid_persists_across_a_restart(lab: LabLayout) -> None:
    before = (await health(lab)).sync_id
    old_pid = process.running_pid(lab, "standin")

    assert standin.stop(lab)
    assert not standin.is_running(lab)
    with pytest.raises(SyncWizardError):
        await health(lab)
    standin.start(lab, env=plain_env())

    assert process.running_pid(lab, "standin") not in (None, old_pid)
    report = await eventually(lambda: healthy(lab), "healthy after restart")
    assert report.sync_id == before
    with db(lab, "sync") as sync:
        assert sync.execute("SELECT count(*) FROM sync_service_id").fetchone()[0] == 1  # type: ignore[index]


async def test_other_paths_are_not_found(lab: LabLayout) -> None:
    url = f"https://{HOST}:{lab.ports.standin}/alfresco/other"
    async with HealthClient(url, ca_bundle=lab.cert_file) as client:
        with pytest.raises(SyncWizardError, match="404"):
            await client.fetch()


# --- consuming ---------------------------------------------------------------------------------
async def test_stopped_standin_lets_events_pile_up_and_a_restart_consumes_them(
    lab: LabLayout,
) -> None:
    standin.stop(lab)

    assert await generate(lab, rate=100, duration=0.5) == 50
    assert await eventually(lambda: _pending_equals(lab, 50), "50 pending events")
    assert not postgres.node_drift(lab).in_sync

    standin.start(lab, env=plain_env())
    await eventually(lambda: drained(lab), "the backlog being consumed")
    await eventually(lambda: postgres.node_drift(lab).in_sync, "no drift after the backlog")
    async with jolokia(lab) as client:
        stats, _ = await client.read_stats(sync_queue(lab), None)
    assert stats.consumers == 1
    assert stats.in_flight == 0


async def _pending_equals(lab: LabLayout, count: int) -> bool:
    return await pending(lab) == count


# --- recover -----------------------------------------------------------------------------------
def _make_drift(lab: LabLayout) -> tuple[int, int]:
    """Drop 5 synced nodes, add 3 repository nodes and delete 2 without events."""
    with db(lab, "sync") as sync:
        sync.execute(
            "DELETE FROM sync_node WHERE node_uuid IN "
            "(SELECT node_uuid FROM sync_node ORDER BY node_uuid LIMIT 5)"
        )
    with db(lab, "repository") as repo:
        repo.execute(
            "INSERT INTO alf_node (uuid, type_qname, name) "
            "SELECT gen_random_uuid(), '{http://www.alfresco.org/model/content/1.0}content', "
            "'made-while-sync-was-down-' || n FROM generate_series(1, 3) AS n"
        )
        repo.execute(
            "UPDATE alf_node SET deleted = true WHERE id IN (SELECT id FROM alf_node "
            "WHERE NOT deleted AND name LIKE 'document-%' ORDER BY id DESC LIMIT 2)"
        )
    drift = postgres.node_drift(lab)
    return drift.missing, drift.extra


async def _purge(lab: LabLayout) -> None:
    async with jolokia(lab) as client:
        await client.purge(sync_queue(lab))


def _last_recovery(lab: LabLayout) -> tuple[int, object, object, int, int] | None:
    with db(lab, "sync") as sync:
        return sync.execute(
            "SELECT id, started_at, finished_at, added, removed FROM sync_recovery "
            "ORDER BY id DESC LIMIT 1"
        ).fetchone()


async def test_recover_reconciles_the_sync_db_with_the_repository(
    lab: LabLayout,
) -> None:
    password = admin_password(lab)
    standin.stop(lab)
    await _purge(lab)
    missing, extra = _make_drift(lab)
    assert (missing, extra) == (8, 2)
    previous = _last_recovery(lab)

    # As the lab profile's start_with_recover does: the option only in the environment.
    done = subprocess.run(
        [sys.executable, "-m", "syncwizard.lab.standin", "ctl", "start", str(lab.root)],
        env=recover_env(f"-Drecover=admin:{password}"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    recovery = _last_recovery(lab)
    assert recovery is not None and recovery != previous
    _, started_at, finished_at, added, removed = recovery
    assert (added, removed) == (8, 2)
    assert finished_at is not None and finished_at >= started_at  # type: ignore[operator]
    assert postgres.node_drift(lab).in_sync
    report = await eventually(lambda: healthy(lab), "healthy after recover")
    assert report.sync_id == stored_guid(lab)
    pid = process.running_pid(lab, "standin")
    assert pid is not None
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    assert password.encode() not in cmdline
    assert "-Drecover=admin:****" in log_text(lab)
    assert "8 nodes added, 2 removed" in log_text(lab)
    assert password not in log_text(lab)
    assert password not in done.stdout + done.stderr


async def test_recover_through_java_opts_works_too(lab: LabLayout) -> None:
    standin.stop(lab)
    env = plain_env()
    env["JAVA_OPTS"] = f"-Xmx512m -Drecover=admin:{admin_password(lab)} -Dfile.encoding=UTF-8"
    previous = _last_recovery(lab)

    standin.start(lab, env=env)

    recovery = _last_recovery(lab)
    assert recovery is not None and recovery != previous
    assert recovery[3:] == (0, 0)  # nothing to reconcile: it was in sync
    await eventually(lambda: healthy(lab), "healthy after recover")


async def test_health_says_recovering_until_the_reconcile_is_done(
    lab: LabLayout,
) -> None:
    standin.stop(lab)
    env = recover_env(f"-Drecover=admin:{admin_password(lab)}")
    env["SYNCWIZARD_STANDIN_RECOVER_MIN_SECONDS"] = "2"
    errors: list[BaseException] = []

    def start() -> None:
        try:
            standin.start(lab, env=env)
        except BaseException as exc:
            errors.append(exc)

    starter = threading.Thread(target=start)
    starter.start()
    try:

        async def recovering() -> HealthReport | None:
            try:
                report = await health(lab)
            except SyncWizardError:
                return None
            check = report.check("repositoryConnection")
            return report if check and check.message.startswith("recovering") else None

        report = await eventually(recovering, "a health answer saying recovering", interval=0.05)
        assert report.http_status == 500
        assert not report.healthy
        assert report.sync_id == stored_guid(lab)
        assert standin.is_running(lab)
    finally:
        await asyncio.to_thread(starter.join, 30)
    assert not errors
    after = await health(lab)
    assert after.check("repositoryConnection").message.startswith("connected")  # type: ignore[union-attr]


async def test_wrong_recover_password_is_refused_without_showing_it(
    lab: LabLayout,
) -> None:
    wrong = "not-the-" + admin_password(lab)
    standin.stop(lab)
    previous = _last_recovery(lab)

    # The stand-in itself, in the foreground: it refuses and exits non-zero.
    direct = subprocess.run(
        [sys.executable, "-m", "syncwizard.lab.standin", str(lab.root)],
        env=recover_env(f"-Drecover=admin:{wrong}"),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert direct.returncode != 0
    assert "recover refused: wrong repository admin credentials for user admin" in direct.stdout
    assert wrong not in direct.stdout + direct.stderr

    # Through start(): a clear error naming the log, and nothing left running.
    with pytest.raises(SyncWizardError) as caught:
        standin.start(lab, env=recover_env(f"-Drecover=admin:{wrong}"))
    assert "recover refused" in caught.value.message
    assert str(lab.log_file("standin")) in caught.value.hint
    assert wrong not in caught.value.render()
    assert not standin.is_running(lab)
    assert wrong not in log_text(lab)
    assert _last_recovery(lab) == previous


async def test_recover_fails_as_the_real_one_would_while_the_repository_does_not_answer(
    lab: LabLayout,
) -> None:
    standin.stop(lab)
    repository_control.stop(lab)
    previous = _last_recovery(lab)
    try:
        with pytest.raises(SyncWizardError) as caught:
            standin.start(lab, env=recover_env(f"-Drecover=admin:{admin_password(lab)}"))
        assert "recover failed: the repository at http://127.0.0.1:" in caught.value.message
        assert "does not answer" in caught.value.message
        assert not standin.is_running(lab)
        assert _last_recovery(lab) == previous
        assert admin_password(lab) not in log_text(lab)
    finally:
        repository_control.start(lab)


async def test_the_repository_stand_in_answers_like_the_repository_and_checks_its_admin(
    lab: LabLayout,
) -> None:
    repository_control.start(lab)
    base = f"http://127.0.0.1:{lab.ports.repository}"
    ready = urllib.request.urlopen(repository_control.ready_url(lab), timeout=5)
    assert ready.status == 200
    me = urllib.request.Request(f"{base}{ME_PATH}")
    token = base64.b64encode(f"admin:{admin_password(lab)}".encode()).decode()
    me.add_header("Authorization", f"Basic {token}")
    assert urllib.request.urlopen(me, timeout=5).status == 200
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{base}{ME_PATH}", timeout=5)
    assert refused.value.code == 401
    assert (await health(lab)).check("repositoryConnection").healthy  # type: ignore[union-attr]


async def test_a_malformed_recover_option_is_refused_before_starting(
    lab: LabLayout,
) -> None:
    standin.stop(lab)
    with pytest.raises(SyncWizardError, match="malformed") as caught:
        standin.start(lab, env=recover_env("admin:secret-in-the-wrong-shape"))
    assert "secret-in-the-wrong-shape" not in caught.value.render()
    assert "-Drecover=<repository admin>:<password>" in caught.value.hint
    assert not standin.is_running(lab)


async def test_recover_is_not_silently_skipped_when_already_running(
    lab: LabLayout,
) -> None:
    with pytest.raises(SyncWizardError, match="already running"):
        standin.start(lab, env=recover_env(f"-Drecover=admin:{admin_password(lab)}"))
    assert standin.is_running(lab)


async def test_a_taken_port_is_named_instead_of_mistaken_for_the_stand_in(
    lab: LabLayout,
) -> None:
    standin.stop(lab)
    squatter = socket.create_server((HOST, lab.ports.standin))
    try:
        taken = f"port {HOST}:{lab.ports.standin}, which the Sync Service stand-in needs"
        with pytest.raises(SyncWizardError, match=taken) as caught:
            standin.start(lab, env=plain_env())
        assert "ss -ltnp" in caught.value.hint
        assert not standin.is_running(lab)
    finally:
        squatter.close()


# --- failures it reports -----------------------------------------------------------------------
async def test_database_down_makes_the_health_check_fail_with_500(
    lab: LabLayout,
) -> None:
    postgres.stop(lab)
    try:
        report = await health(lab)
        assert report.http_status == 500
        database = report.check("databaseConnection")
        assert database is not None and database.healthy is False
        assert "Sync DB" in database.message
        assert report.check("syncServiceIdCheck").healthy  # type: ignore[union-attr]
    finally:
        postgres.start(lab)
    await eventually(lambda: healthy(lab), "healthy once the database is back")


async def test_broker_down_makes_the_connection_check_fail_and_it_reconnects(
    lab: LabLayout,
) -> None:
    broker.stop(lab)
    try:

        async def consumer_down() -> bool:
            check = (await health(lab)).check("activeMQConnection")
            return check is not None and check.healthy is False

        await eventually(consumer_down, "activeMQConnection unhealthy")
        report = await health(lab)
        assert report.http_status == 500
        assert report.check("databaseConnection").healthy  # type: ignore[union-attr]
    finally:
        broker.start(lab)
    await eventually(lambda: healthy(lab), "healthy once the broker is back", timeout=20)
    assert await generate(lab, rate=50, duration=0.4) == 20
    await eventually(lambda: drained(lab), "events consumed after the reconnect")
    await eventually(lambda: postgres.node_drift(lab).in_sync, "no drift after the reconnect")


async def test_ctl_stop_and_status_drive_it_like_a_service(lab: LabLayout) -> None:

    def ctl(command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "syncwizard.lab.standin", "ctl", command, str(lab.root)],
            env=plain_env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert ctl("stop").returncode == 0
    assert not standin.is_running(lab)
    assert ctl("status").returncode == 1
    started = ctl("start")
    assert started.returncode == 0, started.stderr
    assert ctl("status").returncode == 0
    assert standin.is_running(lab)
