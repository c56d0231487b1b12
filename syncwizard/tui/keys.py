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
WELCOME_PRACTICE = Binding(
    "p",
    "app.open_practice",
    "Practice",
    id="welcome.practice",
    tooltip="Training scenarios on the practice lab, graded (with the lab profile)",
    show=False,  # the menu says it; at 80 columns the footer keeps room for h Contrast
)
WELCOME_COPY_PATH = Binding(
    "c",
    "copy_config_path",
    "Copy path",
    id="welcome.copy_config_path",
    tooltip="Copy the config file's path to the clipboard (OSC 52, works over SSH)",
    show=False,  # F1 lists it: at 80 columns the footer keeps room for h Contrast
)

BACK = Binding("escape", "back", "Back", id="screen.back", tooltip="Back to the previous screen")
COPY_GUID = Binding(
    "c",
    "copy_guid",
    "Copy GUID",
    id="dashboard.copy_guid",
    tooltip="Copy the sync GUID to the clipboard (OSC 52, works over SSH)",
)
DASHBOARD_BACKUP = Binding(
    "b",
    "app.open_backup",
    "Backup",
    id="dashboard.backup",
    tooltip="Open the backup wizard (offers to resume an unfinished backup run)",
)
DASHBOARD_RESTORE = Binding(
    "r",
    "app.open_restore",
    "Restore",
    id="dashboard.restore",
    tooltip="Open the restore wizard (choose a backup set; offers to resume an unfinished run)",
)
CLOSE_HELP = Binding(
    "escape,f1", "dismiss_help", "Close", id="help.close", tooltip="Close this help"
)

WELCOME_BACKUP = Binding(
    "b",
    "app.open_backup",
    "Backup",
    id="welcome.backup",
    tooltip="Open the backup wizard (offers to resume an unfinished backup run)",
)
BACKUP_CANCEL = Binding(
    "escape",
    "cancel_backup",
    "Cancel",
    id="backup.cancel",
    tooltip="Ask, then cancel the running backup: the dump is stopped, its partial files removed",
)
BACKUP_INTERRUPT = Binding(
    "ctrl+c",
    "cancel_backup",
    "Cancel",
    id="backup.interrupt",
    show=False,
    tooltip="Ask, then cancel the running backup (like Esc)",
)
BACKUP_BACK = Binding(
    "escape", "back", "Back", id="backup.back", tooltip="Back to the welcome screen"
)
BACKUP_QUIT = Binding(
    "q",
    "request_quit",
    "Quit",
    id="backup.quit",
    show=False,
    tooltip="Leave syncwizard; while a backup runs, ask first and cancel it cleanly",
)
BACKUP_FULL_LOG = Binding(
    "f",
    "toggle_full_log",
    "Log",
    id="backup.full_log",
    tooltip="Show the full log on the whole screen, and back",
)
BACKUP_RESUME = Binding(
    "r",
    "resume_run",
    "Resume",
    id="backup.resume",
    tooltip="Resume the stopped run at the step where it stopped (finished dumps are kept)",
)
BACKUP_AFRESH = Binding(
    "n",
    "start_afresh",
    "New run",
    id="backup.start_afresh",
    tooltip="Abandon the stopped run (its files stay) and start a new backup run",
)
BACKUP_SUMMARY = Binding(
    "s", "show_summary", "Summary", id="backup.summary", tooltip="Show the sealed backup set"
)
SUMMARY_COPY_PATH = Binding(
    "c",
    "copy_set_path",
    "Copy path",
    id="summary.copy_path",
    tooltip="Copy the backup set's folder to the clipboard (OSC 52, works over SSH)",
)
SUMMARY_BACK = Binding(
    "escape", "back", "Back", id="summary.back", tooltip="Back to the backup's steps and log"
)
SUMMARY_DONE = Binding(
    "w", "welcome", "Welcome", id="summary.welcome", tooltip="Back to the welcome screen"
)
CANCEL_NO = Binding(
    "escape,n", "keep_going", "Keep going", id="cancel.no", tooltip="Do not cancel; go on"
)
CANCEL_YES = Binding(
    "y", "cancel_backup", "Cancel it", id="cancel.yes", tooltip="Cancel the backup"
)
GATE_REFUSE = Binding(
    "escape", "refuse", "Cancel", id="gate.cancel", tooltip="Do not do it; nothing is changed"
)
RESUME_RUN = Binding(
    "r", "choose('resume')", "Resume", id="resume.resume", tooltip="Resume the unfinished run"
)
RESUME_AFRESH = Binding(
    "a",
    "choose('afresh')",
    "Start afresh",
    id="resume.afresh",
    tooltip="Abandon the unfinished run (its files stay) and start a new one",
)
RESUME_CANCEL = Binding(
    "escape", "choose('cancel')", "Cancel", id="resume.cancel", tooltip="Back; nothing is changed"
)

WELCOME_RESTORE = Binding(
    "r",
    "app.open_restore",
    "Restore",
    id="welcome.restore",
    tooltip="Open the restore wizard (choose a backup set; offers to resume an unfinished run)",
)
SETS_CHOOSE = Binding(
    "enter",
    "choose_set",
    "Choose",
    id="sets.choose",
    tooltip="Restore the highlighted backup set (sealed sets only)",
)
SETS_BACK = Binding(
    "escape", "back", "Back", id="sets.back", tooltip="Back to the welcome screen; nothing is done"
)
RESTORE_RUN = Binding(
    "enter",
    "run_step",
    "Run step",
    id="restore.run_step",
    tooltip="Run the step shown (after reading it); a destructive step asks to confirm first",
)
RESTORE_RETRY = Binding(
    "r",
    "retry_step",
    "Retry",
    id="restore.retry",
    tooltip="Run the failed or refused step again",
)
RESTORE_CANCEL = Binding(
    "escape",
    "cancel_step",
    "Cancel",
    id="restore.cancel",
    tooltip="Ask, then cancel the running step (the run can be resumed at it)",
)
RESTORE_INTERRUPT = Binding(
    "ctrl+c",
    "cancel_step",
    "Cancel",
    id="restore.interrupt",
    show=False,
    tooltip="Ask, then cancel the running step (like Esc)",
)
RESTORE_BACK = Binding(
    "escape",
    "back",
    "Back",
    id="restore.back",
    tooltip="Back to the welcome screen; the run waits there to be resumed",
)
RESTORE_QUIT = Binding(
    "q",
    "request_quit",
    "Quit",
    id="restore.quit",
    show=False,
    tooltip="Leave syncwizard; while a step runs, ask first and cancel it cleanly",
)
RESTORE_FULL_LOG = Binding(
    "f", "toggle_full_log", "Log", id="restore.full_log", tooltip="The log on the whole screen"
)
RESTORE_EVENTS = Binding(
    "e",
    "toggle_events",
    "Events",
    id="restore.events",
    tooltip="The archived pending events on the whole screen, and back",
)
RESTORE_END_CLEAR = Binding(
    "x",
    "end_clear",
    "End the clear",
    id="restore.end_clear",
    tooltip="While events still arrive: stop taking them into the archive; what arrives "
    "after stays pending",
)
RESTORE_SUMMARY = Binding(
    "s", "show_summary", "Summary", id="restore.summary", tooltip="Show what the restore did"
)
RESTORE_SUMMARY_COPY = Binding(
    "c",
    "copy_report_path",
    "Copy path",
    id="restore_summary.copy_path",
    tooltip="Copy the report's path to the clipboard (OSC 52, works over SSH)",
)
RESTORE_SUMMARY_BACK = Binding(
    "escape",
    "back",
    "Back",
    id="restore_summary.back",
    tooltip="Back to the restore's steps and log",
)
RESTORE_SUMMARY_DONE = Binding(
    "w", "welcome", "Welcome", id="restore_summary.welcome", tooltip="Back to the welcome screen"
)
CREDENTIALS_CANCEL = Binding(
    "escape", "cancel", "Cancel", id="credentials.cancel", tooltip="Do not start; nothing is done"
)
ATTEST_CANCEL = Binding(
    "escape", "cancel", "Cancel", id="attest.cancel", tooltip="Do not start the backup"
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
    DASHBOARD_BACKUP,
    DASHBOARD_RESTORE,
    CLOSE_HELP,
    WELCOME_BACKUP,
    BACKUP_CANCEL,
    BACKUP_INTERRUPT,
    BACKUP_BACK,
    BACKUP_QUIT,
    BACKUP_FULL_LOG,
    BACKUP_RESUME,
    BACKUP_AFRESH,
    BACKUP_SUMMARY,
    SUMMARY_COPY_PATH,
    SUMMARY_BACK,
    SUMMARY_DONE,
    CANCEL_NO,
    CANCEL_YES,
    GATE_REFUSE,
    RESUME_RUN,
    RESUME_AFRESH,
    RESUME_CANCEL,
    WELCOME_RESTORE,
    SETS_CHOOSE,
    SETS_BACK,
    RESTORE_RUN,
    RESTORE_RETRY,
    RESTORE_CANCEL,
    RESTORE_INTERRUPT,
    RESTORE_BACK,
    RESTORE_QUIT,
    RESTORE_FULL_LOG,
    RESTORE_EVENTS,
    RESTORE_END_CLEAR,
    RESTORE_SUMMARY,
    RESTORE_SUMMARY_COPY,
    RESTORE_SUMMARY_BACK,
    RESTORE_SUMMARY_DONE,
    CREDENTIALS_CANCEL,
    ATTEST_CANCEL,
)
IDS = frozenset(binding.id for binding in ALL if binding.id)
