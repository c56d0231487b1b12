"""The backup runbook's step ids (the journal keeps them) and titles (the wizard and the
report show them)."""

from __future__ import annotations

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
