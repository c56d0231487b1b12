"""broker.tunnel's refusals that need no broker: a secret on its command line, a command
that cannot be read or started, one that ends before its port opens."""

from __future__ import annotations

import shlex
import sys

import pytest

from syncwizard.clients.tunnel import Tunnel, local_address
from syncwizard.errors import SyncWizardError


def test_the_port_to_wait_for_is_jolokia_urls() -> None:
    assert local_address("http://127.0.0.1:8161/api/jolokia") == ("127.0.0.1", 8161)
    assert local_address("https://localhost/api/jolokia") == ("localhost", 443)


def test_a_command_holding_the_broker_password_is_refused_without_showing_it() -> None:
    with pytest.raises(SyncWizardError) as caught:
        Tunnel("ssh -N -L 8161:localhost:8161 admin:S3cr3t-pw@host", ("127.0.0.1", 8161),
               timeout=1, secrets=("S3cr3t-pw",))  # fmt: skip
    assert "holds the broker password" in caught.value.message
    assert "S3cr3t-pw" not in caught.value.render()


@pytest.mark.parametrize("command", ["", "kubectl port-forward 'svc/acs"])
def test_a_command_that_cannot_be_read_says_how_to_write_one(command: str) -> None:
    with pytest.raises(SyncWizardError) as caught:
        Tunnel(command, ("127.0.0.1", 8161), timeout=1)
    assert caught.value.system == "config" and "port-forward" in (caught.value.hint or "")


async def test_a_program_not_installed_is_named() -> None:
    tunnel = Tunnel("no-such-kubectl port-forward svc/x 1:1", ("127.0.0.1", 1), timeout=1)
    with pytest.raises(SyncWizardError, match="could not be started") as caught:
        await tunnel.ready()
    assert "'no-such-kubectl'" in (caught.value.hint or "")


async def test_a_command_that_ends_at_once_is_named_with_its_last_stderr_lines() -> None:
    script = "import sys; print('error: no context \"prod\"', file=sys.stderr); sys.exit(3)"
    tunnel = Tunnel(f"{sys.executable} -c {shlex.quote(script)}", ("127.0.0.1", 1), timeout=10)
    with pytest.raises(SyncWizardError) as caught:
        await tunnel.ready()
    message = caught.value.message
    assert "exited with status 3" in message and 'no context "prod"' in message
    assert "before 127.0.0.1:1 accepted connections" in message
    await tunnel.stop()
