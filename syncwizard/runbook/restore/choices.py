"""What the admin decides on screen during a restore, handed to the steps that need it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from syncwizard.runbook.journal import RunRecord
from syncwizard.runbook.model import RefusedError
from syncwizard.runbook.restore.step_names import CLEAR, PLAIN_RESTART, QUIET

# clear: consume every event into the archive (the queue stays); delete: the same, then
# remove the queue and its topic; give_up: purge without archiving (behind a gate naming
# the number lost).
EventsAction = Literal["clear", "delete", "give_up"]
EVENTS_ACTIONS: tuple[EventsAction, ...] = ("clear", "delete", "give_up")
# What to do when events still arrive before the clear: stop the repository (its stop
# command), wait for it to stop, or go on knowingly (the clear then runs until ended).
WhileProducing = Literal["stop", "wait", "go_on"]
WHILE_PRODUCING: tuple[WhileProducing, ...] = ("stop", "wait", "go_on")


@dataclass
class RestoreChoices:
    """Filled in by the UI before the step that reads it; a missing one refuses the step.

    The recover password lives here, in memory only: it is never journaled, and
    `repr` hides it.
    """

    events_action: EventsAction | None = None  # before clear_events
    recover_user: str | None = None  # before start_recover
    recover_password: str | None = field(default=None, repr=False)
    plain_restart: bool | None = None  # before plain_restart
    while_producing: WhileProducing | None = None  # before check_quiet, if events arrive
    clearing_ended: bool = False  # set while clearing: the admin ends a clear that goes on
    # A second -Drecover start after one that ran: only when its process is gone.
    recover_again: bool = False

    def require_events_action(self) -> EventsAction:
        if self.events_action not in EVENTS_ACTIONS:
            raise RefusedError(
                "choose what to do with the undelivered events: clear them into the archive, "
                "clear them and delete the virtual topic and its queue, or give them up",
                hint="nothing was done; make the choice on this step's screen",
                system="broker",
            )
        assert self.events_action is not None
        return self.events_action

    def end_clearing(self) -> None:
        """End a clear that keeps consuming while events arrive (go on knowingly)."""
        self.clearing_ended = True

    def require_credentials(self) -> tuple[str, str]:
        if not self.recover_user or not self.recover_password:
            raise RefusedError(
                "the repository admin user and password for -Drecover are not given",
                hint="nothing was started; enter them when the wizard asks (kept in memory "
                "only, never written)",
                system="sync_service",
            )
        return self.recover_user, self.recover_password

    def require_plain_restart(self) -> bool:
        if self.plain_restart is None:
            raise RefusedError(
                "choose whether to restart the Sync Service once more without -Drecover",
                hint="nothing was done; choose on this step's screen",
                system="sync_service",
            )
        return self.plain_restart

    def restore_from(self, record: RunRecord) -> None:
        """Choices journaled by an earlier attempt of the run (never the password)."""
        chosen = record.records.get(CLEAR, {}).get("choice", {}).get("action")
        if self.events_action is None and chosen in EVENTS_ACTIONS:
            self.events_action = chosen
        producing = record.records.get(QUIET, {}).get("choice", {}).get("while_producing")
        if self.while_producing is None and producing in WHILE_PRODUCING:
            self.while_producing = producing
        restart = record.records.get(PLAIN_RESTART, {}).get("choice", {}).get("restart")
        if self.plain_restart is None and isinstance(restart, bool):
            self.plain_restart = restart
