"""The sealed backup set, read back from its manifest: where, what, when, and every file.

Shown when a backup run finishes. Everything on it comes from `manifest.json`
(what `syncwizard verify` checks), not from the screen's memory of the run.
`c` copies the set's folder (OSC 52, works over SSH).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Static

from syncwizard.tui import formatting, keys
from syncwizard.tui.runbook_text import short_path
from syncwizard.tui.screens.base import SCREENS_CSS
from syncwizard.tui.widgets.footer import WizardFooter
from syncwizard.tui.widgets.step_sidebar import duration
from syncwizard.tui.widgets.title_bar import TitleBar

SHA_SHOWN = 16  # hex digits of each sha256 on screen; the manifest holds them whole


def _moment(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def step_seconds(times: Mapping[str, Any]) -> float | None:
    started, finished = _moment(times.get("started_at")), _moment(times.get("finished_at"))
    if started is None or finished is None:
        return None
    return max((finished - started).total_seconds(), 0.0)


def moment_text(text: str | None) -> str:
    """`2026-01-01T00:01:35.000Z` -> `2026-01-01 00:01:35 UTC` (the manifest keeps UTC)."""
    moment = _moment(text)
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC" if moment is not None else str(text or "?")


def shared_line(manifest: Mapping[str, Any]) -> str:
    """How a set of a database shared by the repository and the Sync Service was taken."""
    if len(manifest.get("dumps", [])) > 1:
        return (
            "the Sync Service shares the repository database: its tables were dumped "
            "apart, after the wait"
        )
    return "the Sync Service shares the repository database: one dump"


def content_store_line(store: Mapping[str, Any]) -> str:
    """The content store backup the set records (backup.content_store), or what to do."""
    if store.get("recorded"):
        return f"{store.get('command')} (ran {moment_text(store.get('started_at'))})"
    return "not recorded: back the content store up now (after t0), or set backup.content_store"


def dump_line(dump: Mapping[str, Any]) -> str:
    rows = sum(int(n) for n in dump.get("row_counts", {}).values())
    tables = len(dump.get("row_counts", {}))
    size = formatting.size(int(dump.get("size_bytes", 0)))
    return (
        f"{dump.get('path')}: {size}, {rows:,} rows in {tables} tables, "
        f"snapshot {moment_text(dump.get('snapshot_at_iso'))}"
    )


def verdict(manifest: Mapping[str, Any]) -> str:
    """What sealing checked, in the words of the set's dump tools: pg_dump archives are
    listed by pg_restore, SQL dumps (mariadb-dump, mysqldump) read back to their closing
    line, each with its rows against the counts recorded (runbook/backupset.check_dump)."""
    dumps = manifest.get("dumps", [])
    # "sql" is backupset.SQL_FORMAT, not imported here: backupset brings psycopg along.
    sql = sum(1 for dump in dumps if dump.get("format") == "sql")
    if sql and sql < len(dumps):
        how = "pg_dump's checked with pg_restore, the SQL dumps read back whole"
    elif sql:
        how = "read back whole, rows as counted"
    else:
        how = "checked with pg_restore"
    return f"Sealed: every dump listed, checksummed and {how}."


def wait_line(wait: Mapping[str, Any]) -> str:
    if wait.get("mode") == "countdown":
        return f"waited {wait.get('seconds', 0):g} s (the doc's countdown; no drain check)"
    line = f"drained: {wait.get('clause')}"
    if wait.get("drained_at_iso"):
        line += f" ({moment_text(wait['drained_at_iso'])})"
    if wait.get("counters_reset"):
        line += " (the broker's counters were reset meanwhile)"
    return line


def facts_table(manifest: Mapping[str, Any], set_dir: Path, titles: Mapping[str, str]) -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    table.add_row("Folder", Text(short_path(set_dir)))
    table.add_row("Sync GUID", Text(str(manifest.get("sync_id", ""))))
    t0 = manifest.get("t0") or {}
    table.add_row("t0", Text(f"{moment_text(t0.get('at'))}, the {t0.get('source')}"))
    table.add_row("Sealed", moment_text(manifest.get("created_at")))
    files = manifest.get("files", [])
    total = formatting.size(int(manifest.get("total_bytes", 0)))
    table.add_row("Content", f"{len(files)} files, {total}; manifest.json written last")
    for number, dump in enumerate(manifest.get("dumps", [])):
        table.add_row("Dumps" if number == 0 else "", Text(dump_line(dump)))
    if manifest.get("shared_database"):
        table.add_row("", Text(shared_line(manifest)))
    table.add_row("Store", Text(content_store_line(manifest.get("content_store") or {})))
    if manifest.get("wait"):
        table.add_row("Wait", Text(wait_line(manifest["wait"])))
    steps: Mapping[str, Any] = manifest.get("steps", {})
    if steps:
        times = Table.grid(padding=(0, 2))
        times.add_column()
        times.add_column(justify="right")
        for step_id, moments in steps.items():
            times.add_row(titles.get(step_id, step_id), duration(step_seconds(moments)) or "?")
        table.add_row("Steps", times)
    return table


class BackupSummaryScreen(Screen[None]):
    BINDINGS = [keys.SUMMARY_COPY_PATH, keys.SUMMARY_BACK, keys.SUMMARY_DONE]
    CSS_PATH = SCREENS_CSS

    def __init__(
        self,
        manifest: Mapping[str, Any],
        set_dir: Path,
        titles: Mapping[str, str],
        profile: str | None,
    ) -> None:
        super().__init__()
        self.manifest = manifest
        self.set_dir = set_dir
        self.titles = titles
        self.profile = profile

    def compose(self) -> ComposeResult:
        yield TitleBar(f"Backup {self.manifest.get('run_id', '')} sealed", self.profile)
        with VerticalScroll(id="summary-facts") as facts:
            facts.border_title = "Backup set"
            yield Static(
                Text(verdict(self.manifest)),
                id="summary-verdict",
            )
            yield Static(facts_table(self.manifest, self.set_dir, self.titles), id="summary-set")
        files: DataTable[str] = DataTable(id="summary-files", cursor_type="row", zebra_stripes=True)
        files.border_title = "Files"
        yield files
        yield WizardFooter()

    def on_mount(self) -> None:
        table = self.query_one("#summary-files", DataTable)
        table.add_column("File", key="file")
        table.add_column("Size", key="size")
        table.add_column("sha256", key="sha256")
        for entry in self.manifest.get("files", []):
            table.add_row(
                Text(str(entry.get("path", "")), no_wrap=True),
                Text(formatting.size(int(entry.get("size", 0))), justify="right"),
                Text(str(entry.get("sha256", ""))[:SHA_SHOWN] + "…", no_wrap=True),
            )

    def action_copy_set_path(self) -> None:
        path = str(self.set_dir)
        self.app.copy_to_clipboard(path)
        self.notify(f"copied {path}", title="Clipboard")

    def action_back(self) -> None:
        self.dismiss()

    def action_welcome(self) -> None:
        from syncwizard.tui.screens.welcome import WelcomeScreen

        while len(self.app.screen_stack) > 1 and not isinstance(self.app.screen, WelcomeScreen):
            self.app.pop_screen()
