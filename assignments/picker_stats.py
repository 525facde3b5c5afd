"""Counters of how the next-page picker served, for ``/staff/cache/``.

Where the counts live, and why: a fallback is used precisely when Redis or memcached is down,
so neither can hold the count of its own outage. Postgres is the one server the picker cannot
do without, so the counts end up there (``PickerStat``, one row per hour and source). To keep
the hot path free of writes, each process counts in memory and adds its counts to Postgres at
most every ``FLUSH_SECONDS`` (one ``INSERT ... ON CONFLICT`` for all sources), from whichever
request or task happens to come by. A process that dies loses at most that many seconds of
counts; the staff page also shows this process's unflushed counts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from datetime import datetime

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

log = logging.getLogger("crowd.picker")

# Sources of a pick (PickResult.source) and the other events counted.
REDIS = "redis"
POOL = "pool"
POSTGRES = "postgres"
NOTHING_LEFT = "nothing-left"
STALE_REMOVED = "stale-removed"  # ids found in Redis or the pool that Postgres disagreed with
REDIS_UNAVAILABLE = "redis-unavailable"  # Redis down, or its sets not (yet) rebuilt
POOL_UNAVAILABLE = "pool-unavailable"  # memcached down
POOL_REFILLED = "pool-refilled"
SOURCES = (REDIS, POOL, POSTGRES, NOTHING_LEFT)
EVENTS = (STALE_REMOVED, REDIS_UNAVAILABLE, POOL_UNAVAILABLE, POOL_REFILLED)

FLUSH_SECONDS = 10.0

_lock = threading.Lock()
_pending: Counter[tuple[datetime, str]] = Counter()
_last_flush = time.monotonic()


def _hour() -> datetime:
    return timezone.now().replace(minute=0, second=0, microsecond=0)


def count(name: str, n: int = 1) -> None:
    """Count ``n`` events; adds them to Postgres when the last flush is old enough."""
    if n <= 0:
        return
    with _lock:
        _pending[(_hour(), name)] += n
        due = time.monotonic() - _last_flush >= FLUSH_SECONDS
    if due:
        flush()


def pending() -> dict[str, int]:
    """This process's counts not yet in Postgres, by name."""
    totals: Counter[str] = Counter()
    with _lock:
        for (_, name), n in _pending.items():
            totals[name] += n
    return dict(totals)


def flush() -> None:
    """Add this process's counts to Postgres. On a database error they are kept for next time."""
    global _last_flush
    with _lock:
        rows = [(hour, name, n) for (hour, name), n in _pending.items() if n]
        _pending.clear()
        _last_flush = time.monotonic()
    if not rows:
        return
    try:
        # A savepoint when called inside a request's transaction: a failure here spoils nothing.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO assignments_pickerstat (hour, source, count) VALUES (%s, %s, %s) "
                "ON CONFLICT (hour, source) DO UPDATE "
                "SET count = assignments_pickerstat.count + EXCLUDED.count",
                rows,
            )
    except DatabaseError as exc:
        log.warning("could not store picker counts (kept for the next flush): %r", exc)
        with _lock:
            for hour, name, n in rows:
                _pending[(hour, name)] += n


def reset_pending() -> None:
    """Forget unflushed counts (tests)."""
    with _lock:
        _pending.clear()
