"""`syncwizard lab up | down | status | generate`."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import replace

from syncwizard import paths
from syncwizard.lab import stack
from syncwizard.lab.layout import LabLayout, read_settings, write_settings


def run(args: argparse.Namespace) -> int:
    layout = stack.default_layout()
    action = {
        "up": _up,
        "down": _down,
        "reset": _reset,
        "status": _status,
        "generate": _generate,
        "produce": _produce,
    }
    return action[args.lab_command](layout, args)


def _up(layout: LabLayout, args: argparse.Namespace) -> int:
    started = time.monotonic()
    if args.produce < 0:
        print(f"lab up --produce {args.produce:g}: expected 0 or more events a second")
        return 2
    like = getattr(args, "like", None)
    settings = stack.up(
        layout,
        event2=args.event2,
        produce_rate=args.produce,
        shared_db=args.shared_db,
        flavour=like,
        db=getattr(args, "db", None),
    )
    config_path = args.config or paths.config_file()
    stack.write_lab_profile(layout, config_path, settings.topic, settings.flavour)
    print(
        f"practice lab ({settings.flavour}) ready in {time.monotonic() - started:.1f} s "
        f"(under {layout.root})"
    )
    for part in stack.parts(layout):
        print(f"  {part.name:<10} {'running' if part.running else 'STOPPED':<8} {part.where}")
    print(f"  topic     {settings.topic}")
    if settings.shared_db:
        print("  Sync DB   its tables live in the repository database (compose's layout)")
    print(f"  events    the repository stand-in makes {settings.produce_rate:g} a second")
    if settings.db == "mariadb":
        from syncwizard.lab import mariadb

        for role, where in mariadb.connection_settings(layout).items():
            print(
                f"  MariaDB   {role}: {where['database']} as {where['user']} on "
                f"{where['host']}:{where['port']}, password in {where['password_file']}"
            )
        stack.write_mariadb_profile(layout, config_path, settings.topic, settings.flavour)
        print(
            f"            (settings in {mariadb.connection_file(layout)}; the stand-ins keep "
            "PostgreSQL)"
        )
        print(
            f"profile {stack.MARIADB_PROFILE_NAME!r} written to {config_path}: both databases "
            "on the lab's MariaDB (backup and restore)"
        )
    print(f"profile {stack.PROFILE_NAME!r} written to {config_path}")
    print("next: syncwizard --profile lab        (the wizard)")
    print("      syncwizard lab generate --rate 50 --for 30s   (events that move the counters)")
    return 0


def _down(layout: LabLayout, args: argparse.Namespace) -> int:
    stopped = stack.down(layout)
    print(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")
    print(f"data kept under {layout.root}; `syncwizard lab up` starts it again")
    return 0


def _reset(layout: LabLayout, args: argparse.Namespace) -> int:
    from syncwizard.lab.reset import reset

    report = reset(layout)
    for sentence in report.done:
        print(f"  {sentence}")
    print(f"practice lab reset in {report.seconds:.1f} s (under {layout.root})")
    return 0


def _status(layout: LabLayout, args: argparse.Namespace) -> int:
    from syncwizard.lab import postgres

    if not layout.settings_file.exists():
        print(f"no practice lab under {layout.root}: run `syncwizard lab up`")
        return 1
    from syncwizard.lab import repository_control

    parts = stack.parts(layout)
    drift = postgres.node_drift(layout) if parts[0].running else None
    settings = read_settings(layout)
    data = {
        "root": str(layout.root),
        "topic": settings.topic,
        "flavour": settings.flavour,
        "parts": [{"name": p.name, "running": p.running, "where": p.where} for p in parts],
        "drift": None if drift is None else {"missing": drift.missing, "extra": drift.extra},
        "produce_rate": settings.produce_rate,
        "produced": repository_control.produced(layout),
    }
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print(f"practice lab ({settings.flavour}) under {layout.root}, topic {data['topic']}")
        for part in parts:
            print(f"  {part.name:<10} {'running' if part.running else 'stopped':<8} {part.where}")
        produced = data["produced"]
        print(
            f"  events     the repository makes {settings.produce_rate:g} a second"
            + ("" if produced is None else f" ({produced:,} since it started)")
        )
        if drift is None:
            print("  drift      unknown (PostgreSQL is not running)")
        else:
            print(f"  drift      {drift.sentence}")
    return 0 if all(p.running for p in parts) else 1


def _generate(layout: LabLayout, args: argparse.Namespace) -> int:
    if args.backlog is not None:
        return _backlog(layout, args.backlog)
    from syncwizard.lab.generator import generate

    last = [0.0]

    def progress(count: int) -> None:
        now = time.monotonic()
        if now - last[0] >= 1.0:
            last[0] = now
            print(f"  {count} events published", flush=True)

    count = asyncio.run(
        generate(layout, rate=args.rate, duration=args.duration, on_progress=progress)
    )
    print(f"published {count} events at {args.rate:g}/s")
    return 0


def _backlog(layout: LabLayout, count: int) -> int:
    from syncwizard.lab import standin
    from syncwizard.lab.backlog import make_backlog

    last = [time.monotonic()]

    def progress(done: int) -> None:
        now = time.monotonic()
        if now - last[0] >= 1.0:
            last[0] = now
            print(f"  {done:,} events published", flush=True)

    made = asyncio.run(make_backlog(layout, count, on_progress=progress))
    print(
        f"{made.events:,} events published in {made.seconds:.1f} s "
        f"({made.rate:,.0f}/s; their changes committed in batches first)"
    )
    if standin.is_running(layout):
        print("the Sync Service stand-in is running: it consumes them now")
    else:
        print("the Sync Service stand-in is stopped: they wait on its queue")
    return 0


def _produce(layout: LabLayout, args: argparse.Namespace) -> int:
    from syncwizard.errors import SyncWizardError
    from syncwizard.lab import repository_control

    if args.rate < 0:
        print(f"lab produce --rate {args.rate:g}: expected 0 or more events a second")
        return 2
    try:
        rate = repository_control.set_rate(layout, args.rate)
    except SyncWizardError as exc:
        print(exc.render())
        return 2
    # Kept in lab.json, so the stand-in makes as many after a restart (a restore starts it).
    write_settings(layout, replace(read_settings(layout), produce_rate=rate))
    print(f"the repository stand-in now makes {rate:g} events a second")
    return 0
