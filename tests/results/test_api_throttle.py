"""Anonymous API reads are throttled in Redis; a throttled client gets 429 with Retry-After."""

from __future__ import annotations

from django.core.cache import caches


def test_anonymous_reads_past_the_rate_get_429_with_retry_after(client, settings, tags):
    settings.RATE_LIMIT_API_ANON_PER_MINUTE = 3
    caches["throttle"].clear()
    codes = [client.get("/api/tags/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = client.get("/api/tags/")
    assert r.status_code == 429
    assert 0 < int(r["Retry-After"]) <= 60


def test_the_history_lives_in_redis(client, settings, tags):
    settings.RATE_LIMIT_API_ANON_PER_MINUTE = 2
    caches["throttle"].clear()
    client.get("/api/tags/")
    client.get("/api/tags/")
    # A fresh memcached (the default cache) does not reset the count: it is not kept there.
    caches["default"].clear()
    assert client.get("/api/tags/").status_code == 429
    caches["throttle"].clear()
    assert client.get("/api/tags/").status_code == 200


def test_signed_in_users_are_not_throttled_as_anonymous(client, settings, tags, reviewer):
    settings.RATE_LIMIT_API_ANON_PER_MINUTE = 1
    caches["throttle"].clear()
    client.force_login(reviewer)
    assert [client.get("/api/tags/").status_code for _ in range(3)] == [200, 200, 200]
