"""The archived pending events as a table: message id, time, event type, node id.

`EventsTable.load(path)` reads the archive (JSON lines, see
runbook/restore/archive.py) in a thread worker and adds its first MAX_ROWS rows
at once; DataTable draws only the rows on screen, so they scroll without lag. The
border says how many rows of how many and from which file; `loaded` is set once the
rows are in. A file that grew since (a clear run again) is read again.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from rich.cells import cell_len
from rich.text import Text
from textual import work
from textual.widgets import DataTable

from syncwizard.errors import SyncWizardError
from syncwizard.runbook.restore.archive import count_archive, iter_archive

# Cells are Text, not str: DataTable reads a str as markup, and ActiveMQ message ids hold
# ":-1:", which Rich turns into an emoji.
Row = tuple[Text, Text, Text, Text]
MAX_ROWS = 10_000  # a backlog of 100,000 is in the file; the table shows the oldest
EVENT_COLUMNS = ("Message id", "Time (UTC)", "Event type", "Node id")


def _cell(value: str) -> Text:
    return Text(value, no_wrap=True)  # one line, as DataTable does for a str


def _when(epoch_ms: int) -> str:
    if epoch_ms <= 0:
        return ""
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def read_rows(path: Path) -> tuple[list[Row], list[int], int]:
    """The archive's first MAX_ROWS rows, each column's width (its label's or its widest
    cell's), and how many events the archive holds. Raises SyncWizardError naming the
    file when it cannot be read or a line is damaged."""
    plain = [
        (event.message_id, _when(event.timestamp), event.event_type, event.node_id)
        for event in iter_archive(path, limit=MAX_ROWS)
    ]
    total = len(plain) if len(plain) < MAX_ROWS else count_archive(path)
    widths = [len(label) for label in EVENT_COLUMNS]
    for row in plain:
        widths = [max(width, cell_len(cell)) for width, cell in zip(widths, row, strict=True)]
    rows: list[Row] = [(_cell(a), _cell(b), _cell(c), _cell(d)) for a, b, c, d in plain]
    return rows, widths, total


class EventsTable(DataTable[Text]):
    DEFAULT_CSS = "EventsTable { height: 1fr; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.border_title = "Events taken into the archive"
        self.path: Path | None = None
        self.file_size = -1  # the file's size when it was read
        self.loaded = False
        self.error: SyncWizardError | None = None

    @property
    def settled(self) -> bool:
        """Loaded and measured: DataTable sizes its columns for new rows when it is next idle,
        so a picture taken between the two shows squeezed columns."""
        return self.loaded and not self._require_update_dimensions

    def on_mount(self) -> None:
        self._columns([len(label) for label in EVENT_COLUMNS])

    def _columns(self, widths: list[int]) -> None:
        # Fixed widths, measured off the UI thread: DataTable's own measuring waits for an
        # idle moment, and lines painted before it stay cached with the labels' widths.
        self.clear(columns=True)
        for label, width in zip(EVENT_COLUMNS, widths, strict=True):
            self.add_column(label, key=label, width=width)

    def load(self, path: Path) -> None:
        """Show the events archived in `path` (again, if it changed or grew)."""
        try:
            size = path.stat().st_size
        except OSError:
            size = -1
        if path == self.path and size == self.file_size and (self.loaded or self.error is None):
            return
        self.path, self.file_size, self.loaded, self.error = path, size, False, None
        self.clear()
        self.border_subtitle = "reading..."
        self._read(path)

    @work(exclusive=True, group="events", exit_on_error=False, name="reading the events archive")
    async def _read(self, path: Path) -> None:
        try:
            rows, widths, total = await asyncio.to_thread(read_rows, path)
        except SyncWizardError as exc:
            self.error = exc
            self.border_subtitle = exc.message
            return
        if path != self.path:
            return
        self._columns(widths)
        self.add_rows(rows)
        self.loaded = True
        shown = f"{len(rows):,}" if total == len(rows) else f"the first {len(rows):,} of {total:,}"
        self.border_subtitle = f"{shown} events, from {path.name}"
