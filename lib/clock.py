"""A monotonic clock that tests can freeze and move: the seconds a process's in-memory expiries
are measured against (the picker's breaker and caches, the page cache's soft generations).

Production reads ``time.monotonic()``. Tests freeze it (``clock.frozen(t)``) and move it
(``clock.advance(s)``) to cross an expiry without sleeping and without patching
``time.monotonic`` for the whole process. Each user holds its own instance, so freezing one
freezes nothing else. (``contributors.clock`` is the same idea for wall-clock datetimes.)

A clock may read another source than ``time.monotonic()`` (``Clock(source=...)``): the picker's
reservations are timed by the Redis server's clock (``assignments.picker.clock.reservations``),
and a frozen one is handed to its scripts instead (``frozen_at``).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator


class Clock:
    def __init__(self, source: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._frozen: float | None = None
        self._source = source

    def now(self) -> float:
        frozen = self._frozen
        return frozen if frozen is not None else self._source()

    def frozen_at(self) -> float | None:
        """The time a frozen clock shows; None when it runs (always, in production)."""
        return self._frozen

    @contextlib.contextmanager
    def frozen(self, at: float | None = None) -> Iterator[Clock]:
        """Make ``now()`` return ``at`` (default: the real now), and what ``advance`` moves it to,
        inside the block."""
        with self._lock:
            before, self._frozen = self._frozen, self._source() if at is None else at
        try:
            yield self
        finally:
            with self._lock:
                self._frozen = before

    def advance(self, seconds: float) -> None:
        """Move a frozen clock on (inside ``frozen``)."""
        with self._lock:
            if self._frozen is None:
                raise RuntimeError("the clock is not frozen")
            self._frozen += seconds
