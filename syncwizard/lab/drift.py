"""`python -m syncwizard.lab.drift <lab root>`: one line saying how far the lab's Sync DB has
drifted from its repository DB. The lab profile's `sync_service.drift_command`: the restore
shows it before and after the -Drecover start, so a trainee sees what the recover did."""

from __future__ import annotations

import sys
from pathlib import Path

from syncwizard.errors import SyncWizardError
from syncwizard.lab.layout import layout_from_root
from syncwizard.lab.postgres import node_drift


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m syncwizard.lab.drift <lab root>", file=sys.stderr)
        return 2
    try:
        drift = node_drift(layout_from_root(Path(argv[0])))
    except (SyncWizardError, FileNotFoundError) as exc:
        print(exc.render() if isinstance(exc, SyncWizardError) else exc, file=sys.stderr)
        return 1
    print(drift.sentence)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
