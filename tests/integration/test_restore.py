"""The restore runbook end to end against the real lab: a backup, more changes after it,
a stopped consumer with events piling up, then the restore, step by step."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import psycopg
import pytest
from standin_support import admin_password, eventually, pending, restore, sync_queue
from test_backup_support import lab_profile, the_set

from syncwizard.config import broker_password
from syncwizard.lab import postgres, repository_control, standin
from syncwizard.lab.generator import generate
from syncwizard.lab.layout import LabLayout
from syncwizard.runbook.backup.runbook import BackupOptions, start_backup
from syncwizard.runbook.journal import load_run
from syncwizard.runbook.model import EventKind, Gate, StepEvent, StepState
from syncwizard.runbook.restore.runbook import RestoreChoices, start_restore

pytestmark = pytest.mark.integration


async def take_backup(lab_config: Path, backup_dir: Path) -> Path:
    profile = lab_profile(lab_config, backup_dir)
    engine = start_backup(
        profile,
        BackupOptions.from_settings(profile.backup),
        broker_password=broker_password(profile.broker),
    )
    try:
        outcome = await engine.run()
    finally:
        await engine.aclose()
    assert outcome.status == "finished", outcome.error and outcome.error.render()
    return the_set(backup_dir)


def counts(lab: LabLayout, dbname: str, tables: list[str]) -> dict[str, int]:
    with psycopg.connect(postgres.superuser_conninfo(lab, dbname)) as conn:
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
            for table in tables
        }


def command_lines() -> list[str]:
    """Every process's command line, as `ps` shows them."""
    lines = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            lines.append(cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue  # gone meanwhile
    return lines


class ProcessTableWatch:
    """Reads every command line many times while the recover start runs."""

    def __init__(self) -> None:
        self.task: asyncio.Task[None] | None = None
        self.seen: list[str] = []
        self.looks = 0

    def observe(self, event: StepEvent) -> None:
        if event.step_id != "start_recover" or event.kind != EventKind.STATE:
            return
        if event.state == StepState.RUNNING:
            self.task = asyncio.get_running_loop().create_task(self._watch())
        elif self.task is not None:
            self.task.cancel()

    async def _watch(self) -> None:
        while True:
            self.seen += await asyncio.to_thread(command_lines)
            self.looks += 1
            await asyncio.sleep(0.02)


def databases(lab: LabLayout) -> set[str]:
    with psycopg.connect(postgres.superuser_conninfo(lab)) as conn:
        return {row[0] for row in conn.execute("SELECT datname FROM pg_database")}


async def test_a_whole_restore_empties_the_queue_into_its_archive_and_recovers_in_sync(
    lab: LabLayout, lab_config: Path, tmp_path: Path
) -> None:
    await restore(lab)
    backup_dir = tmp_path / "backups"
    repository_control.set_rate(lab, 20)  # the repository in use while the backup is taken
    try:
        set_dir = await take_backup(lab_config, backup_dir)
    finally:
        repository_control.set_rate(lab, 0)
    manifest = json.loads((set_dir / "manifest.json").read_text())
    await generate(lab, rate=50, duration=2, seed=11)  # changes after the backup ...
    standin.stop(lab)
    piled_up = await generate(lab, rate=100, duration=3, seed=12)  # ... and events piling up
    await eventually(lambda: pending(lab), "events pending on the stopped consumer's queue")
    pending_before = await pending(lab)
    assert pending_before >= piled_up > 0

    # What a preset writes for the recover gate (config init --preset), set from the
    # environment as an admin could.
    visible = "the stand-in's environment (/proc/<pid>/environ), until the plain restart"
    caution = "Nothing kills the stand-in while it recovers."
    profile = lab_profile(
        lab_config,
        backup_dir,
        SYNCWIZARD_SYNC_SERVICE__RECOVER_OPTION_VISIBLE_IN=visible,
        SYNCWIZARD_SYNC_SERVICE__RECOVER_CAUTION=caution,
    )
    choices = RestoreChoices(events_action="clear", plain_restart=False)
    gates: list[Gate] = []
    events: list[StepEvent] = []
    process_table = ProcessTableWatch()

    async def confirm(gate: Gate) -> bool:
        gates.append(gate)
        return True

    engine = start_restore(
        profile,
        set_dir,
        choices,
        broker_password=broker_password(profile.broker),
        observers=[events.append, process_table.observe],
        confirm=confirm,
    )
    try:
        for step_id in ("verify_set", "preflight", "stop_services", "check_quiet", "clear_events"):
            assert await engine.run_step(step_id) == StepState.DONE, engine.errors.get(step_id)
        cleared = engine.results["clear_events"]
        assert cleared["archived"] == cleared["removed"] == pending_before
        assert cleared["counts_agree"] and cleared["complete"] and cleared["given_up"] == 0
        assert await pending(lab) == 0
        choices.recover_user, choices.recover_password = "admin", admin_password(lab)
        outcome = await engine.run()
    finally:
        await engine.aclose()
    assert outcome.status == "finished", outcome.error and outcome.error.render()

    # the queue is empty and its events are in the archive
    assert await pending(lab) == 0
    lines = Path(cleared["archive"]).read_text().splitlines()
    assert len(lines) == pending_before
    assert all(
        json.loads(line)["headers"]["destination"].endswith(sync_queue(lab)) for line in lines
    )
    # both databases equal their dumps (the Sync DB as restored, before the recover start)
    repository, sync = manifest["dumps"]
    assert counts(lab, "alfresco", list(repository["row_counts"])) == repository["row_counts"]
    assert engine.results["restore_sync"]["rows"] == sum(sync["row_counts"].values())
    # the stand-in ran its recovery, is healthy, and its Sync DB agrees with the repository
    with psycopg.connect(postgres.superuser_conninfo(lab, "syncservice")) as conn:
        recoveries = conn.execute(
            "SELECT count(*) FROM sync_recovery WHERE finished_at > to_timestamp(%s)",
            (engine.step_times["swap_sync"][1],),
        ).fetchone()[0]  # type: ignore[index]
    assert recoveries >= 1
    assert postgres.node_drift(lab).in_sync
    recovered = engine.results["start_recover"]
    assert recovered["consumers"] >= 1
    # what -Drecover did, measured by the lab and told by the stand-in's log
    assert recovered["drift_before"].startswith("the Sync DB lacks ")
    assert recovered["drift_before"] != recovered["drift_after"]
    assert (
        recovered["drift_after"]
        == "the Sync DB lacks 0 node(s) of the repository DB and has 0 it should not"
    )
    assert any("recover done" in line for line in recovered["log_lines"])

    # every gate said what it destroys; the old databases wait aside for the admin
    tokens = [gate.token for gate in gates]
    assert tokens == [
        "stop",
        manifest["sync_id"][:8],
        "alfresco",
        "syncservice",
        "restored",  # the content store and the search index, before the repository starts
        "recover",
    ]
    clear_gate = gates[1]
    assert (("queue", sync_queue(lab)) in clear_gate.facts) and clear_gate.step
    recover_gate = gates[-1]
    assert ("readable while set", visible) in recover_gate.facts
    assert recover_gate.consequences.endswith(caution)
    aside = {engine.results[s]["aside"] for s in ("swap_repository", "swap_sync")}
    assert aside <= databases(lab) and len(aside) == 2
    # the report tells it, and no password is anywhere in the run folder
    report = Path(engine.results["report"]["report"]).read_text()
    assert cleared["archive"] in report and "**Complete:** yes" in report
    # the repository was stopped for the restore and started before the recover start
    assert engine.results["start_repository"]["started"]
    repository_started = engine.step_times["start_repository"][1]
    assert repository_started is not None
    assert repository_started <= engine.step_times["start_recover"][0]
    run = load_run(Path(engine.journal.run_dir))
    assert run.outcome == "finished"
    secret = admin_password(lab)
    for path in [*Path(engine.journal.run_dir).rglob("*"), lab.log_file("standin")]:
        if path.is_file():
            assert secret not in path.read_text(errors="replace"), path
    assert process_table.looks >= 3
    assert any("standin" in line for line in process_table.seen)  # the start was watched
    assert not [line for line in process_table.seen if secret in line]
    await restore(lab)
