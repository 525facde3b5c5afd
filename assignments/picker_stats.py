"""Counters of how the next-page picker served, for ``/staff/cache/``.

Where the counts live, and why: a fallback is used precisely when Redis or memcached is down,
so neither can hold the count of its own outage. Postgres is the one server the picker cannot
do without, so the counts end up there (``PickerStat``, one row per hour and source). To keep
the hot path free of writes, each process counts in memory and adds its counts to Postgres (one
``INSERT ... ON CONFLICT`` for all sources) with ``lib.hourly_counts.HourlyCounter``:

- at the first ``count()`` at least ``flush_seconds`` after its last flush;
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

from lib.hourly_counts import HourlyCounter

# Sources of a pick (PickResult.source) and the other events counted.
REDIS = "redis"
POOL = "pool"
POSTGRES = "postgres"
NOTHING_LEFT = "nothing-left"
BUSY = "busy"  # every page the reviewer could review is fully reserved by others right now
STALE_REMOVED = "stale-removed"  # ids found in Redis or the pool that Postgres disagreed with
REDIS_UNAVAILABLE = "redis-unavailable"  # Redis down, or its sets not (yet) rebuilt
POOL_UNAVAILABLE = "pool-unavailable"  # memcached down
POOL_REFILLED = "pool-refilled"
GOLD = "gold"  # a known-answer page mixed in (issue 25: settings.PICKER_GOLD_HOOK)
SOURCES = (REDIS, POOL, POSTGRES, NOTHING_LEFT, BUSY)
EVENTS = (STALE_REMOVED, REDIS_UNAVAILABLE, POOL_UNAVAILABLE, POOL_REFILLED)

# Flushed on the counting thread: a pick already talks to Postgres, one more insert every ten
# seconds is nothing beside it.
COUNTER = HourlyCounter(
    store="assignments.actions:add_picker_counts",
    logger="crowd.picker",
    what="picker",
    metric="lib.metrics:count_picker",  # crowd_picker_picks_total{source}, crowd_picker_events_total
)
count = COUNTER.count
pending = COUNTER.pending
flush = COUNTER.flush
reset_pending = COUNTER.reset_pending
