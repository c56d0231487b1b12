"""The recover gate says where -Drecover is readable while it is set, and the deployment's
caution (a preset writes both: sync_service.recover_option_visible_in, recover_caution)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Literal

from syncwizard.config import HealthSettings, ServiceSettings
from syncwizard.presets import build
from syncwizard.runbook.model import Gate
from syncwizard.runbook.restore.choices import RestoreChoices
from syncwizard.runbook.restore.service_steps import ServiceSteps
from syncwizard.runbook.restore.state import OfflineContext, RestoreState

QUEUE = "Consumer.8f7b3d2e-30be-4c0a-9c61-6b1f2a9d0e11.alfresco.repo.event2"


class DownSystems:
    """Everything of the Sync Service is down: no health answer, no process, no consumer."""

    async def health_answers(self) -> list[tuple[str, str]]:
        return []

    def service_process(self) -> Literal[False]:
        return False

    async def consumers_on(self, queue: str) -> int:
        return 0


class AnsweringRepository:
    async def require_answering(self) -> None:
        return None


def gate_for(settings: ServiceSettings) -> Gate:
    state = RestoreState(
        profile=SimpleNamespace(  # type: ignore[arg-type]
            sync_service=settings, health=HealthSettings(url="http://localhost:9090/x")
        ),
        set_dir=Path("/backups/set"),
        manifest={"queue": QUEUE},
        run_dir=Path("/state/runs/restore-1"),
        choices=RestoreChoices(recover_user="admin", recover_password="pw"),
        systems=DownSystems(),  # type: ignore[arg-type]
    )
    steps = ServiceSteps(state, AnsweringRepository())  # type: ignore[arg-type]
    gate = asyncio.run(steps.recover_gate(OfflineContext("restore-1")))
    assert gate is not None
    return gate


def test_the_recover_gate_names_where_the_option_is_readable_and_the_caution() -> None:
    preset = build("helm")
    visible = str(preset.key("sync_service", "recover_option_visible_in").value)
    caution = str(preset.key("sync_service", "recover_caution").value)
    gate = gate_for(
        ServiceSettings(
            start_with_recover="start it",
            recover_option_visible_in=visible,
            recover_caution=caution,
        )
    )
    assert ("readable while set", visible) in gate.facts
    assert gate.consequences.endswith(caution)
    assert "liveness probe" in gate.consequences and "kubectl patch -n alfresco" in caution
    assert "pw" not in " ".join(value for _, value in gate.facts)


def test_without_them_the_recover_gate_is_as_before() -> None:
    gate = gate_for(ServiceSettings(start_with_recover="start it"))
    assert [label for label, _ in gate.facts] == ["command", "repository admin", "password"]
    assert gate.consequences.endswith("This can take a while on a large repository.")
