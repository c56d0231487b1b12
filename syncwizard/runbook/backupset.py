"""A backup set: one folder per backup, its dumps and `manifest.json`.

Files are written as `*.partial` and renamed when complete; the manifest is written
last, atomically, so a folder without one is not a backup set. Files are 0600 and
folders 0700. `verify_set` re-checks a sealed set: the manifest, every file's size
and sha256, and `pg_restore --list` on every dump (a MySQL/MariaDB dump, plain SQL, is
read through instead: whole, with the rows recorded when it was taken).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from syncwizard.clients.mysql_rows import DumpReading, read_dump
from syncwizard.clients.pgtools import tool_path
from syncwizard.errors import SyncWizardError
from syncwizard.paths import fsync_dir

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "syncwizard-backup-set"
MANIFEST_VERSION = 1
PARTIAL_SUFFIX = ".partial"
CHUNK = 1 << 20


# --- files --------------------------------------------------------------------------------


def make_private(path: Path) -> None:
    """Folders 0700 and files 0600, `path` and everything under it."""
    if path.is_dir() and not path.is_symlink():
        path.chmod(0o700)
        for root, dirs, files in os.walk(path):
            for name in dirs:
                os.chmod(os.path.join(root, name), 0o700)
            for name in files:
                os.chmod(os.path.join(root, name), 0o600)
    elif path.exists():
        path.chmod(0o600)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class FileEntry:
    path: str  # relative to the set folder, with /
    size: int
    sha256: str

    def as_json(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size, "sha256": self.sha256}


def files_of(set_dir: Path, relative: str) -> list[Path]:
    """The files making up one dump (a file, or every file of a directory-format dump)."""
    target = set_dir / relative
    if target.is_dir():
        return sorted(p for p in target.rglob("*") if p.is_file())
    return [target] if target.is_file() else []


def hash_files(set_dir: Path, relative: str) -> list[FileEntry]:
    """Size and sha256 of every file of one dump (blocking: run it in a thread)."""
    entries = []
    for path in files_of(set_dir, relative):
        entries.append(
            FileEntry(path.relative_to(set_dir).as_posix(), path.stat().st_size, sha256_of(path))
        )
    return entries


def check_files(set_dir: Path, expected: Iterable[dict[str, Any]]) -> list[str]:
    """Problems with files against their recorded size and sha256 (blocking)."""
    problems = []
    for entry in expected:
        path = set_dir / entry["path"]
        if not path.is_file():
            problems.append(f"{entry['path']} is missing")
            continue
        size = path.stat().st_size
        if size != entry["size"]:
            problems.append(f"{entry['path']} is {size:,} bytes, {entry['size']:,} were recorded")
        elif sha256_of(path) != entry["sha256"]:
            problems.append(f"{entry['path']} does not match its recorded sha256")
    return problems


def leftover_partials(set_dir: Path) -> list[Path]:
    return sorted(p for p in set_dir.glob(f"*{PARTIAL_SUFFIX}"))


def write_manifest(set_dir: Path, manifest: dict[str, Any]) -> Path:
    """Write `manifest.json` atomically: `manifest.json.partial`, fsync, rename, fsync."""
    target = set_dir / MANIFEST_NAME
    partial = set_dir / (MANIFEST_NAME + PARTIAL_SUFFIX)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=2, sort_keys=False)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, target)
    fsync_dir(set_dir)
    return target


# --- pg_restore --list -------------------------------------------------------------------


@dataclass(frozen=True)
class TocSummary:
    entries: int  # TOC entries listed
    table_data: frozenset[str]  # "schema.table" of every TABLE DATA entry
    dumped_from: str  # server version
    dumped_by: str  # pg_dump version
    format: str  # DIRECTORY, CUSTOM
    # dump id -> the table's oid, of every TABLE DATA entry (a directory dump keeps a
    # table's rows in `<dump id>.dat.gz`); the oid names the table without the ambiguity
    # of the listed names, which are not quoted
    data_ids: dict[int, int] = field(default_factory=dict, hash=False)


_HEADER = re.compile(r"^;\s+([^:]+):\s*(.*)$")
_TABLE_DATA = re.compile(r"^(\d+); \d+ (\d+) TABLE DATA ")


def parse_toc_list(text: str) -> TocSummary:
    """The output of `pg_restore --list` -> counts and TABLE DATA names."""
    header: dict[str, str] = {}
    entries = 0
    table_data = set()
    data_ids: dict[int, int] = {}
    for line in text.splitlines():
        if line.startswith(";"):
            if match := _HEADER.match(line):
                header[match.group(1).strip()] = match.group(2).strip()
            continue
        if not line.strip():
            continue
        entries += 1
        if match := _TABLE_DATA.match(line):
            data_ids[int(match[1])] = int(match[2])
        if " TABLE DATA " in line:
            parts = line.split(" TABLE DATA ", 1)[1].split(" ")
            if len(parts) >= 3:
                table_data.add(f"{parts[0]}.{' '.join(parts[1:-1])}")
    return TocSummary(
        entries=entries,
        table_data=frozenset(table_data),
        dumped_from=header.get("Dumped from database version", ""),
        dumped_by=header.get("Dumped by pg_dump version", ""),
        format=header.get("Format", ""),
        data_ids=data_ids,
    )


async def list_archive(archive: Path, *, bindir: Path | None = None) -> TocSummary:
    """`pg_restore --list` of a dump; a SyncWizardError if pg_restore cannot read it."""
    path = tool_path("pg_restore", bindir)
    proc = await asyncio.create_subprocess_exec(
        str(path),
        "--list",
        str(archive),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await proc.communicate()
    except asyncio.CancelledError:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise
    if proc.returncode != 0:
        detail = (err.decode(errors="replace").strip().splitlines() or ["(no output)"])[-1]
        raise SyncWizardError(
            f"pg_restore --list cannot read {archive}: {detail}",
            hint="the dump is damaged or incomplete: take the backup again",
            system="config",
        )
    return parse_toc_list(out.decode(errors="replace"))


def toc_problems(name: str, toc: TocSummary, row_counts: dict[str, int]) -> list[str]:
    """Tables that hold rows but have no TABLE DATA entry in the dump."""
    lacking = sorted(t for t, rows in row_counts.items() if rows > 0 and t not in toc.table_data)
    if not lacking:
        return []
    shown = ", ".join(lacking[:5]) + (f" and {len(lacking) - 5} more" if len(lacking) > 5 else "")
    return [f"{name}: the dump has no data for {shown}, which held rows"]


# --- a MySQL/MariaDB dump: plain SQL ------------------------------------------------------

SQL_FORMAT = "sql"  # a dump's "format" in the manifest when mariadb-dump/mysqldump wrote it


def sql_dump_problems(
    name: str, counts: dict[str, int], completed: bool, row_counts: dict[str, int]
) -> list[str]:
    """A cut file, or rows in the file other than those counted when it was taken."""
    problems = []
    if not completed:
        problems.append(f"{name}: the dump has no closing `-- Dump completed` line: it is cut")
    differ = sorted(t for t in {*counts, *row_counts} if counts.get(t) != row_counts.get(t))
    if differ:
        shown = ", ".join(
            f"{t} ({counts.get(t, 'absent')} in the file, {row_counts.get(t, 'absent')} recorded)"
            for t in differ[:5]
        )
        more = f" and {len(differ) - 5} more" if len(differ) > 5 else ""
        problems.append(f"{name}: the rows in the file are not those recorded: {shown}{more}")
    return problems


def _reading_problems(
    name: str, reading: DumpReading, files: Iterable[dict[str, Any]]
) -> list[str]:
    """A SQL dump read once for its rows: its size and sha256 against its entry in the
    set's `files` (so no second pass checks them: `check_files` leaves SQL dumps out)."""
    entry = next((e for e in files if e.get("path") == name), None)
    if entry is None:
        return [f"{name} has no recorded size and sha256 to be checked against"]
    if reading.size != entry["size"]:
        return [f"{name} is {reading.size:,} bytes, {entry['size']:,} were recorded"]
    if reading.sha256 != entry["sha256"]:
        return [f"{name} does not match its recorded sha256"]
    return []


async def check_dump(
    set_dir: Path,
    dump: dict[str, Any],
    files: Iterable[dict[str, Any]],
    *,
    bindir: Path | None = None,
) -> tuple[int, list[str]]:
    """One dump of a set read through: its entries (pg_restore --list's; a SQL dump's
    tables) and its problems against the row counts recorded with it; a SQL dump's
    against its size and sha256 in `files` (the set's entries) too, in the same pass."""
    path = set_dir / dump["path"]
    row_counts = dump.get("row_counts", {})
    if dump.get("format") == SQL_FORMAT:
        reading = await asyncio.to_thread(read_dump, path)
        problems = sql_dump_problems(dump["path"], reading.counts, reading.completed, row_counts)
        return len(reading.counts), problems + _reading_problems(dump["path"], reading, files)
    toc = await list_archive(path, bindir=bindir)
    return toc.entries, toc_problems(dump["path"], toc, row_counts)


def entries_changed(dump: dict[str, Any], entries: int, when: str) -> str:
    """The problem of a dump whose entries are not those recorded `when`."""
    if dump.get("format") == SQL_FORMAT:
        return f"{dump['path']}: the file holds {entries} tables, {dump.get('toc_entries')} {when}"
    return f"{dump['path']}: pg_restore lists {entries} entries, {dump.get('toc_entries')} {when}"


# --- verifying a sealed set ----------------------------------------------------------------


@dataclass
class VerifyReport:
    set_dir: Path
    manifest: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    files_checked: int = 0
    bytes_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def read_manifest(set_dir: Path) -> dict[str, Any]:
    """The manifest of a set, or a SyncWizardError saying why it is not a sealed set."""
    path = set_dir / MANIFEST_NAME
    if not set_dir.is_dir():
        raise SyncWizardError(
            f"{set_dir} is not a folder",
            hint="give the folder of a backup set (it holds manifest.json)",
            system="config",
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SyncWizardError(
            f"{set_dir} holds no {MANIFEST_NAME}: it is not a sealed backup set",
            hint="a backup that did not reach its last step has no manifest and cannot be "
            "trusted; `syncwizard runs` shows whether its run can be resumed",
            system="config",
        ) from None
    except (OSError, ValueError) as exc:
        raise SyncWizardError(
            f"{path} cannot be read as JSON: {exc}",
            hint="the manifest is damaged: this set cannot be trusted",
            system="config",
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise SyncWizardError(
            f"{path} is not a syncwizard backup manifest",
            hint="give the folder of a backup set made by syncwizard",
            system="config",
        )
    version = manifest.get("version")
    if type(version) is not int:  # not "1", 1.0 or true, which compare equal to 1
        found = _found(version) if "version" in manifest else "no version at all"
        raise SyncWizardError(
            f"{path}: the manifest version must be an integer (this syncwizard reads version "
            f"{MANIFEST_VERSION}), found {found}",
            hint="the manifest was changed by hand or by another tool, so this set cannot be "
            "trusted: restore from another set, or take a new backup (`syncwizard backup`)",
            system="config",
        )
    if version != MANIFEST_VERSION:
        raise SyncWizardError(
            f"{path} is manifest version {version}, this syncwizard reads "
            f"version {MANIFEST_VERSION}",
            hint="use the syncwizard version that made the set",
            system="config",
        )
    if problems := shape_problems(manifest):
        shown = "; ".join(problems[:3]) + (
            f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        )
        raise SyncWizardError(
            f"{path} is damaged: {shown}",
            hint="the manifest no longer says what the set holds, so the set cannot be "
            "trusted: restore from another set, or take a new backup (`syncwizard backup`)",
            system="config",
        )
    return manifest


# --- the shape of a manifest ----------------------------------------------------------------


def _kind(value: object) -> str:
    """What a JSON value is, for a message: "a string", "a list", ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a fraction"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _found(value: object) -> str:
    """A JSON value as a message shows it: `'12' (a string)`, `a list`, `null`."""
    if value is None or isinstance(value, dict | list):
        return _kind(value)
    shown = repr(value)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return f"{shown} ({_kind(value)})"


def _is_count(value: object) -> bool:
    return type(value) is int and value >= 0


def _path_problem(where: str, value: object) -> str | None:
    if not isinstance(value, str) or not value:
        return f"`{where}` must be a file name inside the set, found {_found(value)}"
    parts = value.split("/")
    if value.startswith("/") or "\\" in value or ".." in parts or "" in parts:
        return f"`{where}` must be a relative path inside the set, found {value!r}"
    return None


# top-level keys: (the check, what was expected); a key that is absent is not checked here
_TOP_LEVEL: dict[str, tuple[Any, str]] = {
    "tool": (lambda v: isinstance(v, dict), "an object"),
    "run_id": (lambda v: isinstance(v, str), "a string"),
    "sync_id": (lambda v: isinstance(v, str), "a string"),
    "created_at": (lambda v: isinstance(v, str), "a string (ISO time)"),
    "profile": (lambda v: isinstance(v, str), "a string"),
    "queue": (lambda v: isinstance(v, str), "a string"),
    "topic": (lambda v: v is None or isinstance(v, str), "a string or null"),
    "shared_database": (lambda v: isinstance(v, bool), "true or false"),
    "databases": (lambda v: isinstance(v, dict), "an object"),
    "steps": (lambda v: isinstance(v, dict), "an object"),
    "tools": (lambda v: isinstance(v, dict), "an object"),
    "wait": (lambda v: isinstance(v, dict), "an object"),
    "queue_snapshots": (lambda v: isinstance(v, dict), "an object"),
    "health_urls": (lambda v: isinstance(v, list), "a list"),
    "t0": (lambda v: isinstance(v, dict) and isinstance(v.get("at"), str), "an object with at"),
    "external_repository_backup": (lambda v: v is None or isinstance(v, dict), "an object"),
    "total_bytes": (_is_count, "a whole number of bytes"),
}


def shape_problems(manifest: dict[str, Any]) -> list[str]:
    """What in a manifest has the wrong shape (a value of the wrong type, a file entry
    without its path, size or sha256), each naming the key and what it should be."""
    problems = [
        f"`{key}` must be {expected}, found {_found(manifest[key])}"
        for key, (check, expected) in _TOP_LEVEL.items()
        if key in manifest and not check(manifest[key])
    ]
    if "files" in manifest:
        problems += _file_problems(manifest["files"])
    if "dumps" in manifest:
        problems += _dump_problems(manifest["dumps"])
    return problems


def _file_problems(files: object) -> list[str]:
    if not isinstance(files, list):
        return [f"`files` must be a list of {{path, size, sha256}} entries, found {_found(files)}"]
    problems = []
    for number, entry in enumerate(files):
        where = f"files[{number}]"
        if not isinstance(entry, dict):
            problems.append(
                f"`{where}` must be an object {{path, size, sha256}}, found {_found(entry)}"
            )
            continue
        if "path" not in entry:
            problems.append(f"`{where}` has no path")
        elif problem := _path_problem(f"{where}.path", entry["path"]):
            problems.append(problem)
        if "size" not in entry:
            problems.append(f"`{where}` has no size")
        elif not _is_count(entry["size"]):
            problems.append(
                f"`{where}.size` must be a whole number of bytes, found {_found(entry['size'])}"
            )
        sha = entry.get("sha256")
        if not (isinstance(sha, str) and re.fullmatch(r"[0-9a-f]{64}", sha)):
            problems.append(f"`{where}.sha256` must be 64 hex digits, found {_found(sha)}")
    return problems


def _dump_problems(dumps: object) -> list[str]:
    if not isinstance(dumps, list):
        return [f"`dumps` must be a list of objects, found {_found(dumps)}"]
    problems = []
    for number, dump in enumerate(dumps):
        where = f"dumps[{number}]"
        if not isinstance(dump, dict):
            problems.append(f"`{where}` must be an object, found {_found(dump)}")
            continue
        if "path" not in dump:
            problems.append(f"`{where}` has no path")
        elif problem := _path_problem(f"{where}.path", dump["path"]):
            problems.append(problem)
        roles = dump.get("roles", [])
        if not (isinstance(roles, list) and all(isinstance(r, str) for r in roles)):
            problems.append(f"`{where}.roles` must be a list of strings, found {_found(roles)}")
        counts = dump.get("row_counts", {})
        if not (isinstance(counts, dict) and all(_is_count(n) for n in counts.values())):
            problems.append(
                f"`{where}.row_counts` must map each table to a whole number of rows, "
                f"found {_found(counts)}"
            )
        for key in ("toc_entries", "size_bytes"):
            if key in dump and not _is_count(dump[key]):
                problems.append(
                    f"`{where}.{key}` must be a whole number, found {_found(dump[key])}"
                )
        for key in ("snapshot_at_iso", "database", "format"):
            if key in dump and not isinstance(dump[key], str):
                problems.append(f"`{where}.{key}` must be a string, found {_found(dump[key])}")
    return problems


_REQUIRED = ("tool", "run_id", "sync_id", "dumps", "files", "steps", "created_at")
_DUMP_REQUIRED = ("path", "roles", "row_counts", "toc_entries")  # what a restore reads


async def verify_set(set_dir: Path, *, bindir: Path | None = None) -> VerifyReport:
    """Re-check a sealed set. Raises SyncWizardError when it has no readable manifest."""
    manifest = read_manifest(set_dir)
    report = VerifyReport(set_dir=set_dir, manifest=manifest)
    missing = [key for key in _REQUIRED if key not in manifest]
    if missing:
        report.problems.append(f"the manifest lacks {', '.join(missing)}")
        return report
    for number, dump in enumerate(manifest["dumps"]):
        lacking = [key for key in _DUMP_REQUIRED if key not in dump]
        if lacking:
            report.problems.append(f"the manifest's dumps[{number}] lacks {', '.join(lacking)}")
    if report.problems:
        return report
    files = manifest["files"]
    # A SQL dump's size and sha256 are checked as check_dump reads its rows (one pass).
    read_whole = {d["path"] for d in manifest["dumps"] if d.get("format") == SQL_FORMAT}
    hashed = [
        e for e in files if e["path"] not in read_whole or not (set_dir / e["path"]).is_file()
    ]
    report.problems += await asyncio.to_thread(check_files, set_dir, hashed)
    report.files_checked = len(files)
    report.bytes_checked = sum(int(entry["size"]) for entry in files)
    listed = {entry["path"] for entry in files}
    for path in sorted(set_dir.rglob("*")):
        relative = path.relative_to(set_dir).as_posix()
        if not path.is_file() or relative == MANIFEST_NAME or relative in listed:
            continue
        if relative.endswith(PARTIAL_SUFFIX):
            report.problems.append(f"{relative} is an unfinished file left in the set")
        else:
            report.warnings.append(f"{relative} is not listed in the manifest")
    for dump in manifest["dumps"]:
        archive = set_dir / dump["path"]
        if not archive.exists():
            continue  # already reported with its files
        try:
            entries, problems = await check_dump(set_dir, dump, files, bindir=bindir)
        except SyncWizardError as exc:
            report.problems.append(exc.message)
            continue
        if entries != dump.get("toc_entries"):
            report.problems.append(entries_changed(dump, entries, "the manifest recorded"))
        report.problems += problems
    return report
