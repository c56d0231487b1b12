"""Service command templates: timeouts, captured output, the recover option kept secret."""

from __future__ import annotations

import pytest

from syncwizard.clients.results import CommandResult
from syncwizard.clients.service import ServiceControl, recover_option, run_command
from syncwizard.errors import SyncWizardError


async def test_output_and_exit_code_are_captured() -> None:
    result = await run_command("echo stopping; echo oops >&2; exit 3")
    assert result.exit_code == 3 and not result.ok
    assert "stopping" in result.output and "oops" in result.output


async def test_a_command_that_hangs_is_stopped_at_the_timeout() -> None:
    with pytest.raises(SyncWizardError, match="did not finish within 1 s"):
        await run_command("sleep 30", timeout=1.0)


async def test_recover_option_reaches_the_child_only_through_its_environment() -> None:
    control = ServiceControl(
        "sync_service",
        stop=None,
        start=None,
        start_with_recover='echo "argv: $0"; echo "env: $SYNCWIZARD_RECOVER_OPTION"',
    )
    result = await control.start_with_recover("admin", "pa55word!")
    assert result.ok
    assert "env: ********" in result.output  # it arrived, and is masked in what we show
    assert "pa55word!" not in result.output and "pa55word!" not in result.command


async def test_a_missing_template_says_which_key_to_add() -> None:
    control = ServiceControl("sync_service", stop=None, start="true")
    with pytest.raises(SyncWizardError) as caught:
        await control.stop()
    assert "sync_service.stop" in caught.value.message


def test_the_recover_option_needs_a_user_without_colon_and_a_password() -> None:
    assert recover_option("admin", "x:y") == "-Drecover=admin:x:y"
    with pytest.raises(SyncWizardError):
        recover_option("ad:min", "pw")
    with pytest.raises(SyncWizardError):
        recover_option("admin", "")


def test_a_failure_says_the_line_of_output_that_says_why() -> None:
    output = (
        "Starting the Sync Service...\n"
        "The stand-in stopped: recover refused: wrong repository admin credentials\n"
        "  hint: See /var/log/sync/standin.log.\n"
    )
    result = CommandResult("syncservice.sh start", 1, output, 0.8)
    assert result.failure("the start command") == (
        "the start command `syncservice.sh start` exited with 1: The stand-in stopped: "
        "recover refused: wrong repository admin credentials"
    )
    plain = CommandResult("stop.sh", 2, "stopping\nstill running after 30 s\n", 30.0)
    assert plain.failure("the stop command").endswith("exited with 2: still running after 30 s")
    assert CommandResult("x", 5, "", 0.1).failure("the x command") == (
        "the x command `x` exited with 5"
    )


async def test_a_refusal_naming_the_admin_user_is_not_garbled_when_the_password_is_a_word() -> None:
    control = ServiceControl(
        "sync_service",
        stop=None,
        start=None,
        start_with_recover='echo "got $SYNCWIZARD_RECOVER_OPTION"; '
        'echo "recover refused: wrong repository admin credentials for user admin"; exit 1',
    )
    result = await control.start_with_recover("admin", "admin")
    assert not result.ok
    assert "got ********" in result.output  # the whole option, as it arrived
    assert "wrong repository admin credentials for user admin" in result.output
    assert result.failure("the recover start").endswith(
        "recover refused: wrong repository admin credentials for user admin"
    )
