"""The picker's process-wide state, in one object.

Everything the picker remembers between picks in this process lives in :data:`STATE` (one
:class:`PickerState`), and :func:`reset_state` forgets all of it at once (tests switching
servers, a process that wants a clean start). Each part is guarded by its own lock where
threads may race on it; none of it is shared across processes.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any


@dataclass
class PickerState:
    # The Redis circuit breaker: until this clock.now() (assignments.picker.clock), Redis is skipped (a dead server
    # costs one timeout, not one per pick). See redis_source.REDIS_DEAD_SECONDS.
    redis_dead_until: float = 0.0
    # "Nothing left" confirmed by Postgres, per (assignment, reviewer id or None): the
    # clock.now() until which it is believed. See redis_source.confirm_nothing_left.
    nothing_left: dict[tuple[int, int | None], float] = field(default_factory=dict)
    nothing_left_lock: threading.Lock = field(default_factory=threading.Lock)
    # Each assignment's page id range: (expires at, smallest id, largest id).
    # See postgres_source.id_range.
    ranges: dict[int, tuple[float, int | None, int | None]] = field(default_factory=dict)
    ranges_lock: threading.Lock = field(default_factory=threading.Lock)
    # The (assignment, page) ids the Postgres fallback handed out recently, with the time, oldest
    # first. See postgres_source.spread.
    pg_recent: OrderedDict[tuple[int, int], float] = field(default_factory=OrderedDict)
    pg_recent_lock: threading.Lock = field(default_factory=threading.Lock)
    # Database connections on which the check runs with a generic plan. See check.run_check.
    generic_plan_connections: weakref.WeakSet[Any] = field(default_factory=weakref.WeakSet)

    def reset(self) -> None:
        """Forget everything, in place (modules hold a reference to this object)."""
        self.redis_dead_until = 0.0
        with self.nothing_left_lock:
            self.nothing_left.clear()
        with self.ranges_lock:
            self.ranges.clear()
        with self.pg_recent_lock:
            self.pg_recent.clear()
        self.generic_plan_connections = weakref.WeakSet()


STATE = PickerState()


def reset_state() -> None:
    """Forget the Redis circuit breaker and this process's caches (tests switching servers)."""
    STATE.reset()
