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
NAMES = (HIT, MISS, BYPASS, NOT_STORED, BUMP, NGINX_STORED)
LABELS = {
    HIT: "Pages served from the cache",
    MISS: "Pages rendered and stored (miss)",
    BYPASS: "Rendered without the cache (memcached down)",
    NOT_STORED: "Rendered but not storable (cookie set, not a 200)",
    BUMP: "Generations bumped by writes",
    NGINX_STORED: "Copies stored for nginx",
}

# Flushed on a background thread: a cache hit never waits for the database.
COUNTER = HourlyCounter(
    store="pagecache.actions:add_page_cache_counts",
    logger="crowd.pagecache",
    what="page cache",
    background=True,
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
            "hour": this_hour.get(n, 0),
            "day": day.get(n, 0),
            "ever": ever.get(n, 0),
        }
        for n in NAMES
    ]
