"""Every scenario, in the order the list shows them."""

from __future__ import annotations

from syncwizard.errors import SyncWizardError
from syncwizard.train.model import Scenario
from syncwizard.train.scenarios.routine_backup import ROUTINE_BACKUP
from syncwizard.train.scenarios.stalled_consumer import STALLED_CONSUMER
from syncwizard.train.scenarios.weekend_outage import WEEKEND_OUTAGE

SCENARIOS: tuple[Scenario, ...] = (ROUTINE_BACKUP, WEEKEND_OUTAGE, STALLED_CONSUMER)


def scenario(scenario_id: str) -> Scenario:
    for candidate in SCENARIOS:
        if candidate.id == scenario_id:
            return candidate
    raise SyncWizardError(
        f"no training scenario {scenario_id!r}: expected one of "
        + ", ".join(s.id for s in SCENARIOS),
        hint="`syncwizard train` lists them with their tickets",
        system="config",
    )
