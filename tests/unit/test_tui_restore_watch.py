"""How a look at the Sync Service coming back reads on the restore screen."""

from __future__ import annotations

from syncwizard.runbook.restore.recover_watch import RecoverWatch
from syncwizard.tui.restore import text as rt
from syncwizard.tui.restore.watch_view import (
    WatchProgress,
    healthy_count,
    read_watch,
    watch_headline,
    watch_text,
)


def look(
    checks: tuple[tuple[str, bool | None, str], ...] = (),
    consumers: int | None = None,
    errors: tuple[str, ...] = (),
) -> RecoverWatch:
    return RecoverWatch(
        at=0.0, checks=checks, sync_id="", consumers=consumers, seconds_left=41.6, errors=errors
    )


def test_only_a_watch_is_read_as_one() -> None:
    watch = look()
    assert read_watch(watch) is watch
    assert read_watch(12.0) is None and read_watch(None) is None


def test_the_headline_counts_the_healthy_checks_and_the_consumers() -> None:
    checks = (("db", True, ""), ("broker", False, "refused"), ("repo", None, ""))
    assert healthy_count(look(checks)) == 1
    assert watch_headline(look(checks, consumers=1)) == (
        "1 of 3 health checks healthy; 1 consumer on the sync queue; gives up in 42 s"
    )
    assert watch_headline(look(consumers=0)) == (
        "no health answer; 0 consumers on the sync queue; gives up in 42 s"
    )


def test_the_text_says_each_check_then_what_did_not_answer() -> None:
    checks = (("db", True, ""), ("broker", False, "refused"), ("repo", None, ""))
    text = watch_text(look(checks, errors=("the broker did not answer (timeout)",)))
    assert text.plain.splitlines()[1:] == [
        "✓ db: healthy",
        "· broker: not yet (refused)",
        "· repo: unknown",
        "the broker did not answer (timeout)",
    ]


def test_the_progress_row_counts_the_healthy_checks_and_says_what_is_watched() -> None:
    checks = (("db", True, ""), ("broker", False, "refused"))
    shown = WatchProgress.read(look(checks, consumers=1), rt.START_RECOVER, {})
    assert shown is not None
    assert (shown.done, shown.total, shown.how) == (1, 2, "watching the recover start")
    assert shown.text.plain.startswith(shown.headline)
    no_answer = WatchProgress.read(look(), rt.START_RECOVER, {})
    assert no_answer is not None and no_answer.total is None
    assert WatchProgress.read(3.0, rt.START_RECOVER, {}) is None
