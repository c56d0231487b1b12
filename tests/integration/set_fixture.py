"""`backup_set`: one backup set of the lab per test module that imports it, for tests that
only read it (taking one costs about 15 s)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from standin_support import restore
from test_restore import take_backup

from syncwizard.lab.layout import LabLayout


@pytest.fixture(scope="module")
def backup_set(
    lab: LabLayout, lab_config: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("backup-set")

    async def take() -> Path:
        await restore(lab)
        return await take_backup(lab_config, root / "backups")

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SYNCWIZARD_STATE_DIR", str(root / "state"))
        yield asyncio.run(take())
