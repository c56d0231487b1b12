"""One practice lab for the whole integration session, on the test ports.

Real parts only: PostgreSQL, ActiveMQ with Jolokia and STOMP, the HTTPS
stand-in. A missing Debian package fails the session with the apt command
to run; nothing is skipped.
"""

from __future__ import annotations

import json
import ssl
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncwizard.lab import postgres, stack
from syncwizard.lab.layout import TEST_PORTS, LabLayout


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabLayout]:
    root = tmp_path_factory.mktemp("sw-lab") / "lab"
    layout = LabLayout(root, TEST_PORTS)
    try:
        stack.up(layout)
        yield layout
    finally:
        stack.down(layout)
        postgres.remove_cluster(layout)


@pytest.fixture(scope="session")
def lab_config(lab: LabLayout, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A config file holding the `lab` profile, as `syncwizard lab up` writes it."""
    path = tmp_path_factory.mktemp("sw-config") / "config.toml"
    stack.write_lab_profile(lab, path, stack.settings_for(lab, event2=False).topic)
    return path


@pytest.fixture(scope="session")
def lab_sync_id(lab: LabLayout) -> str:
    context = ssl.create_default_context(cafile=str(lab.cert_file))
    url = f"https://127.0.0.1:{lab.ports.standin}/alfresco/healthcheck"
    try:
        body = urllib.request.urlopen(url, context=context, timeout=5).read()
    except urllib.error.HTTPError as exc:  # 500 still carries the JSON
        body = exc.read()
    message: str = json.loads(body)["syncServiceIdCheck"]["message"]
    return message
