"""A restore run in a child process, for the kill -9 tests (this module holds no tests).

    python restore_driver.py SET_DIR     # resumes the unfinished restore run, else starts one

Every gate is confirmed, the choices come from the environment (the recover password in
SYNCWIZARD_TEST_RECOVER_PASSWORD: the environment, never argv), and every journaled
event is printed as a JSON line as soon as it is fsynced.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from syncwizard.config import broker_password, load_settings
from syncwizard.runbook.journal import find_unfinished
from syncwizard.runbook.model import JOURNALED, Gate, StepEvent
from syncwizard.runbook.restore.runbook import RestoreChoices, resume_restore, start_restore


def print_event(event: StepEvent) -> None:
    if event.kind in JOURNALED:
        print(json.dumps(event.as_json()), flush=True)


async def confirm(gate: Gate) -> bool:
    return True


async def main(set_dir: Path) -> int:
    profile = load_settings(None, None).profile
    choices = RestoreChoices(
        events_action="clear",
        recover_user="admin",
        recover_password=os.environ["SYNCWIZARD_TEST_RECOVER_PASSWORD"],
        plain_restart=False,
    )
    password = broker_password(profile.broker)
    record = find_unfinished("restore")
    if record is not None:
        engine = await resume_restore(
            record,
            profile,
            choices,
            broker_password=password,
            observers=[print_event],
            confirm=confirm,
        )
    else:
        engine = start_restore(
            profile,
            set_dir,
            choices,
            broker_password=password,
            observers=[print_event],
            confirm=confirm,
        )
    try:
        outcome = await engine.run()
    finally:
        await engine.aclose()
    return 0 if outcome.status == "finished" else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(Path(sys.argv[1]))))
