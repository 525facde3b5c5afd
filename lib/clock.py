"""A monotonic clock that tests can freeze and move: the seconds a process's in-memory expiries
are measured against (the picker's breaker and caches, the page cache's soft generations).

Production reads ``time.monotonic()``. Tests freeze it (``clock.frozen(t)``) and move it
(``clock.advance(s)``) to cross an expiry without sleeping and without patching
``time.monotonic`` for the whole process. Each user holds its own instance, so freezing one
freezes nothing else. (``contributors.clock`` is the same idea for wall-clock datetimes.)
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator


class Clock:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frozen: float | None = None

    def now(self) -> float:
        frozen = self._frozen
        return frozen if frozen is not None else time.monotonic()

    @contextlib.contextmanager
    def frozen(self, at: float | None = None) -> Iterator[Clock]:
        """Make ``now()`` return ``at`` (default: the real now), and what ``advance`` moves it to,
        inside the block."""
        with self._lock:
            before, self._frozen = self._frozen, time.monotonic() if at is None else at
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
