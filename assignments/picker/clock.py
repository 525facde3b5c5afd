"""The picker's clocks. Tests freeze and move both (``lib.clock``) instead of sleeping.

``clock``: the monotonic seconds the process-wide state is measured against (the Redis circuit
breaker, the "nothing left" cache, the id ranges, the Postgres fallback's recent picks:
``assignments.picker.state``).

``reservations``: the seconds reservations are timed by (their expiry, a soft reservation's
grace): the Redis server's clock (``TIME``), read by the scripts themselves. Every web process
and worker hands out and ends the same reservations, so they must agree on when one ends,
whatever the skew of their own clocks: one clock, the server's, is the only one they share.
Frozen in a test, the scripts are given its time instead (:func:`script_argument`, the first
argument of every picker script: see ``tiers.lua``); in production nothing freezes it, and the
scripts read ``TIME`` as before.
"""

from __future__ import annotations

from lib.clock import Clock
from lib.redis_client import get_redis


def _server_seconds() -> float:
    """The Redis server's clock (``TIME``), in seconds."""
    seconds, micros = get_redis().time()
    return int(seconds) + int(micros) / 1_000_000


clock = Clock()
reservations = Clock(source=_server_seconds)


def script_argument() -> str:
    """The picker scripts' first argument: ``''`` (read the server's ``TIME``: production), or
    a frozen :data:`reservations` clock's time in microseconds."""
    frozen = reservations.frozen_at()
    return "" if frozen is None else str(round(frozen * 1_000_000))


def reservation_now_us(server_seconds: int, server_micros: int) -> int:
    """Now in the reservations' microseconds, given the server's ``TIME`` reply (read in the
    caller's pipeline): a frozen clock's time instead when there is one."""
    frozen = reservations.frozen_at()
    return (
        round(frozen * 1_000_000)
        if frozen is not None
        else int(server_seconds) * 1_000_000 + int(server_micros)
    )
