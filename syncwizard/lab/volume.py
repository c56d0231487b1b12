"""A small backup volume for a scenario: a tmpfs of a few MiB mounted on a folder of the lab,
so a backup fills it for real (pg_dump meets ENOSPC, as on a full disk), and `lab reset` or
`lab down` unmounts it. Mounting needs root; the lab refuses plainly otherwise.

The mount points are kept in `volumes.json` under the lab, so what was mounted is what is
unmounted, even by another process (`train run` mounts, `lab reset` unmounts).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from syncwizard.errors import SyncWizardError
from syncwizard.lab.layout import LabLayout

BALLAST_CHUNK = 1 << 20


def _record(layout: LabLayout) -> Path:
    return layout.root / "volumes.json"


def mounted(layout: LabLayout) -> list[Path]:
    """The lab's scenario volumes, as recorded."""
    path = _record(layout)
    if not path.exists():
        return []
    return [Path(p) for p in json.loads(path.read_text(encoding="utf-8"))]


def _write(layout: LabLayout, points: list[Path]) -> None:
    path = _record(layout)
    if not points:
        path.unlink(missing_ok=True)
        return
    path.write_text(json.dumps([str(p) for p in points]), encoding="utf-8")


def is_mount_point(path: Path) -> bool:
    wanted = str(path.resolve())
    with open("/proc/self/mounts", encoding="utf-8") as mounts:
        return any(line.split()[1] == wanted for line in mounts if len(line.split()) > 1)


def _run(argv: list[str], what: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SyncWizardError(
            f"{what} failed: {(done.stderr or done.stdout).strip() or f'exit {done.returncode}'}",
            hint="`mount | grep tmpfs` shows what is mounted; `syncwizard lab reset` unmounts "
            "the lab's scenario volumes",
            system="lab",
        )


def mount_small(layout: LabLayout, where: Path, size_mib: int) -> None:
    """Mount a tmpfs of `size_mib` MiB on `where` (a folder under the lab, emptied: what it
    held is hidden until the unmount). Refused when not root or outside the lab."""
    if os.geteuid() != 0:
        raise SyncWizardError(
            f"a small backup volume is mounted for this scenario (a tmpfs of {size_mib} MiB "
            f"on {where}), which needs root; this process runs as uid {os.geteuid()}",
            hint="run `syncwizard train run` as root on the practice machine, or play "
            "another scenario",
            system="lab",
        )
    root = layout.root.resolve()
    target = where.resolve()
    if root not in target.parents:
        raise SyncWizardError(
            f"the scenario's backup volume {where} is not under the lab ({layout.root})",
            hint="set backup.dir of the lab profile to a folder under the lab "
            f"(`syncwizard lab up` writes {layout.root / 'backups'})",
            system="lab",
        )
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not is_mount_point(target):
        _run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_mib}m,mode=0700", "tmpfs", str(target)],
            f"mounting a {size_mib} MiB tmpfs on {target}",
        )
    points = mounted(layout)
    if target not in points:
        _write(layout, [*points, target])


def unmount_all(layout: LabLayout) -> list[Path]:
    """Unmount every scenario volume of the lab; the ones unmounted."""
    done = []
    for point in mounted(layout):
        if point.exists() and is_mount_point(point):
            _run(["umount", str(point)], f"unmounting the scenario volume {point}")
            done.append(point)
    _write(layout, [])
    return done


def fill(path: Path) -> int:
    """Write `path` until its file system is full (ENOSPC); the bytes written. The ballast
    a scenario drops on a small volume: an old set, a core dump."""
    written = 0
    chunk = b"\0" * BALLAST_CHUNK
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        size = len(chunk)
        while size:
            try:
                written += os.write(fd, chunk[:size])
            except OSError:  # ENOSPC (or a quota): full; smaller writes fill the rest
                size //= 2
    finally:
        os.close(fd)
    return written
