"""Counts of the page cache (hits, misses, bypasses, generation bumps) for ``/staff/cache/``.

Counted in memory per process and added to Postgres (``PageCacheStat``, one row per hour and
name) by ``lib.hourly_counts.HourlyCounter``, as the picker's counts are: see there for when
they are flushed and when they can be lost.
"""

from __future__ import annotations

from lib.hourly_counts import HourlyCounter, current_hour

HIT = "hit"
MISS = "miss"  # rendered by Django, then stored
BYPASS = "bypass"  # cacheable route, but memcached did not answer: rendered, not stored
NOT_STORED = "not-stored"  # rendered for the cache but refused (a cookie set, not a 200, ...)
BUMP = "bump"
NGINX_STORED = "nginx-stored"
# Counted from nginx's page log (pagecache.nginx_log), not in memory.
NGINX_HIT = "nginx-hit"
NGINX_MISS = "nginx-miss"
NAMES = (NGINX_HIT, NGINX_MISS, HIT, MISS, BYPASS, NOT_STORED, BUMP, NGINX_STORED)
LABELS = {
    HIT: "Pages served from the cache",
    MISS: "Pages rendered and stored (miss)",
    BYPASS: "Rendered without the cache (memcached down)",
    NOT_STORED: "Rendered but not storable (cookie set, not a 200)",
    BUMP: "Generations bumped by writes",
    NGINX_STORED: "Copies stored for nginx",
    NGINX_HIT: "Pages served by nginx from memcached",
    NGINX_MISS: "Looked up by nginx, not found (passed to Django)",
}
MEANINGS = {
    NGINX_HIT: "Served by the nginx front straight from memcached, without Python. Read from nginx's "
    "page log every minute (and when this page is viewed); the last few seconds are not in yet.",
    NGINX_MISS: "nginx had no copy (expired, never stored, memcached down, or not a cached page) and "
    "passed the request to Django, which counts cached pages again below.",
    HIT: "Served by Django from memcached: no rendering, no database.",
    MISS: "Rendered by Django and stored for the next readers. Many of these: the pages change often.",
    BYPASS: "memcached did not answer, so the page was rendered and not stored. Should be rare.",
    NOT_STORED: "Rendered for a reader without a session but not storable (it set a cookie or was not "
    "a normal page).",
    BUMP: "Writes that changed what cached pages show; the pages showing it are rendered afresh.",
    NGINX_STORED: "Copies Django stored under the page's address for nginx to serve.",
}

# Flushed on a background thread: a cache hit never waits for the database.
COUNTER = HourlyCounter(
    store="pagecache.actions:add_page_cache_counts",
    logger="crowd.pagecache",
    what="page cache",
    background=True,
    metric="lib.metrics:count_page_cache",
)
count = COUNTER.count
pending = COUNTER.pending
flush = COUNTER.flush
reset_pending = COUNTER.reset_pending


def summary() -> list[dict]:
    """Per name: this hour, the last 24 hours and all time (``/staff/cache/``)."""
    from datetime import timedelta

    from django.db.models import Sum

    from pagecache.models import PageCacheStat

    hour = current_hour()

    def totals(qs) -> dict[str, int]:
        return dict(qs.values_list("name").annotate(n=Sum("count")).values_list("name", "n"))

    this_hour = totals(PageCacheStat.objects.filter(hour__gte=hour))
    day = totals(PageCacheStat.objects.filter(hour__gte=hour - timedelta(hours=23)))
    ever = totals(PageCacheStat.objects.all())
    return [
        {
            "name": n,
            "label": LABELS[n],
            "meaning": MEANINGS[n],
            "hour": this_hour.get(n, 0),
            "day": day.get(n, 0),
            "ever": ever.get(n, 0),
        }
        for n in NAMES
    ]
