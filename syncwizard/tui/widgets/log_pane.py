"""The log pane of a runbook screen: a progress row over the run's log (subiquity's).

The progress row is a bar (shown only when a total is known: an indeterminate
bar repaints 15 times a second) with a one-line label, and under it one line
of detail (the table being copied, what is pending). Below it a RichLog holds
the step transitions and the child's output lines. The screen toggles a
"full log" view in which this pane takes the whole screen.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import ProgressBar, RichLog, Static

MAX_LINES = 5000  # pg_dump --verbose says a line per object; keep the recent ones


class LogPane(Vertical):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = "Log"
        self.bar = ProgressBar(total=None, show_eta=False, id="progress-bar")
        self.label = Static("", id="progress-label")
        self.detail = Static("", id="progress-detail")
        self.log_view = RichLog(
            max_lines=MAX_LINES, wrap=True, min_width=20, markup=False, id="log"
        )
        self.lines: list[str] = []  # every line written, as plain text (tests read it)
        self._shown: tuple[str, float | None, float | None, str] | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="progress-row"):
            yield self.bar
            yield self.label
        yield self.detail
        yield self.log_view

    def on_mount(self) -> None:
        self.bar.display = False

    def show_progress(
        self,
        label: str,
        done: float | None = None,
        total: float | None = None,
        detail: str = "",
    ) -> None:
        """`label`, a bar of `done` of `total` when a total is known, `detail` under them."""
        if self._shown == (label, done, total, detail):
            return
        self._shown = (label, done, total, detail)
        has_total = total is not None and total > 0
        self.bar.display = has_total
        if has_total:
            self.bar.update(total=total, progress=min(done or 0, total or 0))
        # one line each, cut with an ellipsis (the stylesheet): repaint without a new layout
        self.label.update(Text(label), layout=False)
        self.detail.update(Text(detail), layout=False)

    def clear_progress(self) -> None:
        self.show_progress("")

    def mark_stopped(self, word: str) -> None:
        """Keep the last progress (where it stopped) and say that it stopped."""
        label, done, total, detail = self._shown or ("", None, None, "")
        self.show_progress(f"{label} - {word}" if label else word, done, total, detail)

    @property
    def progress_detail(self) -> str:
        return self._shown[3] if self._shown else ""

    @property
    def progress_label(self) -> str:
        return self._shown[0] if self._shown else ""

    @property
    def progress_fraction(self) -> float | None:
        """done / total of the bar, None while it is hidden."""
        if self._shown is None or not self._shown[2]:
            return None
        done, total = self._shown[1] or 0, self._shown[2]
        return min(done / total, 1.0)

    def write(self, line: str | Text) -> None:
        plain = line.plain if isinstance(line, Text) else line
        self.lines.append(plain)
        if len(self.lines) > MAX_LINES:
            del self.lines[: len(self.lines) - MAX_LINES]
        self.log_view.write(line)

    def set_source(self, where: str) -> None:
        """Where the whole record is kept (the run's journal), in the border."""
        self.border_subtitle = where
