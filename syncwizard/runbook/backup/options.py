"""The backup's options: a profile's [backup] section with command-line overrides, kept in
the run's journal so a resumed run goes on with the options it started with."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from syncwizard.clients.pgtools import DumpFormat
from syncwizard.config import BackupSettings
from syncwizard.errors import SyncWizardError
from syncwizard.runbook.backup.drain import DrainSettings

# gzip level 1 until the benchmark (issue 3, section 6) says otherwise: gzip runs on one
# core per job and at its default level it, not the database, sets the dump's pace.
DEFAULT_COMPRESS = "1"


@dataclass(frozen=True)
class BackupOptions:
    backup_dir: Path
    format: DumpFormat = "directory"
    jobs: int = 2
    compress: str = DEFAULT_COMPRESS
    wait_mode: str = "drain"  # or "countdown"
    countdown: float = 120.0
    drain: DrainSettings = field(default_factory=DrainSettings)
    external_repository_at: float | None = None  # attested snapshot time of an external backup

    @classmethod
    def from_settings(cls, backup: BackupSettings, **overrides: Any) -> BackupOptions:
        """The options of a profile's [backup] section, with command-line overrides."""
        values: dict[str, Any] = {
            "backup_dir": Path(backup.dir).expanduser(),
            "format": backup.format,
            "jobs": backup.jobs,
            "compress": backup.compress or DEFAULT_COMPRESS,
            "wait_mode": backup.wait_mode,
            "countdown": backup.countdown,
            "drain": DrainSettings(
                timeout=backup.drain_timeout,
                interval=backup.drain_interval,
                confirm=backup.drain_confirm,
                skew=backup.clock_skew,
                publish_lag=backup.publish_lag,
                stall_after=backup.stall_after,
            ),
        }
        drain_overrides = {k: overrides.pop(k) for k in ("timeout",) if k in overrides}
        values.update({k: v for k, v in overrides.items() if v is not None})
        if drain_overrides.get("timeout") is not None:
            values["drain"] = replace(values["drain"], timeout=drain_overrides["timeout"])
        options = cls(**values)
        options.validate()
        return options

    def validate(self) -> None:
        def bad(key: str, value: object, expected: str) -> SyncWizardError:
            return SyncWizardError(
                f"backup.{key} = {value!r} is not valid: expected {expected}",
                hint="fix it in the profile's [backup] section or on the command line",
                system="config",
            )

        if self.format not in ("directory", "custom"):
            raise bad("format", self.format, '"directory" or "custom"')
        if self.jobs < 1:
            raise bad("jobs", self.jobs, "1 or more")
        if not (self.compress.isdigit() and 0 <= int(self.compress) <= 9):
            raise bad("compress", self.compress, "a gzip level from 0 (none) to 9")
        if self.wait_mode not in ("drain", "countdown"):
            raise bad("wait_mode", self.wait_mode, '"drain" or "countdown"')
        for key, value in (
            ("countdown", self.countdown),
            ("drain_timeout", self.drain.timeout),
            ("drain_interval", self.drain.interval),
        ):
            if value <= 0:
                raise bad(key, value, "a number of seconds above 0")

    def as_json(self) -> dict[str, Any]:
        return {
            "backup_dir": str(self.backup_dir),
            "format": self.format,
            "jobs": self.jobs,
            "compress": self.compress,
            "wait_mode": self.wait_mode,
            "countdown": self.countdown,
            "drain": vars(self.drain).copy(),
            "external_repository_at": self.external_repository_at,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BackupOptions:
        return cls(
            backup_dir=Path(data["backup_dir"]),
            format=cast(DumpFormat, data["format"]),
            jobs=int(data["jobs"]),
            compress=str(data["compress"]),
            wait_mode=str(data["wait_mode"]),
            countdown=float(data["countdown"]),
            drain=DrainSettings(**data["drain"]),
            external_repository_at=data.get("external_repository_at"),
        )


def parse_attested_time(text: str, *, now: float | None = None) -> float:
    """An external backup's snapshot time, ISO 8601 WITH its UTC offset (or Z)."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise SyncWizardError(
            f"{text!r} is not a time with its UTC offset",
            hint="give the snapshot time of the external repository backup as ISO 8601 with "
            "an offset, e.g. 2026-11-26T03:00:00+01:00 or 2026-11-26T02:00:00Z",
            system="config",
        )
    at = moment.timestamp()
    if at > (now if now is not None else time.time()) + 60:
        raise SyncWizardError(
            f"the attested snapshot time {text} is in the future",
            hint="give the time the external backup's snapshot was taken (at or after its "
            "consistency point)",
            system="config",
        )
    return at
