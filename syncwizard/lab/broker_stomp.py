"""`python -m syncwizard.lab.broker_stomp open|close <lab root>`: for the practice lab, what
an admin's `broker.stomp_open` and `broker.stomp_close` do on a broker shipped without STOMP.

`open` adds a STOMP transport connector on 127.0.0.1 to the broker's activemq.xml and
restarts the broker; `close` takes it out again and restarts it. Both are safe to run twice.
The broker's persistent messages survive the restarts (KahaDB); the restore's clear runs
between them, while the Sync Service and the repository are stopped.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from syncwizard.errors import SyncWizardError
from syncwizard.lab import broker
from syncwizard.lab.layout import HOST, LabLayout, layout_from_root
from syncwizard.paths import write_private

MARK = "<!-- opened by syncwizard.lab.broker_stomp for a restore -->"
_CONNECTOR = re.compile(r"\n[ \t]*" + re.escape(MARK) + r"\n[ \t]*<transportConnector [^>]*/>")


def _config(layout: LabLayout) -> Path:
    return layout.broker_dir / "conf" / "activemq.xml"


def with_stomp(text: str, port: int) -> str:
    """activemq.xml with the window's STOMP connector (unchanged if it has STOMP)."""
    live = re.sub(r"<!--.*?-->", "", text, flags=re.S)  # a commented-out connector is off
    if MARK in text or 'name="stomp"' in live:
        return text
    connector = (
        f'      {MARK}\n      <transportConnector name="stomp" uri="stomp://{HOST}:{port}"/>'
    )
    return text.replace("    </transportConnectors>", connector + "\n    </transportConnectors>", 1)


def without_stomp(text: str) -> str:
    """activemq.xml without the window's STOMP connector."""
    return _CONNECTOR.sub("", text)


def set_stomp(layout: LabLayout, *, open_: bool) -> bool:
    """Open or close the window's STOMP connector, restarting the broker if that changes
    its configuration. True if it changed."""
    path = _config(layout)
    if not path.is_file():
        raise SyncWizardError(
            f"no broker configuration at {path}",
            hint="bring the lab up first: syncwizard lab up",
            system="lab",
        )
    text = path.read_text("utf-8")
    wanted = with_stomp(text, layout.ports.stomp) if open_ else without_stomp(text)
    if wanted == text:
        return False
    broker.stop(layout)
    write_private(path, wanted)
    broker.start(layout)
    return True


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("open", "close"):
        print("usage: python -m syncwizard.lab.broker_stomp open|close <lab root>", file=sys.stderr)
        return 2
    layout = layout_from_root(Path(argv[1]))
    try:
        changed = set_stomp(layout, open_=argv[0] == "open")
    except SyncWizardError as exc:
        print(exc.render(), file=sys.stderr)
        return 1
    state = "open" if argv[0] == "open" else "closed"
    print(f"STOMP {state} on the lab broker" + ("" if changed else " already"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
