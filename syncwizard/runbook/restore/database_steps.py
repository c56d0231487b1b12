"""Restore steps around the databases: each dump into a scratch database, verified, then
swapped into place behind its gate (restore/database.py does the work).

Where the Sync Service shares the repository database, one restore covers both and the
Sync DB's two steps are skipped, saying why.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from syncwizard import systems, units
from syncwizard.runbook.model import Gate, Outputs, SkipStep, StepContext
from syncwizard.runbook.restore import database, mysql_database
from syncwizard.runbook.restore.mysql_database import MySQLPlan
from syncwizard.runbook.restore.state import RestoreState
from syncwizard.runbook.restore.step_names import (
    LABELS,
    RESTORE_STEP_OF,
    ROLE_OF,
    STOP,
    SWAP_STEP_OF,
)

SHARED_NOTE = (
    "the Sync Service keeps its tables in the repository database: the one restore of that "
    "database covered both"
)
# A shared database's set made of two dumps: the repository's tables at t0, the Sync
# Service's after the wait. Both go into the one scratch database, the Sync tables second.
SPLIT_NOTE = (
    "the Sync Service keeps its tables in the repository database: they were restored into "
    "its scratch copy after the repository's tables, from the Sync DB dump taken after the "
    "wait, and put in place with it"
)


class DatabaseSteps:
    def __init__(self, state: RestoreState) -> None:
        self.state = state

    @property
    def roles(self) -> tuple[str, ...]:
        return ("repository_db",) if self.state.shared else ("repository_db", "sync_db")

    def _external(self, role: str) -> bool:
        return role == "repository_db" and self.state.dump(role) is None

    def plan_for(self, ctx: StepContext, role: str) -> database.RestorePlan | MySQLPlan:
        settings = getattr(self.state.profile, role)
        dump = self.state.dump(role) or {}
        room = self.state.found(ctx).get("room", {}).get(role, {})
        mode: database.Mode = "drop_first" if room.get("mode") == "drop_first" else "side_by_side"
        if settings.engine == "mysql":
            return MySQLPlan.for_dump(
                role=role,
                target=systems.mysql_target(self.state.profile, role),
                set_dir=self.state.set_dir,
                dump=dump,
                run_id=ctx.run_id,
                mode=mode,
                restore_step=RESTORE_STEP_OF[role],
                swap_step=SWAP_STEP_OF[role],
            )
        then = [self.state.split_sync_dump] if role == "repository_db" else []
        return database.RestorePlan.for_dump(
            role=role,
            conninfo=settings.conninfo,
            passfile=systems.expand(settings.passfile),
            set_dir=self.state.set_dir,
            dump=dump,
            run_id=ctx.run_id,
            mode=mode,
            jobs=self.state.profile.backup.jobs,
            restore_step=RESTORE_STEP_OF[role],
            swap_step=SWAP_STEP_OF[role],
            then_dumps=[d for d in then if d is not None],
        )

    def _skip_reason(self, role: str) -> str:
        if role == "sync_db" and self.state.shared:
            return SPLIT_NOTE if self.state.split_sync_dump else SHARED_NOTE
        if self._external(role):
            at = self.state.manifest.get("t0", {}).get("at", "?")
            return (
                f"the repository backup was taken outside syncwizard (snapshot at {at}): "
                "restore it with the tool that took it"
            )
        return ""

    # --- restore into scratch -------------------------------------------------------------

    def plan_restore(self, step_id: str) -> Callable[[StepContext], str]:
        role = ROLE_OF[step_id]

        def plan(ctx: StepContext) -> str:
            return self._skip_reason(role) or self.plan_for(ctx, role).describe()

        return plan

    def restore_gate(self, step_id: str) -> Callable[[StepContext], Awaitable[Gate | None]]:
        role = ROLE_OF[step_id]

        async def gate(ctx: StepContext) -> Gate | None:
            if self._skip_reason(role):
                return None
            plan = self.plan_for(ctx, role)
            room = self.state.found(ctx).get("room", {}).get(role, {})
            if plan.mode != "drop_first":
                return self._unknown_room_gate(ctx, role, plan, room)
            return Gate(
                title=f"Drop {plan.live} BEFORE restoring it?",
                consequences="The server lacks room for a restored copy beside the current "
                "database, so the current one is dropped first. If the restore then fails, "
                "there is no database by that name until it is restored from this set again.",
                token=plan.live,
                facts=(
                    ("database", plan.live),
                    ("free on the server", _size(room.get("free_bytes"))),
                    ("a copy needs", _size(room.get("needed_bytes"))),
                    *_server_need(room),
                ),
            )

        return gate

    def room_gates(self, ctx: StepContext) -> tuple[Gate, ...]:
        """Before anything is stopped: one gate per database server whose free space could
        not be read (asked with the stop's gates, so production is not taken down for a
        restore the admin then finds no room for)."""
        gates: dict[str, Gate] = {}
        for role in self.roles:
            if self._skip_reason(role):
                continue
            room = self.state.found(ctx).get("room", {}).get(role, {})
            server = str(room.get("server") or role)
            gate = self._unknown_room_gate(ctx, role, self.plan_for(ctx, role), room)
            if gate is not None and server not in gates:
                gates[server] = gate
        return tuple(gates.values())

    def _unknown_room_gate(
        self, ctx: StepContext, role: str, plan: database.RestorePlan | MySQLPlan, room: Outputs
    ) -> Gate | None:
        """A server whose free space could not be read: the admin confirms the room before
        the stop (room_gates); a run that stopped without it (begun by an earlier version)
        asks before its first restore, one gate for both databases of a shared server."""
        if not room or room.get("free_bytes") is not None:
            return None
        if STOP in ctx.results:
            return None  # confirmed with the stop's gates
        others = [r for r in room.get("server_roles") or [] if r != role]
        if any(RESTORE_STEP_OF[r] in ctx.results for r in others if r in RESTORE_STEP_OF):
            return None  # confirmed at the first restore on this server
        server = room.get("server") or "the database server"
        copies = len(room.get("server_roles") or [role])
        return Gate(
            title=f"Restore onto {server} without knowing its free space?",
            consequences="syncwizard cannot read the free space of the disk holding this "
            "server's data (another machine, or a user that may not read where the data "
            "is). "
            f"The restore puts {'both restored copies' if copies > 1 else 'a restored copy'} "
            "there beside the current "
            f"{'databases' if copies > 1 else 'database'}, which stay (renamed aside) until "
            "you drop them, and writes its logs (WAL, binary log): check the room (df on "
            "the data directory) "
            "first. If the disk fills up, the restore fails and its scratch database is "
            "dropped, but every database on that server may stop taking writes until space "
            "is freed.",
            token="room",
            facts=(
                ("server", str(server)),
                ("free", "unknown (cannot be read from here)"),
                *_server_need(room),
            ),
            undo="Confirming changes nothing; it says the server has the room.",
            destructive=False,
        )

    async def _restore(self, ctx: StepContext, role: str) -> Outputs:
        if reason := self._skip_reason(role):
            raise SkipStep(reason, {"database": None, "reason": reason})
        return await self.state.systems.restore_into_scratch(self.plan_for(ctx, role), ctx)

    async def restore_repository(self, ctx: StepContext) -> Outputs:
        return await self._restore(ctx, "repository_db")

    async def restore_sync(self, ctx: StepContext) -> Outputs:
        return await self._restore(ctx, "sync_db")

    # --- swap into place ------------------------------------------------------------------

    def plan_swap(self, step_id: str) -> Callable[[StepContext], str]:
        role = ROLE_OF[step_id]

        def plan(ctx: StepContext) -> str:
            if reason := self._skip_reason(role):
                return reason
            return self.plan_for(ctx, role).describe_swap()

        return plan

    def swap_gate(self, step_id: str) -> Callable[[StepContext], Awaitable[Gate | None]]:
        role = ROLE_OF[step_id]

        async def gate(ctx: StepContext) -> Gate | None:
            if role == "sync_db" and self.state.shared:
                return None
            if self._external(role):
                return Gate(
                    title="Is the repository DB restored from its external backup?",
                    consequences=self._skip_reason(role) + ". The next steps restore the Sync "
                    "DB and start the Sync Service with -Drecover against it.",
                    token="restored",
                    undo="Confirming changes no database; it says you restored it.",
                    destructive=False,
                )
            if ctx.records_of(SWAP_STEP_OF[role]).get("swapped"):
                return None  # an earlier attempt committed it: nothing left to confirm
            plan = self.plan_for(ctx, role)
            look = await self.state.systems.look_before_swap(plan)
            if isinstance(plan, MySQLPlan):
                assert isinstance(look, mysql_database.MySQLSwapLook)
                facts = mysql_database.gate_facts(plan, look)
            else:
                assert isinstance(look, database.SwapLook)
                facts = database.gate_facts(plan, look)
            return Gate(
                title=f"Replace the {LABELS[role]} {plan.live} with the restored copy?",
                consequences=swap_consequences(plan),
                token=plan.live,
                facts=tuple(facts),
                undo=swap_undo(plan),
            )

        return gate

    def verify_swap(self, step_id: str) -> Callable[[StepContext, Outputs], Awaitable[None]]:
        """The live name holds the restored database (also checked again on a resume)."""
        role = ROLE_OF[step_id]

        async def verify(ctx: StepContext, outputs: Outputs) -> None:
            if outputs.get("database"):
                await self.state.systems.verify_swapped(self.plan_for(ctx, role), ctx, outputs)

        return verify

    async def _swap(self, ctx: StepContext, role: str) -> Outputs:
        if reason := self._skip_reason(role):
            raise SkipStep(reason, {"database": None, "reason": reason})
        return await self.state.systems.swap(self.plan_for(ctx, role), ctx)

    async def swap_repository(self, ctx: StepContext) -> Outputs:
        return await self._swap(ctx, "repository_db")

    async def swap_sync(self, ctx: StepContext) -> Outputs:
        return await self._swap(ctx, "sync_db")


def swap_consequences(plan: database.RestorePlan | MySQLPlan) -> str:
    if plan.mode != "side_by_side":
        kept = (
            "was dropped before the restore"
            if isinstance(plan, database.RestorePlan)
            else ("was emptied before the restore")
        )
    elif isinstance(plan, MySQLPlan):
        kept = f"has its tables moved into {plan.aside} (kept until you drop it from the summary)"
    else:
        kept = f"is renamed {plan.aside} (kept until you drop it from the summary)"
    return (
        f"Every session on {plan.live} is ended. The current database {kept}, and the "
        f"verified copy becomes {plan.live}."
    )


def swap_undo(plan: database.RestorePlan | MySQLPlan) -> str:
    if plan.mode != "side_by_side":
        return ""
    if isinstance(plan, MySQLPlan):
        return f"Until {plan.aside} is dropped, moving its tables back (RENAME TABLE) undoes this."
    return f"Until {plan.aside} is dropped, renaming it back undoes this."


def _server_need(room: Outputs) -> tuple[tuple[str, str], ...]:
    total = room.get("server_needed_bytes")
    if total is None:
        return ()
    roles = room.get("server_roles") or []
    what = "both restores" if len(roles) > 1 else "the restore"
    return (
        (
            "the server needs",
            f"{_size(total)} for {what}, WAL ({_size(room.get('wal_bytes'))}) included",
        ),
    )


def _size(value: object) -> str:
    return units.size(value) if isinstance(value, int | float) else "unknown"
