"""A second practice lab for the session, of the `current` flavour (`lab up --like current`).

Shaped like today's deployments: broker `acs-activemq` without STOMP for clients,
Jolokia POST-only for the admin role with ActiveMQ's hardened policy, from
loopback only; the Sync stand-in on plain HTTP with Sync 5.x's JSON, consuming
`Consumer.<guid>.alfresco.repo.event2`. It runs on TEST_PORTS + 20 (every port),
so it can run beside the classic `lab` and the broker-only labs (+1, +2, +10). It starts
only when a test asks for it: the whole stack in a few seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields, replace
from pathlib import Path

import pytest

from syncwizard.lab import postgres, stack
from syncwizard.lab.layout import CURRENT, TEST_PORTS, LabLayout, LabPorts


def shifted(ports: LabPorts, by: int) -> LabPorts:
    return replace(ports, **{f.name: getattr(ports, f.name) + by for f in fields(ports)})


CURRENT_LAB_TEST_PORTS = shifted(TEST_PORTS, 20)


@pytest.fixture(scope="session")
def current_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabLayout]:
    root = tmp_path_factory.mktemp("sw-lab-current") / "lab"
    layout = LabLayout(root, CURRENT_LAB_TEST_PORTS)
    try:
        stack.up(layout, flavour=CURRENT)
        yield layout
    finally:
        stack.down(layout)
        postgres.remove_cluster(layout)


@pytest.fixture(scope="session")
def current_lab_config(current_lab: LabLayout, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A config file holding the `lab` profile, as `syncwizard lab up --like current` writes it."""
    path = tmp_path_factory.mktemp("sw-config-current") / "config.toml"
    settings = stack.settings_for(current_lab, event2=True, flavour=CURRENT)
    stack.write_lab_profile(current_lab, path, settings.topic, settings.flavour)
    return path
