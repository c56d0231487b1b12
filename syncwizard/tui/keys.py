"""Every key binding of the TUI, in one place, each with an id for `[ui] keymap`.

The config's `[ui] keymap` maps these ids to other keys, e.g.
`"dashboard.copy_guid" = "y"`. Function keys and ctrl+enter do not reach the
program in every terminal (VS Code takes F1), so each F-key binding has a
plain-key twin.
"""

from __future__ import annotations

from textual.binding import Binding

QUIT = Binding("q", "quit", "Quit", id="app.quit", tooltip="Leave syncwizard")
FORCE_QUIT = Binding(
    "ctrl+q",
    "quit",
    "Quit",
    id="app.force_quit",
    show=False,
    priority=True,
    tooltip="Leave syncwizard, even from a text field",
)
HELP = Binding(
    "f1,question_mark",
    "help",
    "Help",
    id="app.help",
    key_display="F1",
    tooltip="List the keys of this screen",
)
HIGH_CONTRAST = Binding(
    "h",
    "toggle_high_contrast",
    "Contrast",
    id="app.high_contrast",
    tooltip="Switch to strong colours (for bright rooms, projectors, old consoles) and back",
)

WELCOME_STATUS = Binding(
    "s", "app.open_status", "Status", id="welcome.status", tooltip="Open the live status dashboard"
)
WELCOME_LAB = Binding(
    "l", "app.open_lab", "Lab", id="welcome.lab", tooltip="How to bring up the practice lab"
)
WELCOME_COPY_PATH = Binding(
    "c",
    "copy_config_path",
    "Copy path",
    id="welcome.copy_config_path",
    tooltip="Copy the config file's path to the clipboard (OSC 52, works over SSH)",
)

BACK = Binding("escape", "back", "Back", id="screen.back", tooltip="Back to the previous screen")
COPY_GUID = Binding(
    "c",
    "copy_guid",
    "Copy GUID",
    id="dashboard.copy_guid",
    tooltip="Copy the sync GUID to the clipboard (OSC 52, works over SSH)",
)
CLOSE_HELP = Binding(
    "escape,f1", "dismiss_help", "Close", id="help.close", tooltip="Close this help"
)

ALL = (
    QUIT,
    FORCE_QUIT,
    HELP,
    HIGH_CONTRAST,
    WELCOME_STATUS,
    WELCOME_LAB,
    WELCOME_COPY_PATH,
    BACK,
    COPY_GUID,
    CLOSE_HELP,
)
IDS = frozenset(binding.id for binding in ALL if binding.id)
