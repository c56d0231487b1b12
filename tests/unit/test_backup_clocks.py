"""The clock check of the backup (runbook/backup/clocks.py): skew bounds from bracketed
readings, the drain margin they make, and the refusal past backup.clock_skew."""

from __future__ import annotations

import pytest

from syncwizard.clients.jolokia import JolokiaClient
from syncwizard.config import BackupSettings
from syncwizard.errors import SyncWizardError
from syncwizard.runbook.backup.clocks import HOST, ClockCheck, ClockReading, Skew
from syncwizard.runbook.backup.options import BackupOptions
from syncwizard.runbook.model import RefusedError

NOW = 1_767_225_600.0
DB = "the repository database server's clock"
BROKER = "the broker's clock (Jolokia at http://127.0.0.1:8161/api/jolokia)"


def db(offset: float = 0.0, rtt: float = 0.01) -> ClockReading:
    return ClockReading(DB, NOW + offset + rtt / 2, NOW, NOW + rtt)


def broker(offset: float = 0.0, rtt: float = 0.02) -> ClockReading:
    # Jolokia stamps in whole seconds: the reading is the true time rounded down
    true = NOW + 5 + offset + rtt / 2
    return ClockReading(BROKER, float(int(true)), NOW + 5, NOW + 5 + rtt, resolution=1.0)


def check(reference: ClockReading, *others: ClockReading, allowed: float = 2.0) -> ClockCheck:
    return ClockCheck(reference, others, allowed=allowed, publish_lag=10.0)


def test_clocks_in_sync_prove_no_skew_and_widen_the_margin_by_the_resolution_only() -> None:
    c = check(db(), broker(), ClockReading(HOST, NOW + 1, NOW + 1, NOW + 1))
    assert all(s.at_least == 0 for s in c.skews)
    assert 0 < c.skew <= 1.05  # the broker's whole seconds, plus the round trips
    assert c.margin == pytest.approx(10.0 + c.skew)
    c.refuse_if_too_skewed()  # no refusal


def test_a_skew_is_bounded_from_both_sides_by_the_bracket() -> None:
    skew = Skew.between(broker(offset=7.3), db())
    assert 6.2 <= skew.at_least <= 7.3 <= skew.at_most <= 8.4
    assert "ahead of" in skew.describe()
    behind = Skew.between(broker(offset=-7.3), db())
    assert "behind" in behind.describe() and behind.at_least >= 6.2


def test_a_skew_beyond_the_allowed_is_refused_naming_both_clocks_and_what_to_do() -> None:
    c = check(db(), broker(offset=7.3))
    with pytest.raises(RefusedError) as caught:
        c.refuse_if_too_skewed()
    error = caught.value
    assert BROKER in error.message and DB in error.message
    assert "backup.clock_skew = 2 s" in error.message
    assert "10 s (backup.publish_lag) + 8." in error.message  # the margin it would need
    assert "NTP" in error.hint and "raise backup.clock_skew to at least 9 s" in error.hint
    assert error.system == "clock"


def test_a_slow_network_alone_never_refuses() -> None:
    # 5 s round trip to a database whose clock agrees: the skew is only not known closely
    slow = ClockReading(DB, NOW + 2.5, NOW, NOW + 5)
    c = check(slow, broker())
    assert c.skews[0].at_least == 0 and c.skew > 2
    c.refuse_if_too_skewed()


def test_the_check_serializes_what_the_manifest_keeps() -> None:
    data = check(db(), broker()).as_json()
    assert data["reference"]["name"] == DB and data["others"][0]["resolution"] == 1.0
    assert data["margin"] == pytest.approx(10.0 + data["skew"])
    assert data["skews"][0]["of"] == BROKER


def test_the_profile_sets_the_publish_lag_and_the_allowed_skew() -> None:
    options = BackupOptions.from_settings(
        BackupSettings(dir="/backups", publish_lag=30.0, clock_skew=1.0)
    )
    assert (options.drain.publish_lag, options.drain.skew) == (30.0, 1.0)
    assert BackupOptions.from_json(options.as_json()) == options
    # a run journaled before publish_lag existed resumes with the default
    older = options.as_json()
    del older["drain"]["publish_lag"]
    assert BackupOptions.from_json(older).drain.publish_lag == BackupSettings().publish_lag == 10


async def test_the_broker_clock_is_the_stamp_of_jolokias_answer() -> None:
    client = JolokiaClient("http://mq:8161/api/jolokia", "admin", "pw", broker_name="localhost")
    answers = [
        {"status": 200, "value": "localhost", "timestamp": 1_767_225_600},
        {"status": 200, "value": "localhost"},  # something in between dropped the stamp
    ]

    async def post(body: bytes) -> object:
        assert b'"attribute": "BrokerName"' in body
        return answers.pop(0)

    client._post = post  # type: ignore[method-assign]
    try:
        before, stamp, after = await client.broker_clock()
        assert stamp == 1_767_225_600 and before <= after
        with pytest.raises(SyncWizardError) as caught:
            await client.broker_clock()
        assert "without its timestamp" in caught.value.message
        assert caught.value.system == "broker"
    finally:
        await client.aclose()
