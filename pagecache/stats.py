"""Counts of the page cache (hits, misses, bypasses, generation bumps) for ``/staff/cache/``.

Counted in memory per process (a lock and a dict increment: nothing on the request's path
touches a server), and added to Postgres (``PageCacheStat``, one row per hour and name) by a
short-lived background thread at most every ``FLUSH_SECONDS``, at process exit (``atexit``) and
when ``/staff/cache/`` is served. A hit never waits for the database. Lost like the picker's
counts (``assignments.picker_stats``): only when a process dies without its exit hooks.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections import Counter
from datetime import datetime

from django.db import DatabaseError, connection
from django.utils import timezone

log = logging.getLogger("crowd.pagecache")

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

FLUSH_SECONDS = 10.0

_lock = threading.Lock()
_pending: Counter[tuple[datetime, str]] = Counter()
_last_flush = time.monotonic()
_flushing = False
_exit_flush_registered = False


def _hour() -> datetime:
    return timezone.now().replace(minute=0, second=0, microsecond=0)


def count(name: str, n: int = 1) -> None:
    global _exit_flush_registered, _flushing
    if n <= 0:
        return
    with _lock:
        _pending[(_hour(), name)] += n
        due = not _flushing and time.monotonic() - _last_flush >= FLUSH_SECONDS
        if due:
            _flushing = True
        if not _exit_flush_registered:
            atexit.register(flush)
            _exit_flush_registered = True
    if due:
        threading.Thread(target=_flush_in_background, name="pagecache-stats", daemon=True).start()


def _flush_in_background() -> None:
    global _flushing
    try:
        flush()
    finally:
        connection.close()  # this thread's connection goes back to the pool
        with _lock:
            _flushing = False


def pending() -> dict[str, int]:
    totals: Counter[str] = Counter()
    with _lock:
        for (_, name), n in _pending.items():
            totals[name] += n
    return dict(totals)


def flush() -> None:
    """Add this process's counts to Postgres; on a database error they wait for the next flush."""
    global _last_flush
    with _lock:
        rows = [(hour, name, n) for (hour, name), n in _pending.items() if n]
        _pending.clear()
        _last_flush = time.monotonic()
    if not rows:
        return
    try:
        from pagecache.actions import add_page_cache_counts  # models: not before the app registry

        add_page_cache_counts(rows=rows)
    except DatabaseError as exc:
        log.warning("could not store page cache counts (kept for the next flush): %r", exc)
        with _lock:
            for hour, name, n in rows:
                _pending[(hour, name)] += n


def reset_pending() -> None:
    with _lock:
        _pending.clear()


def summary() -> list[dict]:
    """Per name: this hour, the last 24 hours and all time (``/staff/cache/``)."""
    from datetime import timedelta

    from django.db.models import Sum

    from pagecache.models import PageCacheStat

    hour = _hour()

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
