"""Per-process event counters that end up in Postgres, one row per hour and name.

The picker (``assignments.picker_stats``) and the page cache (``pagecache.stats``) both count
events on their hot paths for ``/staff/cache/``. A count is a lock and a dict increment: nothing
on a request's path touches a server. Each process adds its counts to Postgres (through the
owning app's action, named by ``store``: this module imports no feature app):

- at most every ``flush_seconds``, on the counting thread or, with ``background=True``, on a
  short-lived thread (so a page-cache hit never waits for the database);
- at process exit (``atexit``, registered by the first count, so only processes that count flush,
  in the process that counted);
- when the staff page is served (that process's counts).

On a database error the counts are kept for the next flush. They are lost only when a process
dies without running its exit hooks (SIGKILL, a crash in C code) or when Postgres is unreachable
at its exit.
"""

from __future__ import annotations

import atexit
import importlib
import logging
import threading
import time
from collections import Counter
from datetime import datetime

from django.db import DatabaseError, connection
from django.utils import timezone


def current_hour() -> datetime:
    return timezone.now().replace(minute=0, second=0, microsecond=0)


class HourlyCounter:
    def __init__(
        self,
        *,
        store: str,
        logger: str,
        what: str,
        flush_seconds: float = 10.0,
        background: bool = False,
        metric: str = "",
    ) -> None:
        # ``store``: "module:function" taking ``rows=[(hour, name, n), ...]``. Resolved at flush
        # time: counters are created before Django's app registry is ready (Celery signals).
        self.store = store
        self.log = logging.getLogger(logger)
        self.what = what
        self.flush_seconds = flush_seconds
        self.background = background
        self._lock = threading.Lock()
        self._pending: Counter[tuple[datetime, str]] = Counter()
        self._last_flush = time.monotonic()
        self._flushing = False
        self._exit_flush_registered = False
        # ``metric``: "module:function" taking (name, n), called on every count (lib/metrics.py:
        # the same events as Prometheus counters, which are never lost and need no flush).
        self.metric = metric
        self._metric_function = None

    def count(self, name: str, n: int = 1) -> None:
        """Count ``n`` events; adds them to Postgres when the last flush is old enough."""
        if n <= 0:
            return
        if self.metric:
            self._count_metric(name, n)
        with self._lock:
            self._pending[(current_hour(), name)] += n
            due = not self._flushing and time.monotonic() - self._last_flush >= self.flush_seconds
            if due and self.background:
                self._flushing = True
            if not self._exit_flush_registered:
                atexit.register(self.flush)
                self._exit_flush_registered = True
        if not due:
            return
        if self.background:
            threading.Thread(
                target=self._flush_in_background, name=f"{self.what}-counts", daemon=True
            ).start()
        else:
            self.flush()

    def _count_metric(self, name: str, n: int) -> None:
        if self._metric_function is None:
            module, function = self.metric.split(":")
            self._metric_function = getattr(importlib.import_module(module), function)
        self._metric_function(name, n)  # type: ignore[misc]  # set just above

    def _flush_in_background(self) -> None:
        try:
            self.flush()
        finally:
            connection.close()  # this thread's connection goes back to the pool
            with self._lock:
                self._flushing = False

    def pending(self) -> dict[str, int]:
        """This process's counts not yet in Postgres, by name."""
        totals: Counter[str] = Counter()
        with self._lock:
            for (_, name), n in self._pending.items():
                totals[name] += n
        return dict(totals)

    def flush(self) -> None:
        """Add this process's counts to Postgres; on a database error they wait for the next flush."""
        with self._lock:
            rows = [(hour, name, n) for (hour, name), n in self._pending.items() if n]
            self._pending.clear()
            self._last_flush = time.monotonic()
        if not rows:
            return
        module, function = self.store.split(":")
        try:
            getattr(importlib.import_module(module), function)(rows=rows)
        except DatabaseError as exc:
            self.log.warning("could not store %s counts (kept for the next flush): %r", self.what, exc)
            with self._lock:
                for hour, name, n in rows:
                    self._pending[(hour, name)] += n

    def reset_pending(self) -> None:
        """Forget unflushed counts (tests)."""
        with self._lock:
            self._pending.clear()
