"""The restore runbook's step ids (the journal keeps them; the TUI keys its texts on them)."""

from __future__ import annotations

VERIFY = "verify_set"
PREFLIGHT = "preflight"
STOP = "stop_services"
QUIET = "check_quiet"
CLEAR = "clear_events"
RESTORE_REPOSITORY = "restore_repository"
SWAP_REPOSITORY = "swap_repository"
RESTORE_SYNC = "restore_sync"
SWAP_SYNC = "swap_sync"
START_REPOSITORY = "start_repository"
RECOVER = "start_recover"
PLAIN_RESTART = "plain_restart"
REPORT = "report"

# Which database each restore and swap step stands for, and the step that restores it.
ROLE_OF = {
    RESTORE_REPOSITORY: "repository_db",
    SWAP_REPOSITORY: "repository_db",
    RESTORE_SYNC: "sync_db",
    SWAP_SYNC: "sync_db",
}
RESTORE_STEP_OF = {"repository_db": RESTORE_REPOSITORY, "sync_db": RESTORE_SYNC}
SWAP_STEP_OF = {"repository_db": SWAP_REPOSITORY, "sync_db": SWAP_SYNC}

TITLES = {
    VERIFY: "Verify the backup set",
    PREFLIGHT: "Preflight",
    STOP: "Stop the Sync Service and the repository",
    QUIET: "Check that nothing still arrives",
    CLEAR: "Clear the undelivered events",
    RESTORE_REPOSITORY: "Restore the repository DB",
    SWAP_REPOSITORY: "Put the restored repository DB in place",
    RESTORE_SYNC: "Restore the Sync DB",
    SWAP_SYNC: "Put the restored Sync DB in place",
    START_REPOSITORY: "Start the repository",
    RECOVER: "Start the Sync Service with -Drecover",
    PLAIN_RESTART: "Restart without recover",
    REPORT: "Summary and report",
}
