"""`syncwizard report RUN` of a real backup run against the lab."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from standin_support import restore
from test_backup_support import lab_profile, the_set

from syncwizard.config import broker_password
from syncwizard.lab.layout import LabLayout
from syncwizard.runbook.backup.runbook import BackupOptions, start_backup
from syncwizard.runbook.journal import load_run, runs_dir
from syncwizard.runbook.report import report_for, write_report

pytestmark = pytest.mark.integration


async def test_the_report_of_a_lab_backup_holds_its_set_drain_dumps_and_checksums(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    await restore(lab)
    profile = lab_profile(lab_config, tmp_path / "backups")
    password = broker_password(profile.broker)
    assert password, "the lab profile names a broker password"
    engine = start_backup(
        profile, BackupOptions.from_settings(profile.backup), broker_password=password
    )
    try:
        outcome = await engine.run()
    finally:
        await engine.aclose()
    assert outcome.status == "finished", outcome.error and outcome.error.render()

    record = load_run(runs_dir() / engine.run_id)
    path = write_report(record, secrets=[password])
    report = path.read_text()
    assert path == record.run_dir / "report.md"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert report == report_for(engine.run_id, secrets=[password])

    set_dir = the_set(tmp_path / "backups")
    manifest = json.loads((set_dir / "manifest.json").read_text())
    assert report.startswith(f"# Backup run `{engine.run_id}`: finished\n")
    assert f"- **Set folder:** `{set_dir}`" in report
    assert "- **Drain:** drained at " in report and manifest["wait"]["clause"] in report
    for dump in manifest["dumps"]:
        assert f"| `{dump['path']}` | `{dump['database']}` |" in report
    for entry in manifest["files"]:
        assert f"| `{entry['path']}` | {entry['size']:,} | `{entry['sha256']}` |" in report
    assert password not in report
