"""Shared fixtures. Every test talks to the real embedded PostgreSQL, Redis and memcached that
the settings start on demand; Redis (its own database) and the memcached test namespace are
emptied before each test."""

from __future__ import annotations

import socket

import pytest
from django.conf import settings
from django.core.cache import cache

from assignments import picker
from lib.login_throttle import reset_local_counters as reset_login_counters
from lib.ratelimit import reset_local_counters
from lib.redis_client import get_redis
from lib.services import MEMCACHED_MISSING, memcached_binary
from tests import factories

# Fixtures that tests of several apps use live in support modules, never in a test module that
# another imports: the nginx front (pagecache) and a stopped Redis.
pytest_plugins = ["tests.pagecache._front_support", "tests.redis_outage_support"]


def _memcached_answers(server: str) -> bool:
    if server.startswith("unix:"):
        family, address = socket.AF_UNIX, server[len("unix:") :]
    else:
        host, _, port = server.rpartition(":")
        family, address = socket.AF_INET, (host or "127.0.0.1", int(port or 11211))
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        try:
            sock.connect(address)
            sock.sendall(b"version\r\n")
            return sock.recv(64).startswith(b"VERSION")
        except OSError:
            return False


@pytest.fixture(scope="session", autouse=True)
def _memcached_is_running():
    """The suite needs a real memcached: say how to get one instead of failing obscurely."""
    down = [s for s in settings.MEMCACHED_SERVERS if not _memcached_answers(s)]
    if down:
        hint = MEMCACHED_MISSING if memcached_binary() is None else "is it running?"
        pytest.fail(f"memcached at {', '.join(down)} does not answer: {hint}", pytrace=False)


@pytest.fixture(scope="session", autouse=True)
def _drop_pending_picker_counts():
    """Picker counts left pending by tests are dropped at the end: the exit flush
    (assignments.picker_stats) would run after the test database is gone, when the connection
    names the development database again, and store them there."""
    from pagecache import stats as page_cache_stats

    page_cache_stats.COUNTER.flush_seconds = float("inf")  # no background flush into a test's database
    yield
    from assignments import picker_stats

    picker_stats.reset_pending()
    page_cache_stats.reset_pending()


@pytest.fixture(autouse=True)
def _clean_services():
    get_redis().flushdb()
    cache.clear()
    reset_local_counters()  # the rate limiter's Redis-down fallback counts of earlier tests
    reset_login_counters()
    # The picker's Redis circuit breaker and caches: a test that stopped Redis must not leave
    # the next ones skipping it (the review screen's prefetch then makes no round trip).
    picker.reset_state()
    yield


@pytest.fixture
def editor(db):
    return factories.make_user("editor-ed", is_staff=True, is_superuser=True)


@pytest.fixture
def reviewer(db):
    return factories.make_user("alice")


@pytest.fixture
def reviewer2(db):
    return factories.make_user("bob")


@pytest.fixture
def tags(db):
    """The editors' standing tag set."""
    return {
        t.slug: t
        for t in [
            factories.make_tag("receipt", key="r", order=1),
            factories.make_tag("claim-form", key="c", order=2),
            factories.make_tag("hand-written", key="h", order=3),
            factories.make_tag("investigate-this", key="i", order=9, highlights=True),
            factories.make_tag("retired", key="x", order=10, active=False),
        ]
    }
