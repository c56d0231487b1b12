"""Asked before a running restore step is cancelled (Esc, Ctrl+C, or quitting mid-step).

The backup's ConfirmCancelScreen (a ModalScreen[bool], True cancels, focus on "Keep
going"), worded for a restore step: what stopping it leaves behind.
"""

from __future__ import annotations

from syncwizard.tui.screens.confirm_cancel import ConfirmCancelScreen

CONSEQUENCES = (
    "The running step is stopped and cleans up after itself (a half-restored scratch "
    "database is dropped; the live database is never left half done). The journal says so "
    "and the step can be run again."
)


class RestoreCancelScreen(ConfirmCancelScreen):
    QUESTION = "Cancel this step?"
    QUIT_QUESTION = "Cancel this step and quit?"
    CANCEL_LABEL = "Cancel the step"
    CONSEQUENCES = CONSEQUENCES
