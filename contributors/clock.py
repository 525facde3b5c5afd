"""The time the 48-hour window is measured against, controllable by tests.

Production reads ``timezone.now()``. Tests move the clock (``clock.frozen(moment)``) to cross
the window's boundaries without sleeping; the state lives on the one :class:`Clock` instance.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from datetime import datetime

from django.utils import timezone


class Clock:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._frozen: datetime | None = None

    def now(self) -> datetime:
        frozen = self._frozen
        return frozen if frozen is not None else timezone.now()

    @contextlib.contextmanager
    def frozen(self, moment: datetime) -> Iterator[Clock]:
        """Make ``now()`` return ``moment`` (and what ``set`` moves it to) inside the block."""
        with self._lock:
            before, self._frozen = self._frozen, moment
        try:
            yield self
        finally:
            with self._lock:
                self._frozen = before

    def set(self, moment: datetime) -> None:
        """Move a frozen clock (inside ``frozen``)."""
        if self._frozen is None:
            raise RuntimeError("the clock is not frozen")
        self._frozen = moment


clock = Clock()
