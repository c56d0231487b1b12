"""What a step does with the result of one of the admin's commands (a stop, a start, the
content store's backup): its output's last lines to the log, its failure as the step's."""

from __future__ import annotations

from syncwizard.clients.results import CommandResult
from syncwizard.errors import SyncWizardError
from syncwizard.runbook.model import StepContext

LOGGED_LINES = 20  # a chatty start script's last lines say why


def check_command(
    ctx: StepContext, result: CommandResult, what: str, *, hint: str, system: str
) -> None:
    """Log the last lines of `result`'s output; raise its failure, naming `what`, if it
    failed."""
    for line in result.output.splitlines()[-LOGGED_LINES:]:
        ctx.log(line)
    if not result.ok:
        raise SyncWizardError(result.failure(what), hint=hint, system=system)
