"""The archived pending events as a table: message id, time, event type, node id.

`EventsTable.load(path)` reads the archive (JSON lines, see clients/events.py)
in a thread worker and adds every row at once; DataTable draws only the rows
on screen, so 10,000 events scroll without lag. The border says how many rows
and from which file; `loaded` is set once the rows are in.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual import work
from textual.widgets import DataTable

from syncwizard.errors import SyncWizardError
from syncwizard.tui.restore_text import EVENT_COLUMNS, archive_rows

Row = tuple[str, str, str, str]


def read_rows(path: Path) -> list[Row]:
    try:
        with path.open("r", encoding="utf-8", errors="replace") as handle:
            return archive_rows(handle)
    except OSError as exc:
        raise SyncWizardError(
            f"cannot read the events archive {path}: {exc.strerror or exc}",
            hint="it is in the run folder; check that it is still there and readable",
            system="config",
        ) from exc


class EventsTable(DataTable[str]):
    DEFAULT_CSS = "EventsTable { height: 1fr; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.border_title = "Pending events"
        self.path: Path | None = None
        self.loaded = False
        self.error: SyncWizardError | None = None

    @property
    def settled(self) -> bool:
        """Loaded and measured: DataTable sizes its columns for new rows when it is next idle,
        so a picture taken between the two shows squeezed columns."""
        return self.loaded and not self._require_update_dimensions

    def on_mount(self) -> None:
        for label in EVENT_COLUMNS:
            self.add_column(label, key=label)

    def load(self, path: Path) -> None:
        """Show the events archived in `path` (again, if it changed)."""
        if path == self.path and (self.loaded or self.error is None):
            return
        self.path, self.loaded, self.error = path, False, None
        self.clear()
        self.border_subtitle = "reading..."
        self._read(path)

    @work(exclusive=True, group="events", exit_on_error=False, name="reading the events archive")
    async def _read(self, path: Path) -> None:
        try:
            rows = await asyncio.to_thread(read_rows, path)
        except SyncWizardError as exc:
            self.error = exc
            self.border_subtitle = exc.message
            return
        if path != self.path:
            return
        self.add_rows(rows)
        self.loaded = True
        self.border_subtitle = f"{len(rows):,} events, from {path.name}"
