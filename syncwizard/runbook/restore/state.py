"""What every restore step shares: the profile, the chosen set, the run folder, the
admin's choices and the systems; and what earlier steps found out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syncwizard.clients.names import sync_queue_name, topic_of_queue
from syncwizard.config import Profile
from syncwizard.runbook.model import Outputs, StepContext
from syncwizard.runbook.restore.choices import RestoreChoices
from syncwizard.runbook.restore.sets import dump_for
from syncwizard.runbook.restore.step_names import PREFLIGHT
from syncwizard.runbook.restore.systems import RestoreSystems


@dataclass
class RestoreState:
    profile: Profile
    set_dir: Path
    manifest: dict[str, Any]
    run_dir: Path
    choices: RestoreChoices
    systems: RestoreSystems

    @property
    def shared(self) -> bool:
        """The Sync Service keeps its tables in the repository database (compose's layout):
        one restore covers both."""
        return bool(self.manifest.get("shared_database"))

    @property
    def set_sync_id(self) -> str:
        return str(self.manifest.get("sync_id", ""))

    def found(self, ctx: StepContext) -> Outputs:
        """What the preflight found (empty before it ran)."""
        return ctx.results.get(PREFLIGHT, {})

    def sync_id(self, ctx: StepContext) -> str:
        return str(self.found(ctx).get("sync_id") or self.set_sync_id)

    def recovered_queue(self, ctx: StepContext) -> str:
        """The queue the Sync Service consumes once recovered: its GUID is the one in the
        restored Sync DB, the set's. Another installation's set (passed at its gate) brings
        its own GUID, and with it a queue of its own."""
        queue, topic = self.queue(ctx), self.topic(ctx)
        if self.set_sync_id and self.set_sync_id != self.sync_id(ctx) and topic:
            return sync_queue_name(self.set_sync_id, topic)
        return queue

    def queue(self, ctx: StepContext) -> str:
        return str(self.found(ctx).get("queue") or self.manifest.get("queue", ""))

    def topic(self, ctx: StepContext) -> str | None:
        topic = self.found(ctx).get("topic") or self.manifest.get("topic")
        if topic:
            return str(topic)
        try:
            return topic_of_queue(self.queue(ctx))
        except ValueError:
            return None

    def dump(self, role: str) -> dict[str, Any] | None:
        return dump_for(self.manifest, role)

    @property
    def split_sync_dump(self) -> dict[str, Any] | None:
        """A shared database's Sync tables dumped apart, after the wait (sets since the
        order fix); None when the databases are apart or one dump holds both."""
        if not self.shared:
            return None
        sync, repository = self.dump("sync_db"), self.dump("repository_db")
        return sync if sync is not None and sync is not repository else None


class OfflineContext:
    """A StepContext for plans shown before any step ran (`restore --plan`)."""

    rechecking = False

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id  # the id a run started now would get

    @property
    def results(self) -> Mapping[str, Outputs]:
        return {}

    def records_of(self, step_id: str) -> Mapping[str, Mapping[str, Any]]:
        return {}

    def step_times(self) -> Mapping[str, tuple[float, float | None]]:
        return {}

    def progress(self, message: str, detail: object = None) -> None:
        pass

    def log(self, line: str) -> None:
        pass

    def record(self, name: str, data: Mapping[str, Any]) -> None:
        pass
