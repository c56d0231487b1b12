"""A graded run: each point with its debrief and the step of Alfresco's procedure it comes
from, then the glossary's words the debriefs use."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from syncwizard.glossary import terms_in
from syncwizard.practice import Debrief
from syncwizard.tui import keys
from syncwizard.tui.screens.base import SCREENS_CSS, WizardScreen
from syncwizard.tui.widgets.footer import WizardFooter
from syncwizard.tui.widgets.title_bar import TitleBar


def points_text(debrief: Debrief) -> Text:
    text = Text()
    for point in debrief.points:
        full = point.earned == point.possible
        text.append("ok   " if full else "MISS ", style="bold green" if full else "bold red")
        text.append(f"{point.earned}/{point.possible} {point.title}\n", style="bold")
        text.append(f"{point.debrief}\n")
        text.append(f"from: {point.procedure}\n\n", style="italic")
    return text


def terms_table(debrief: Debrief) -> Table | str:
    used = terms_in(*(point.debrief for point in debrief.points))
    if not used:
        return ""
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True, style="bold")
    table.add_column()
    for term in used:
        table.add_row(term.name, term.meaning)
    return table


class DebriefScreen(WizardScreen):
    BINDINGS = [keys.BACK]
    CSS_PATH = SCREENS_CSS

    def __init__(self, debrief: Debrief, profile: str | None) -> None:
        super().__init__()
        self.debrief = debrief
        self.profile = profile

    def compose(self) -> ComposeResult:
        debrief = self.debrief
        yield TitleBar("Debrief", self.profile)
        with VerticalScroll(id="debrief"):
            yield Static(
                Text.assemble(
                    (f"{debrief.scenario_title}: {debrief.earned}/{debrief.possible}", "bold"),
                    f"  run {debrief.run_id}, {debrief.seconds:.0f} s",
                ),
                id="debrief-score",
            )
            for fault in debrief.faults:
                yield Static(f"Fault injected: {fault}.", classes="debrief-fault")
            yield Static(points_text(debrief), id="debrief-points")
            yield Static(terms_table(debrief), id="debrief-terms", classes="panel")
        yield WizardFooter()

    def on_mount(self) -> None:
        self.query_one("#debrief-terms").border_title = "Terms"
        self.query_one("#debrief-terms").display = bool(
            terms_in(*(p.debrief for p in self.debrief.points))
        )

    def action_back(self) -> None:
        self.dismiss()
