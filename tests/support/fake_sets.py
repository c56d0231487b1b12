"""Backup sets on disk for the restore's TUI tests and screenshots, made by the product.

The first set is taken once per process by the real backup runbook over the backup's fake
systems (tests/support/fake_backup.py): real pg_dump archives, sha256 sums and the seal's
manifest. The others are copies of it, as a backup directory holds them after a few
nights: an older sealed set, a set whose Sync DB dump was taken before its repository
dump (written by an older tool), and a backup that never reached its seal.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from unittest import mock

from support.fake_backup import RUN_ID as SET_RUN_ID
from support.fake_backup import FakeBackup
from support.fake_status import T0, CreepingClock, demo_settings

from syncwizard.runbook import backupset
from syncwizard.runbook.backup.options import BackupOptions
from syncwizard.runbook.backup.runbook import start_backup
from syncwizard.runbook.backup.snapshot_dump import iso
from syncwizard.runbook.engine import Engine

DAY = 86_400.0
UNSEALED_RUN_ID = "backup-20260101T030000Z"
OUT_OF_ORDER_RUN_ID = "backup-20251231T000000Z"
OLDER_RUN_ID = "backup-20251230T000000Z"
_templates: dict[bool, Path] = {}


def write_demo_sets(backup_dir: Path, *, shared: bool = False) -> Path:
    """Four sets in `backup_dir` (made if missing), newest first: one never sealed, the
    demo set SET_RUN_ID, one out of order, one older. Returns the demo set's folder."""
    template = _templates.get(shared) or _take_template(shared)
    backup_dir.mkdir(parents=True, exist_ok=True)
    demo = backup_dir / SET_RUN_ID
    if not demo.exists():
        shutil.copytree(template, demo)
    _copy(template, backup_dir / OLDER_RUN_ID, at=T0 - 2 * DAY)
    _copy(template, backup_dir / OUT_OF_ORDER_RUN_ID, at=T0 - DAY, sync_first=True)
    unsealed = backup_dir / UNSEALED_RUN_ID
    if not unsealed.exists():
        shutil.copytree(template, unsealed)
        (unsealed / backupset.MANIFEST_NAME).unlink()
    return demo


def _take_template(shared: bool) -> Path:
    """The demo set, as the real backup runbook writes it over the fake systems."""
    home = Path(tempfile.mkdtemp(prefix="syncwizard-sets-"))
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    fake = FakeBackup(demo_settings(), home / "sets", run_id=SET_RUN_ID, shared=shared)
    profile = fake.profile()
    saved = os.environ.get("SYNCWIZARD_STATE_DIR")
    os.environ["SYNCWIZARD_STATE_DIR"] = str(home / "state")  # its journal stays out of sight
    try:
        with mock.patch.object(time, "time", CreepingClock(T0 + 100)):
            engine = start_backup(
                profile,
                BackupOptions.from_settings(profile.backup),
                broker_password="fake-broker-password",
                systems=fake.systems(profile, None),
                run_id=SET_RUN_ID,
            )
            # In a thread of its own: a test may be inside an event loop already.
            with ThreadPoolExecutor(1) as pool:
                outcome = pool.submit(asyncio.run, _run(engine)).result()
    finally:
        if saved is None:
            del os.environ["SYNCWIZARD_STATE_DIR"]
        else:
            os.environ["SYNCWIZARD_STATE_DIR"] = saved
    template = home / "sets" / SET_RUN_ID
    if outcome != "finished":
        raise RuntimeError(f"the demo backup did not finish ({outcome}): see {home}")
    _templates[shared] = template
    return template


async def _run(engine: Engine) -> str:
    try:
        return (await engine.run()).status
    finally:
        await engine.aclose()


def _copy(template: Path, target: Path, *, at: float, sync_first: bool = False) -> None:
    """A copy of the demo set as if taken at `at`; its Sync DB dump before the repository's
    with `sync_first` (a set an older syncwizard sealed without checking the order)."""
    if target.exists():
        return
    shutil.copytree(template, target)
    path = target / backupset.MANIFEST_NAME
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["run_id"] = target.name
    manifest["created_at"] = iso(at + 109)
    for dump in manifest["dumps"]:
        later = "sync_db" in dump["roles"] and not sync_first
        dump["snapshot_at_iso"] = iso(at + (95 if later else 3))
    if sync_first:
        for dump in manifest["dumps"]:
            if dump["roles"] == ["repository_db"]:
                dump["snapshot_at_iso"] = iso(at + 95)
    path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")


__all__ = [
    "OLDER_RUN_ID",
    "OUT_OF_ORDER_RUN_ID",
    "SET_RUN_ID",
    "UNSEALED_RUN_ID",
    "write_demo_sets",
]
