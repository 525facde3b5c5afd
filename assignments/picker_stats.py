"""Counters of how the next-page picker served, for ``/staff/cache/``.

Where the counts live, and why: a fallback is used precisely when Redis or memcached is down,
so neither can hold the count of its own outage. Postgres is the one server the picker cannot
do without, so the counts end up there (``PickerStat``, one row per hour and source). To keep
the hot path free of writes, each process counts in memory and adds its counts to Postgres (one
``INSERT ... ON CONFLICT`` for all sources):

- at the first ``count()`` at least ``FLUSH_SECONDS`` after its last flush;
- in Celery workers, at the end of the refill tasks (beat runs ``refill_pools`` every minute) and
  when a pool child process stops (``worker_process_shutdown``: billiard ends its children with
  ``os._exit``, which skips ``atexit``);
- when the process exits normally (``atexit``): a gunicorn worker stopped gracefully (SIGTERM,
  SIGINT or SIGQUIT, a restart, ``max_requests``), ``runserver``, a management command;
- when ``/staff/cache/`` is served (that process's counts).

So counts can wait: an idle web process holds its counts until its next pick or its exit, and the
staff page shows only its own unflushed counts. They are lost only when a process dies without
running its exit hooks (SIGKILL: the kernel's OOM killer, gunicorn's kill of a worker still busy
when ``--graceful-timeout`` ends or deaf to its request timeout's SIGABRT; a crash in C code), or
when Postgres is unreachable at its exit: then everything the process counted since its last
flush is gone, however long ago that was.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections import Counter
from datetime import datetime

from django.db import DatabaseError
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
_exit_flush_registered = False


def _hour() -> datetime:
    return timezone.now().replace(minute=0, second=0, microsecond=0)


def count(name: str, n: int = 1) -> None:
    """Count ``n`` events; adds them to Postgres when the last flush is old enough."""
    if n <= 0:
        return
    global _exit_flush_registered
    with _lock:
        _pending[(_hour(), name)] += n
        due = time.monotonic() - _last_flush >= FLUSH_SECONDS
        if not _exit_flush_registered:
            # Registered by the first count, not at import: only processes that count flush at
            # exit, and the hook runs in the process (e.g. the gunicorn worker) that counted.
            atexit.register(flush)
            _exit_flush_registered = True
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
        # Imported here: this module is loaded by Celery's signal handlers and the picker before
        # Django's app registry is ready, and the action imports models.
        from assignments.actions import add_picker_counts

        add_picker_counts(rows=rows)
    except DatabaseError as exc:
        log.warning("could not store picker counts (kept for the next flush): %r", exc)
        with _lock:
            for hour, name, n in rows:
                _pending[(hour, name)] += n


def reset_pending() -> None:
    """Forget unflushed counts (tests)."""
    with _lock:
        _pending.clear()
