"""The backup runbook's names, said once: its own and its steps' ids (the journal keeps
them) and the steps' titles (the wizard and the report show them)."""

from __future__ import annotations

RUNBOOK = "backup"  # the journal's name of the runbook

PREFLIGHT = "preflight"
REPOSITORY = "repository_db"
WAIT = "wait_drain"
SYNC = "sync_db"
SEAL = "seal"

TITLES = {
    PREFLIGHT: "Preflight",
    REPOSITORY: "Repository DB backup",
    WAIT: "Wait for the Sync Service to track it",
    SYNC: "Sync DB backup",
    SEAL: "Verify and seal",
}
# Added to the repository step's title when the admin attests it was backed up elsewhere.
EXTERNAL_SUFFIX = " (done externally)"
