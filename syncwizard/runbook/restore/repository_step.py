"""The restore's start of the repository, before the Sync Service's -Drecover start.

`-Drecover=<admin>:<password>` makes the Sync Service reconcile with the repository at
bootstrap, with the repository admin's credentials: the repository must be running, on
its restored database, first. This step starts it (`repository.start`, or the admin by
hand while the wizard waits) and waits until `repository.ready_url` answers 200.
"""

from __future__ import annotations

import asyncio
import time

from syncwizard.clients.repository import READY_PATH
from syncwizard.runbook.backup.snapshot_dump import iso
from syncwizard.runbook.commands import check_command
from syncwizard.runbook.model import Gate, Outputs, RefusedError, StepContext
from syncwizard.runbook.restore.state import RestoreState

LOOK_EVERY = 2.0  # seconds between two looks at the readiness URL


class RepositorySteps:
    def __init__(self, state: RestoreState) -> None:
        self.state = state
        self.systems = state.systems
        self.settings = state.profile.repository

    def plan(self, ctx: StepContext) -> str:
        start = (
            f"run `{self.settings.start}`"
            if self.settings.start
            else "no repository.start command: you start it by hand"
        )
        if self.settings.ready_url:
            wait = (
                f"wait until {self.settings.ready_url} answers 200 (at most "
                f"{self.settings.ready_timeout:.0f} s)"
            )
        else:
            wait = (
                "no repository.ready_url: the wizard cannot see it answer, you confirm it "
                f"(e.g. ...{READY_PATH})"
            )
        return f"{start}, then {wait}"

    async def gate(self, ctx: StepContext) -> tuple[Gate, ...]:
        """The rest of the repository first: its content store and search index must match
        the restored database before it starts. And, when the wizard can neither start the
        repository nor see it answer, that it runs."""
        gates = [self._rest_of_repository_gate()]
        if not (self.settings.start or self.settings.ready_url):
            gates.append(
                Gate(
                    title="Is the repository running on its restored database?",
                    consequences="The -Drecover start that follows needs the repository "
                    "answering. The profile has neither repository.start nor "
                    "repository.ready_url, so the wizard can neither start it nor check it: "
                    "start it by hand first, and wait until it serves requests.",
                    token="running",
                    facts=(("repository", "started by hand"),),
                    undo="Nothing is changed by confirming.",
                    destructive=False,
                )
            )
        return tuple(gates)

    def _rest_of_repository_gate(self) -> Gate:
        manifest = self.state.manifest
        t0 = str((manifest.get("t0") or {}).get("at") or "?")
        store = manifest.get("content_store") or {}
        if store.get("recorded"):
            content = (
                f"the set's own: `{store.get('command')}` ran from {store.get('started_at')} "
                f"to {store.get('finished_at')}; restore that copy"
            )
        else:
            content = f"not recorded in the set: restore a content store backup taken after {t0}"
        return Gate(
            title="Are the content store and the search index restored to match?",
            consequences="The repository's database is now as it was at t0. Its nodes point at "
            "files in the content store: restored without a content store copy taken after "
            "t0, documents open empty or fail. A search index ahead of the database finds "
            "nodes that no longer exist. Restore both before the repository starts.",
            token="restored",
            facts=(
                ("database as of", t0),
                ("content store", content),
                (
                    "search index",
                    f"an index backup taken before {t0}, or a full reindex once the "
                    "repository runs",
                ),
            ),
            undo="Nothing is changed by confirming.",
            destructive=False,
        )

    async def start(self, ctx: StepContext) -> Outputs:
        outputs: Outputs = {"started": False, "by_hand": not self.settings.start}
        answer = await self.systems.repository_ready()
        if answer is not None and answer.ready:
            ctx.log(f"the repository answers already ({self.settings.ready_url}: {answer.detail})")
        elif self.settings.start:
            ctx.progress(f"starting the repository: {self.settings.start}")
            result = await self.systems.repository.start()
            check_command(
                ctx,
                result,
                "the repository start command",
                hint="look at its output in the log pane; start the repository by hand, "
                "then run this step again (it waits for it to answer)",
                system="repository",
            )
            outputs["started"] = True
            ctx.record("started", {"command": result.command, "at": time.time()})
        if not self.settings.ready_url:
            outputs["checked"] = False
            outputs["summary"] = (
                "repository started; not checked (no repository.ready_url)"
                if self.settings.start
                else "you confirmed the repository runs (no repository.ready_url to check it)"
            )
            return outputs
        at = await self._wait_until_ready(ctx)
        outputs.update(
            checked=True,
            ready_at=at,
            ready_at_iso=iso(at),
            summary=f"the repository answers at {self.settings.ready_url} since {iso(at)}",
        )
        return outputs

    async def _wait_until_ready(self, ctx: StepContext) -> float:
        url = self.settings.ready_url
        deadline = time.monotonic() + self.settings.ready_timeout
        waited = time.monotonic()
        while True:
            answer = await self.systems.repository_ready()
            assert answer is not None
            if answer.ready:
                return time.time()
            if time.monotonic() >= deadline:
                raise RefusedError(
                    f"the repository did not answer at {url} within "
                    f"{self.settings.ready_timeout:.0f} s (last: {answer.detail})",
                    hint="look at the repository's log; when it serves requests, run this step "
                    "again. The -Drecover start needs it.",
                    system="repository",
                )
            how = "start it by hand; " if not self.settings.start else ""
            ctx.progress(
                f"{how}waiting for the repository at {url}: {answer.detail} "
                f"({time.monotonic() - waited:.0f} s)"
            )
            await asyncio.sleep(LOOK_EVERY)

    async def require_answering(self) -> None:
        """Refuse the recover start while the repository does not answer (when it can be
        seen): the recover would wait for it in vain, or fail."""
        answer = await self.systems.repository_ready()
        if answer is not None and not answer.ready:
            raise RefusedError(
                f"the repository does not answer at {self.settings.ready_url} "
                f"({answer.detail}): -Drecover reconciles with it at bootstrap",
                hint="start the repository (the step before), then run this step again",
                system="repository",
            )
