"""`syncwizard status` against the real lab: JSON shape, exit codes, a system down."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from standin_support import plain_env, restore

from syncwizard.lab import standin
from syncwizard.lab.layout import LabLayout

pytestmark = pytest.mark.integration


def status(config: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syncwizard", "status", "--profile", "lab", *extra],
        capture_output=True,
        text=True,
        timeout=60,
        env={**plain_env(), "SYNCWIZARD_CONFIG": str(config)},
    )


async def test_a_healthy_lab_reports_every_system_and_exits_0(
    lab: LabLayout, lab_config: Path, lab_sync_id: str
) -> None:
    await restore(lab)
    result = status(lab_config, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["healthy"] is True and report["errors"] == []
    assert report["sync_id"] == lab_sync_id
    assert report["health"]["syncServiceIdCheck"] == {"healthy": True, "message": lab_sync_id}
    queue = report["queue"]
    assert queue["name"] == f"Consumer.{lab_sync_id}.VirtualTopic.alfresco.repo.events.nodes"
    assert queue["consumers"] >= 1 and queue["pending"] >= 0
    assert set(queue) == {"name", "pending", "enqueued", "dequeued", "in_flight", "consumers"}
    assert report["databases"]["repository_db"]["name"] == "alfresco"
    assert report["databases"]["sync_db"]["name"] == "syncservice"
    assert report["databases"]["sync_db"]["size_bytes"] > 1_000_000
    # The stand-in holds connections to both databases: they are "others" to us.
    assert report["databases"]["sync_db"]["connections"] >= 1


async def test_the_human_form_names_each_check(lab: LabLayout, lab_config: Path) -> None:
    await restore(lab)
    result = status(lab_config)
    assert result.returncode == 0, result.stderr
    assert "syncServiceIdCheck" in result.stdout and "Overall: healthy" in result.stdout


async def test_a_stopped_sync_service_is_an_error_with_a_hint_and_exit_2(
    lab: LabLayout, lab_config: Path
) -> None:
    await restore(lab)
    standin.stop(lab)
    try:
        result = status(lab_config, "--json")
        assert result.returncode == 2
        report = json.loads(result.stdout)
        assert report["healthy"] is False
        (error,) = [e for e in report["errors"] if e["system"] == "health"]
        assert "not answering" in error["message"] and error["hint"]
        # the other systems still answer and are reported
        assert report["databases"]["repository_db"]["name"] == "alfresco"
        assert "Traceback" not in result.stderr
    finally:
        standin.start(lab, env=plain_env())
        await restore(lab)


async def test_a_wrong_broker_password_is_named_and_the_rest_still_reported(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    await restore(lab)
    wrong = tmp_path / "pw"
    wrong.write_text("not-the-password\n")
    wrong.chmod(0o600)
    result = subprocess.run(
        [sys.executable, "-m", "syncwizard", "status", "--json", "--profile", "lab"],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            **plain_env(),
            "SYNCWIZARD_CONFIG": str(lab_config),
            "SYNCWIZARD_BROKER__PASSWORD_FILE": str(wrong),
        },
    )
    assert result.returncode == 2
    report = json.loads(result.stdout)
    (error,) = [e for e in report["errors"] if e["system"] == "broker"]
    assert "401" in error["message"] or "password" in error["message"].lower()
    assert "not-the-password" not in result.stdout + result.stderr
    assert report["health"]["syncServiceIdCheck"]["healthy"] is True
