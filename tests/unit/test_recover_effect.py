"""What the -Drecover start did: the drift command's last line, and the log's lines about the
recover written after the start, with any password masked."""

from __future__ import annotations

from pathlib import Path

from syncwizard.runbook.restore.recover_effect import log_size, measure_drift, recover_lines


async def test_the_drift_is_the_last_line_the_command_printed() -> None:
    said = await measure_drift("echo measuring; echo 'the Sync DB lacks 3 node(s)'")
    assert said == "the Sync DB lacks 3 node(s)"


async def test_a_failing_drift_command_is_said_not_raised() -> None:
    said = await measure_drift("echo 'no database' >&2; exit 4")
    assert said is not None and said.startswith("not measured:") and "no database" in said


async def test_no_drift_command_measures_nothing() -> None:
    assert await measure_drift(None) is None


def test_only_the_recover_lines_written_after_the_start_are_kept_and_masked(
    tmp_path: Path,
) -> None:
    log = tmp_path / "sync.log"
    log.write_text("INFO recover done: 9 nodes added (an older run)\n")
    offset = log_size(str(log))
    with log.open("a") as file:
        file.write("INFO starting with JAVA_OPTS=-Xmx2g -Drecover=admin:pa55-w0rd\n")
        file.write("INFO consuming the queue\n")
        file.write("INFO Recover done: 12 nodes added, 3 removed\n")

    lines = recover_lines(str(log), offset, ("pa55-w0rd",))

    assert lines == [
        "INFO starting with JAVA_OPTS=-Xmx2g -Drecover=admin:********",
        "INFO Recover done: 12 nodes added, 3 removed",
    ]


def test_a_missing_log_gives_no_lines(tmp_path: Path) -> None:
    assert log_size(str(tmp_path / "none.log")) is None
    assert recover_lines(str(tmp_path / "none.log"), 0) == []
    assert recover_lines(None, 0) == []
