"""Every scenario, in the order the list shows them."""

from __future__ import annotations

from syncwizard.errors import SyncWizardError
from syncwizard.train.model import Scenario
from syncwizard.train.scenarios.backup_volume_full import BACKUP_VOLUME_FULL
from syncwizard.train.scenarios.broker_restart_mid_drain import BROKER_RESTART_MID_DRAIN
from syncwizard.train.scenarios.cluster_guid_mismatch import CLUSTER_GUID_MISMATCH
from syncwizard.train.scenarios.corrupted_set import CORRUPTED_SET
from syncwizard.train.scenarios.never_healthy_after_recover import NEVER_HEALTHY_AFTER_RECOVER
from syncwizard.train.scenarios.producing_during_restore import PRODUCING_DURING_RESTORE
from syncwizard.train.scenarios.purge_refused import PURGE_REFUSED
from syncwizard.train.scenarios.routine_backup import ROUTINE_BACKUP
from syncwizard.train.scenarios.stalled_consumer import STALLED_CONSUMER
from syncwizard.train.scenarios.weekend_outage import WEEKEND_OUTAGE
from syncwizard.train.scenarios.wrong_recover_password import WRONG_RECOVER_PASSWORD

SCENARIOS: tuple[Scenario, ...] = (
    ROUTINE_BACKUP,
    WEEKEND_OUTAGE,
    STALLED_CONSUMER,
    PRODUCING_DURING_RESTORE,
    BROKER_RESTART_MID_DRAIN,
    WRONG_RECOVER_PASSWORD,
    NEVER_HEALTHY_AFTER_RECOVER,
    PURGE_REFUSED,
    BACKUP_VOLUME_FULL,
    CLUSTER_GUID_MISMATCH,
    CORRUPTED_SET,
)


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
