"""The `syncwizard` command: the TUI by default, headless subcommands otherwise.

Exit status of every headless command (README, "Commands"): 0 done or healthy,
1 finished but unhealthy or refused, 2 a system unreachable or bad input,
130 interrupted. Errors are printed as a message and a hint, never a traceback.
When the reader of stdout goes away early (`syncwizard runs | head -1`) a command
stops quietly with 141 (128 + SIGPIPE), as a Unix tool killed by SIGPIPE does; a
headless backup instead goes on without printing (its journal has every line).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from syncwizard import __version__, units
from syncwizard.errors import SyncWizardError

if TYPE_CHECKING:  # imported by the commands that need them, to start quickly
    from syncwizard.config import Settings
    from syncwizard.status import StatusReport

EXIT_OK, EXIT_UNHEALTHY, EXIT_BAD, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_STDOUT_CLOSED = 141  # 128 + SIGPIPE, what a shell shows for a tool killed by it


def _common_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument("--profile", default=default, help="the profile to use")
    parser.add_argument(
        "--config", type=Path, default=default, help="the config file (default: user config dir)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="syncwizard",
        description="Back up and restore the Alfresco Sync Service, guided step by step.",
    )
    parser.add_argument("--version", action="version", version=f"syncwizard {__version__}")
    _common_options(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help)
        _common_options(sub, suppress=True)
        return sub

    status = command("status", "health, queue counters and databases, once")
    status.add_argument("--json", action="store_true", help="print JSON")

    config = command("config", "write or show the configuration")
    config_commands = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    init = config_commands.add_parser(
        "init",
        help="write a commented template, or a preset's profile (--preset)",
        description="Write a commented template to the config file, or with --preset the "
        "profile of a deployment Alfresco publishes, named after --profile (default prod). "
        "An existing file is never overwritten.",
    )
    _common_options(init, suppress=True)
    _preset_options(init)
    show = config_commands.add_parser("show", help="the resolved profile, secrets masked")
    _common_options(show, suppress=True)
    show.add_argument("--json", action="store_true", help="print JSON")

    lab = command("lab", "the local practice stack")
    lab_commands = lab.add_subparsers(dest="lab_command", metavar="ACTION", required=True)
    up = lab_commands.add_parser("up", help="start the practice stack and write the lab profile")
    _common_options(up, suppress=True)
    up.add_argument(
        "--event2",
        action="store_true",
        help="name the topic alfresco.repo.event2 (Sync 5.x) instead of the legacy name",
    )
    up.add_argument(
        "--shared-db",
        action="store_true",
        help="keep the Sync Service's tables in the repository database (compose's layout)",
    )
    up.add_argument(
        "--like",
        choices=("classic", "current"),
        default=None,
        help="what the lab models: current = today's hardened deployments (no STOMP, "
        "Jolokia denies purge, health over HTTP); classic = the original lab. "
        "Default: the flavour it was brought up as (classic if new)",
    )
    up.add_argument(
        "--db",
        choices=("postgres", "mariadb"),
        default=None,
        help="mariadb: also run a MariaDB (Debian's mariadb-server) with the same sample "
        "databases, beside the PostgreSQL the stand-ins use. Default: as it was brought up",
    )
    up.add_argument(
        "--produce",
        type=float,
        default=0.5,
        metavar="RATE",
        help="events a second the repository stand-in makes in the background (0.5; 0 = none)",
    )
    produce = lab_commands.add_parser(
        "produce", help="change how many events a second the repository stand-in makes"
    )
    _common_options(produce, suppress=True)
    produce.add_argument("--rate", type=float, required=True, help="events per second (0 stops)")
    down = lab_commands.add_parser("down", help="stop the lab's processes (data is kept)")
    reset = lab_commands.add_parser(
        "reset", help="the lab's initial data again (databases, queues), nothing reinstalled"
    )
    _common_options(reset, suppress=True)
    _common_options(down, suppress=True)
    lab_status = lab_commands.add_parser("status", help="what runs where, and the drift")
    _common_options(lab_status, suppress=True)
    lab_status.add_argument("--json", action="store_true", help="print JSON")
    generate = lab_commands.add_parser("generate", help="add nodes and publish their events")
    _common_options(generate, suppress=True)
    generate.add_argument("--rate", type=float, default=20.0, help="events per second")
    generate.add_argument(
        "--for", dest="duration", type=_duration, default=10.0, help="how long, e.g. 30s or 2m"
    )
    generate.add_argument(
        "--backlog",
        type=int,
        metavar="N",
        help="N changes at once, their N events published as fast as the broker takes them "
        "(a weekend's backlog: stop the Sync Service first)",
    )

    train = command("train", "practise on the lab: scenarios graded from the real wizard's run")
    train_commands = train.add_subparsers(dest="train_command", metavar="ACTION")
    for action, help_text in (
        ("run", "reset the lab, set up a scenario, then watch the wizard's run and grade it"),
        ("grade", "grade the latest run of a scenario"),
    ):
        sub = train_commands.add_parser(action, help=help_text)
        _common_options(sub, suppress=True)
        sub.add_argument("scenario", help="the scenario's id (`syncwizard train` lists them)")
    train_report = train_commands.add_parser("report", help="write the trainer's Markdown report")
    _common_options(train_report, suppress=True)
    train_report.add_argument("--output", type=Path, help="where (default: the state folder)")

    backup = command("backup", "take a backup set headless (resumes an unfinished run)")
    backup.add_argument("--yes", action="store_true", help="run without prompts (for cron)")
    backup.add_argument("--json", action="store_true", help="print JSON lines")
    backup.add_argument("--new", action="store_true", help="start a fresh run, not a resume")
    backup.add_argument("--verbose", action="store_true", help="also print pg_dump's lines")
    backup.add_argument("--format", choices=("directory", "custom"), help="pg_dump format")
    backup.add_argument("--jobs", type=int, help="pg_dump parallel jobs (directory format)")
    backup.add_argument("--compress", help="gzip level 0-9 (default 1)")
    backup.add_argument(
        "--wait", dest="wait_mode", choices=("drain", "countdown"), help="how to wait for Sync"
    )
    backup.add_argument("--countdown", type=_duration, help="the countdown, e.g. 2m")
    backup.add_argument(
        "--drain-timeout", dest="timeout", type=_duration, help="give up waiting after, e.g. 30m"
    )
    backup.add_argument(
        "--external-repository-backup",
        metavar="SNAPSHOT_TIME",
        help="the repository DB was backed up by other tools; its snapshot time, ISO 8601 "
        "with offset (e.g. 2026-11-26T03:00:00+01:00)",
    )

    verify = command("verify", "re-check a sealed backup set (checksums, dumps, manifest)")
    verify.add_argument("path", type=Path, help="the backup set folder")
    verify.add_argument("--json", action="store_true", help="print JSON")

    runs = command("runs", "list the runs and whether they can be resumed")
    runs.add_argument("--json", action="store_true", help="print JSON")

    restore = command(
        "restore", "restore runs in the TUI only; --plan prints what it would do for a set"
    )
    restore.add_argument("--plan", action="store_true", help="print the plan, touch nothing")
    restore.add_argument(
        "set", nargs="?", help="a backup set folder or run id (default: the newest sealed set)"
    )

    report = command("report", "a run as Markdown, for the change ticket")
    report.add_argument("run", help="a run id (`syncwizard runs`) or a run folder")
    report.add_argument("--output", type=Path, help="write it to this file (0600) too")
    return parser


# Each preset parameter's help (tests/unit/test_presets.py: one for every option a preset
# takes).
PRESET_HELP = {
    "unit": "systemd: the Sync Service's unit (alfresco-sync)",
    "repository_unit": "systemd: the repository's unit (alfresco-content)",
    "java_opts": "systemd: the JAVA_OPTS the unit always has (-Xms512m -Xmx2g)",
    "db_host": "systemd, zip: the database server (localhost)",
    "activemq_home": "systemd, zip: ActiveMQ's folder, for broker.cli",
    "install_dir": "zip: where syncservice.sh is (/opt/alfresco-sync-service)",
    "compose_dir": "compose: the compose file's folder (the current one)",
    "compose_file": "compose: its name (compose.yaml)",
    "service": "compose: the Sync Service's service (sync-service)",
    "release": "helm: the release name (acs)",
    "namespace": "helm: the namespace (alfresco)",
    "replicas": "helm: the Sync Service's replicas after the recover (1)",
    "repository_replicas": "helm: the repository's replicas when started (1)",
    "ingress_url": "helm: the ingress, http(s)://host (http://localhost)",
}


def _preset_options(init: argparse.ArgumentParser) -> None:
    init.add_argument(
        "--preset",
        choices=("systemd", "zip", "compose", "helm"),
        help="systemd (Ansible's unit), zip (syncservice.sh), compose (Docker Compose), "
        "helm (Kubernetes)",
    )
    for name, text in PRESET_HELP.items():
        kind = int if name.endswith("replicas") else str
        init.add_argument("--" + name.replace("_", "-"), dest=name, type=kind, help=text)


def _duration(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        if text and text[-1] in units:
            return float(text[:-1]) * units[text[-1]]
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration: write e.g. 30s, 2m or 45"
        ) from None


def _load(args: argparse.Namespace) -> Settings:
    from syncwizard.config import load_settings

    return load_settings(args.config, args.profile)


def cmd_status(args: argparse.Namespace) -> int:
    from syncwizard.config import broker_password
    from syncwizard.status import StatusPoller

    settings = _load(args)

    async def once() -> StatusReport:
        poller = StatusPoller(settings.profile, broker_password(settings.profile.broker))
        try:
            return await poller.poll()
        finally:
            await poller.aclose()

    report = asyncio.run(once())
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        from syncwizard.status_text import render_status

        print(render_status(report))
    if report.errors:
        return EXIT_BAD
    return EXIT_OK if report.healthy else EXIT_UNHEALTHY


def cmd_config(args: argparse.Namespace) -> int:
    from syncwizard import paths

    if args.config_command == "init":
        from syncwizard.config_file import init_config

        path = args.config or paths.config_file()
        if args.preset:
            return _init_preset(args, path)
        _refuse_preset_options(args)
        init_config(path)
        print(f"wrote a commented template to {path}: edit the prod profile, then run")
        print("  syncwizard config show")
        return EXIT_OK
    from syncwizard.config import describe

    data = describe(_load(args))
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print(f"# {data.pop('config_path')}  (profile {data.pop('profile')})")
        for section, values in data.items():
            if isinstance(values, dict):
                print(f"[{section}]")
                for key, value in values.items():
                    print(f"  {key} = {json.dumps(value)}")
            else:
                print(f"{section} = {json.dumps(values)}")
    return EXIT_OK


def _preset_values(args: argparse.Namespace) -> dict[str, Any]:
    from syncwizard.presets.options import PresetOptions

    return {
        f.name: getattr(args, f.name, None)
        for f in dataclasses.fields(PresetOptions)
        if getattr(args, f.name, None) is not None
    }


def _refuse_preset_options(args: argparse.Namespace) -> None:
    given = _preset_values(args)
    if given:
        option = "--" + next(iter(given)).replace("_", "-")
        raise SyncWizardError(
            f"{option} is an option of a preset, and no --preset was given",
            hint="add --preset systemd|zip|compose|helm, or leave the option out",
            system="config",
        )


def _init_preset(args: argparse.Namespace, path: Path) -> int:
    from syncwizard.config_file import init_config
    from syncwizard.presets import build
    from syncwizard.presets.model import render
    from syncwizard.presets.options import PresetOptions, check_profile_name

    profile = check_profile_name(args.profile or "prod")
    preset = build(args.preset, PresetOptions(**_preset_values(args)))
    init_config(path, render(preset, profile))
    print(f"wrote the {args.preset} profile {profile!r} to {path}: {preset.title}")
    print("still to do (the file's header says the same):")
    for item in preset.todo:
        print(f"  - {item}")
    print("then check it with: syncwizard config show")
    return EXIT_OK


def cmd_train(args: argparse.Namespace) -> int:
    from syncwizard.train import cli as train_cli

    return train_cli.run(args)


def cmd_lab(args: argparse.Namespace) -> int:
    from syncwizard.lab import cli as lab_cli

    return lab_cli.run(args)


def cmd_backup(args: argparse.Namespace) -> int:
    if not args.yes:
        raise SyncWizardError(
            "`syncwizard backup` runs headless only with --yes (nothing is asked)",
            hint="add --yes (e.g. from cron), or start `syncwizard` for the guided backup",
            system="config",
        )
    from syncwizard.config import broker_password
    from syncwizard.headless import HeadlessPrinter, run_backup
    from syncwizard.runbook.backup.runbook import BackupOptions, parse_attested_time

    settings = _load(args)
    overrides = {
        "format": args.format,
        "jobs": args.jobs,
        "compress": args.compress,
        "wait_mode": args.wait_mode,
        "countdown": args.countdown,
        "timeout": args.timeout,
    }
    if args.external_repository_backup:
        overrides["external_repository_at"] = parse_attested_time(args.external_repository_backup)
    options = BackupOptions.from_settings(settings.profile.backup, **overrides)
    printer = HeadlessPrinter(json_lines=args.json, verbose=args.verbose)
    return asyncio.run(
        run_backup(
            settings.profile,
            options,
            broker_password=broker_password(settings.profile.broker),
            new=args.new,
            printer=printer,
        )
    )


def cmd_verify(args: argparse.Namespace) -> int:
    from syncwizard.runbook.backupset import verify_set

    report = asyncio.run(verify_set(args.path))
    if args.json:
        print(
            json.dumps(
                {
                    "path": str(args.path),
                    "ok": report.ok,
                    "problems": report.problems,
                    "warnings": report.warnings,
                    "files_checked": report.files_checked,
                    "bytes_checked": report.bytes_checked,
                    "run_id": report.manifest.get("run_id"),
                    "sync_id": report.manifest.get("sync_id"),
                },
                indent=2,
            )
        )
    else:
        manifest = report.manifest
        print(
            f"backup set {args.path} (run {manifest.get('run_id')}, {manifest.get('created_at')})"
        )
        print(f"  {report.files_checked} files, {units.size(report.bytes_checked)} checked")
        for warning in report.warnings:
            print(f"  warning: {warning}")
        for problem in report.problems:
            print(f"  PROBLEM: {problem}")
        print("  verified: every checksum, dump and the manifest hold" if report.ok else "  NOT OK")
    return EXIT_OK if report.ok else EXIT_UNHEALTHY


_RESUMABLE = ("failed", "cancelled", "interrupted")


def cmd_runs(args: argparse.Namespace) -> int:
    import time

    from syncwizard.runbook.journal import list_runs

    runs = list_runs()
    rows = [
        {
            "run_id": run.run_id,
            "runbook": run.runbook,
            "status": run.status(),
            "started_at": run.started_at,
            "last_at": run.last_at,
            "stopped_at_step": None if run.finished else run.stopped_at,
            "backup_set": run.header.get("backup_set"),
            "profile": run.header.get("profile"),
            "error": (run.last_error or {}).get("message") if not run.finished else None,
        }
        for run in runs
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    if not rows:
        print("no runs yet")
        return EXIT_OK
    for run, row in zip(runs, rows, strict=True):
        started = time.strftime("%Y-%m-%d %H:%M", time.localtime(run.started_at))
        where = f" at step {row['stopped_at_step']}" if row["stopped_at_step"] else ""
        print(f"{row['run_id']}  {started}  {row['status']}{where}  {row['backup_set'] or ''}")
        if row["error"]:
            print(f"    last error: {row['error']}")
    stopped = {row["runbook"] for row in rows if row["status"] in _RESUMABLE}
    if "backup" in stopped:
        print("`syncwizard backup --yes` resumes the newest unfinished backup (--new: a fresh one)")
    if "restore" in stopped:
        print("start `syncwizard` and choose Restore to resume the unfinished restore")
    return EXIT_OK


def cmd_restore(args: argparse.Namespace) -> int:
    if not args.plan:
        raise SyncWizardError(
            "a restore runs only in the TUI: every destructive step is shown and confirmed "
            "on screen (no --yes)",
            hint="start `syncwizard` and choose Restore; `syncwizard restore --plan [SET]` "
            "prints what it would do",
            system="config",
        )
    from syncwizard.runbook.restore.runbook import describe_plan, resolve_set

    settings = _load(args)
    set_dir = resolve_set(
        Path(settings.profile.backup.dir).expanduser(), args.set, settings.profile
    )
    checked = _refuse_unless_restorable(set_dir)
    print(describe_plan(settings.profile, set_dir))
    print(f"\n{checked}")
    return EXIT_OK


def _refuse_unless_restorable(set_dir: Path) -> str:
    """The checks of the restore's first step (every file, every dump, the procedure's
    order): a plan is printed only for a set a restore would accept. A set that fails them
    is refused (exit 1); one without a readable manifest is bad input (exit 2). Returns
    what was checked, for the plan."""
    from syncwizard.runbook.backupset import verify_set
    from syncwizard.runbook.model import RefusedError
    from syncwizard.runbook.restore.sets import order_problem

    report = asyncio.run(verify_set(set_dir))
    problems = list(report.problems)
    if not problems and (order := order_problem(report.manifest)):
        problems.append(order)
    if problems:
        raise RefusedError(
            f"the backup set {set_dir} fails verification, so a restore would refuse it: "
            + "; ".join(problems),
            hint=f"`syncwizard verify {set_dir}` shows every check; choose another set "
            "(`syncwizard restore --plan SET`), or take a new backup",
            system="backup_dir",
        )
    return (
        f"the set verifies now: {report.files_checked} files, "
        f"{units.size(report.bytes_checked)}, every checksum and dump as its manifest says"
    )


def cmd_report(args: argparse.Namespace) -> int:
    from syncwizard.runbook.report import report_for

    if args.output and args.output.exists():
        raise SyncWizardError(
            f"{args.output} exists already: the report is never written over a file",
            hint="give another --output name, or move that file away",
            system="config",
        )
    text = report_for(args.run)
    if args.output:
        from syncwizard.paths import write_private

        write_private(args.output, text)
    print(text, end="")
    return EXIT_OK


def cmd_tui(args: argparse.Namespace) -> int:
    settings, error = None, None
    try:
        settings = _load(args)
    except SyncWizardError as exc:
        error = exc
    from syncwizard.lab.look import what_runs
    from syncwizard.train.desk import LabDesk
    from syncwizard.tui.app import run_tui

    desk = LabDesk(getattr(args, "config", None))
    return run_tui(settings, error, lab_state=what_runs, practice=desk)


COMMANDS: dict[str | None, Callable[[argparse.Namespace], int]] = {
    None: cmd_tui,
    "status": cmd_status,
    "config": cmd_config,
    "lab": cmd_lab,
    "train": cmd_train,
    "backup": cmd_backup,
    "verify": cmd_verify,
    "runs": cmd_runs,
    "restore": cmd_restore,
    "report": cmd_report,
}


def _drop_stdout() -> None:
    """The reader of stdout went away: what is still buffered goes nowhere, quietly (else
    Python's last flush at exit prints a BrokenPipeError)."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line. None at all, the TUI (the common case), needs no parser: building
    the one of every subcommand is ~3 ms of the first paint."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        return argparse.Namespace(profile=None, config=None, command=None)
    return build_parser().parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        code = COMMANDS[args.command](args)
        sys.stdout.flush()  # a closed pipe shows here, not in Python's flush at exit
        return code
    except BrokenPipeError:
        _drop_stdout()
        return EXIT_STDOUT_CLOSED
    except SyncWizardError as exc:
        # Imported here, not before the TUI's first paint (~3 ms): whoever refused has it.
        from syncwizard.runbook.model import RefusedError

        print(f"syncwizard: {exc.render()}", file=sys.stderr)
        return EXIT_UNHEALTHY if isinstance(exc, RefusedError) else EXIT_BAD
    except KeyboardInterrupt:
        print("syncwizard: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
