"""`syncwizard lab reset`: the lab back to its initial data, nothing reinstalled.

The stand-ins are stopped (a paused one is woken first, so it can hear SIGTERM), the two
databases are dropped and seeded again as at the first `lab up` (the sync GUID kept, so the
broker's consumer queue still is the Sync Service's; a running MariaDB's too, with the
databases restores left beside it), every queue is purged (a broker whose
policy refuses the purge has its message store wiped and is restarted instead), then the
stand-ins start again with the produce rate lab.json holds.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field

from syncwizard.errors import SyncWizardError
from syncwizard.lab import (
    broker,
    broker_stomp,
    mariadb,
    odd_node,
    postgres,
    process,
    repository_control,
    standin,
    volume,
)
from syncwizard.lab.layout import LabLayout, read_settings

STAND_INS = (repository_control.PART, standin.PART)


@dataclass
class ResetReport:
    done: list[str] = field(default_factory=list)  # what was done, one sentence each
    seconds: float = 0.0


def wake(layout: LabLayout) -> list[str]:
    """SIGCONT to the stand-ins a scenario may have paused (SIGSTOP); the names woken."""
    woken = []
    for name in STAND_INS:
        pid = process.running_pid(layout, name)
        if pid is not None:
            os.kill(pid, signal.SIGCONT)
            woken.append(name)
    return woken


def reset(layout: LabLayout) -> ResetReport:
    started = time.monotonic()
    if not layout.settings_file.exists():
        raise SyncWizardError(
            f"no practice lab under {layout.root}: nothing to reset",
            hint="run `syncwizard lab up` first",
            system="lab",
        )
    report = ResetReport()
    wake(layout)
    stopped = [
        name
        for name, stop in (("repository", repository_control.stop), ("standin", standin.stop))
        if stop(layout)
    ]
    report.done.append(f"stopped the stand-ins ({', '.join(stopped) or 'none was running'})")
    if odd_node.stop(layout):
        report.done.append("stopped the second Sync Service node of a scenario")
    for point in volume.unmount_all(layout):
        report.done.append(f"unmounted the scenario's backup volume {point}")
    postgres.start(layout)
    dropped = postgres.reseed(layout)
    report.done.append(
        f"dropped {', '.join(dropped)} and seeded the sample data again (sync GUID kept)"
    )
    if mariadb.is_running(layout):
        left = mariadb.reseed(layout)
        report.done.append(
            "seeded MariaDB's sample data again"
            + (f" and dropped {', '.join(left)}" if left else "")
        )
    if not broker.is_running(layout):
        broker.start(layout)
        report.done.append("started the broker")
    if read_settings(layout).current and broker_stomp.set_stomp(layout, open_=False):
        # A restore left its STOMP window open: the broker goes back to how it shipped.
        report.done.append("closed the STOMP connector a restore left open (broker restarted)")
    purged = broker.purge_queues(layout)
    if purged is None:
        broker.wipe_data(layout)
        report.done.append(
            "the broker refuses the purge (hardened policy): its message store was wiped and "
            "it was restarted"
        )
    else:
        held = sum(purged.values())
        report.done.append(f"purged {len(purged)} queue(s) holding {held:,} message(s)")
    rate = read_settings(layout).produce_rate
    repository_control.start(layout)  # in `lab up`'s order: the Sync Service needs it
    repository_control.set_rate(layout, rate)
    standin.start(layout)
    report.done.append(f"started the stand-ins; the repository makes {rate:g} event(s) a second")
    report.seconds = time.monotonic() - started
    return report
