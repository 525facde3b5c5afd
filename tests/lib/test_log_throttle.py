"""A throttled warning is logged once per interval and key; the next line says how many were
left out meanwhile."""

import logging

import pytest

from lib import log_throttle

log = logging.getLogger("crowd.test-throttle")


@pytest.fixture(autouse=True)
def _fresh():
    log_throttle.reset()
    yield
    log_throttle.reset()


def test_it_logs_the_first_and_counts_the_rest_per_key(caplog, monkeypatch):
    caplog.set_level(logging.WARNING, logger=log.name)
    logged = [log_throttle.warn_throttled(log, "a", "a failed: %s", n) for n in range(5)]
    logged.append(log_throttle.warn_throttled(log, "b", "b failed"))  # another key has its own line
    assert logged == [True, False, False, False, False, True]
    assert [r.getMessage() for r in caplog.records] == ["a failed: 0", "b failed"]

    monkeypatch.setattr(log_throttle, "INTERVAL_SECONDS", 0.0)  # the interval has passed
    assert log_throttle.warn_throttled(log, "a", "a failed: %s", 5)
    assert caplog.records[-1].getMessage().startswith("a failed: 5 (4 more not logged in the last ")
