"""What the -Drecover start did, as far as the wizard can see it: how far the Sync DB was
from the repository before and after (a command of the profile's that measures it, like
the lab's), and the lines of the Sync Service's own log about the recover."""

from __future__ import annotations

import re
from pathlib import Path

from syncwizard.clients.service import run_command
from syncwizard.errors import SyncWizardError
from syncwizard.masking import mask_text

DRIFT_TIMEOUT = 60.0
LOG_TAIL_BYTES = 1 << 20  # look at most this far back in a chatty log
LOG_LINES = 8
_RECOVER_WORD = re.compile(r"recover", re.IGNORECASE)


async def measure_drift(command: str | None) -> str | None:
    """The last line the drift command printed; what went wrong if it failed; None if unset."""
    if not command:
        return None
    try:
        result = await run_command(command, system="sync_service", timeout=DRIFT_TIMEOUT)
    except SyncWizardError as exc:
        return f"not measured: {exc.message}"
    lines = [line.strip() for line in result.output.splitlines() if line.strip()]
    if not result.ok or not lines:
        return f"not measured: {result.failure('the drift command')}"
    return lines[-1]


def log_size(log: str | None) -> int | None:
    """Where the service's log ends now: its lines after this offset are the recover's."""
    if not log:
        return None
    try:
        return Path(log).expanduser().stat().st_size
    except OSError:
        return None


def recover_lines(log: str | None, since: int | None, secrets: tuple[str, ...] = ()) -> list[str]:
    """The last lines about the recover the log got after offset `since`, passwords masked."""
    if not log or since is None:
        return []
    path = Path(log).expanduser()
    try:
        with path.open("rb") as file:
            size = file.seek(0, 2)
            start = since if since <= size else 0  # a log rotated meanwhile: read it all
            file.seek(max(start, size - LOG_TAIL_BYTES))
            text = file.read().decode("utf-8", errors="replace")
    except OSError:
        return []
    lines = [line for line in text.splitlines() if _RECOVER_WORD.search(line)]
    # A log may repeat the JVM's arguments, -Drecover=<user>:<password> among them.
    return [mask_text(line, secrets) for line in lines[-LOG_LINES:]]
