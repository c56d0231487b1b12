"""The key bar at the bottom of every screen: compact below 100 columns.

At 80 columns a restore step that failed while the events are shown has nine
keys; with Textual's roomy spacing the last ones (F1 Help, h Contrast, which
come from the app) fell off the right edge. Compact spacing fits them all.
"""

from __future__ import annotations

from textual import events
from textual.widgets import Footer

COMPACT_BELOW = 100  # columns


class WizardFooter(Footer):
    def on_resize(self, event: events.Resize) -> None:
        self.compact = event.size.width < COMPACT_BELOW
