"""The restore runbook's names, said once: step ids (the journal keeps them; the TUI keys its
texts on them), titles and whys, the databases' labels, and what its gates and screens share."""

from __future__ import annotations

RUNBOOK = "restore"  # the journal's name of the runbook

VERIFY = "verify_set"
PREFLIGHT = "preflight"
STOP = "stop_services"
QUIET = "check_quiet"
CLEAR = "clear_events"
ORPHANS = "clear_orphans"
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
# How a sentence names each database.
LABELS = {"repository_db": "repository DB", "sync_db": "Sync DB"}

TITLES = {
    VERIFY: "Verify the backup set",
    PREFLIGHT: "Preflight",
    STOP: "Stop the Sync Service and the repository",
    QUIET: "Check that nothing still arrives",
    CLEAR: "Clear the undelivered events",
    ORPHANS: "Clear orphaned queues (optional)",
    RESTORE_REPOSITORY: "Restore the repository DB",
    SWAP_REPOSITORY: "Put the restored repository DB in place",
    RESTORE_SYNC: "Restore the Sync DB",
    SWAP_SYNC: "Put the restored Sync DB in place",
    START_REPOSITORY: "Start the repository",
    RECOVER: "Start the Sync Service with -Drecover",
    PLAIN_RESTART: "Restart without recover",
    REPORT: "Summary and report",
}

WHY = {
    VERIFY: (
        "Every file's size and sha256 against the manifest, each dump read "
        "(pg_restore --list; a MySQL/MariaDB dump's rows counted), and the procedure's "
        "order: the Sync DB dump taken after the repository's. Nothing is touched "
        "before the set is known good."
    ),
    PREFLIGHT: (
        "Every system answers, the sync GUID and its queue are known, the target "
        "databases, who is connected to them, and whether the server has room for a "
        "restored copy beside the current one. Nothing is changed."
    ),
    STOP: (
        "Recommended: a live Sync consumer would take events the archive never sees "
        "(up to 3000 prefetched at a time), and a live repository keeps producing new "
        "ones. Both must be quiet while the queue and the databases are replaced."
    ),
    QUIET: (
        "Events that still arrive while the queue is cleared belong to a repository "
        "that keeps changing under the restore. The topic's and queue's enqueue "
        "counters must stand still for a few seconds; if they move, the repository is "
        "still producing: stop it, wait, or go on knowingly."
    ),
    CLEAR: (
        "The procedure's first restore step: the events still in the queue were "
        "produced after the backup and the restored databases will not know them. Each "
        "is taken off the queue only once it is on disk in the run's archive, however "
        "many there are; -Drecover reconciles what they told."
    ),
    ORPHANS: (
        "Another Consumer.* queue of the topic that nobody consumes (an installation "
        "that is gone) keeps a copy of every event until the broker's flow control "
        "blocks the repository. Each one is offered behind its own gate; declining "
        "leaves it. A cleared one is archived like the sync queue: nothing is lost."
    ),
    RESTORE_REPOSITORY: (
        "Into a scratch database on the same server, verified table by table "
        "against the manifest's row counts. The current database is not touched."
    ),
    SWAP_REPOSITORY: (
        "Connections are ended and, in one atomic step, the current database is put "
        "aside and the verified copy takes its place (PostgreSQL: two renames in one "
        "transaction; MySQL/MariaDB: one RENAME TABLE statement): the live name is "
        "always either the old database or the whole new one."
    ),
    RESTORE_SYNC: (
        "After the repository, as the procedure says; into a scratch database, "
        "verified against the manifest."
    ),
    SWAP_SYNC: (
        "As for the repository: in one atomic step the current database goes aside "
        "and the verified copy into its place."
    ),
    START_REPOSITORY: (
        "-Drecover makes the Sync Service reconcile with the repository at "
        "bootstrap, with the repository admin's credentials: the repository must be "
        "running on its restored database, and answering, before that start."
    ),
    RECOVER: (
        "Once, with -Drecover=<repo admin>:<password>: the Sync Service brings "
        "itself in line with the restored repository during bootstrap, before it "
        "serves requests. The password stays in memory and reaches the start "
        "command only in $SYNCWIZARD_RECOVER_OPTION."
    ),
    PLAIN_RESTART: (
        "-Drecover is for one start. If the start configuration keeps options, a "
        "plain restart proves the service comes up without it."
    ),
    REPORT: (
        "A Markdown report of the run for the change ticket: timeline, the events "
        "archived, removed, given up and still pending, where the archive is, sizes, "
        "checksums, what -Drecover did, health at the end."
    ),
}

# What deleting the queue (rather than clearing it) costs: said on its gate and its choice.
DELETE_CONSEQUENCE = (
    "Until the Sync Service subscribes again, the virtual topic copies new repository events "
    "to no queue: they are not kept for it. The -Drecover start is what reconciles them. "
    "Every other subscriber of the topic (Search Enterprise live indexing, audit, "
    "extensions) would lose its subscription and backlog: refused unless the sync queue is "
    "the topic's only one."
)

# The clear's gate asks for this many first characters of the sync GUID; the set chooser
# shows as many, so what is typed is what was seen.
GUID_TOKEN_LENGTH = 8
