"""Reservations ending when a reviewer submits or skips (``reviews.signals`` receivers call
these after commit), in every active assignment: a page may be in several, and a reservation
copied into an overlapping assignment ends with the original.

A review also takes one of the page's remaining reviews in every assignment that still has it
to do (its free places in the to-do mirror, see ``tiers.lua``); the page leaving the to-do set
at its threshold is ``assignments.denormalisations``' business (Postgres decides it).
"""

from __future__ import annotations

import redis

from assignments.picker.scripts import RELEASE_LUA, eval_args
from lib import keys
from lib.redis_client import get_redis


def end_reservations(*, page_id: int, user_id: int, reviewed: bool) -> None:
    """After commit: ``user_id`` reviewed (or skipped) ``page_id``. Two round trips, no query.
    Raises ``redis.RedisError`` (the caller logs and flags; reservations then expire)."""
    r = get_redis()
    active = r.smembers(keys.active_assignments())
    if not active:
        return
    pipe = r.pipeline(transaction=False)
    mode = "reviewed" if reviewed else "release"
    for assignment_id in sorted(int(a) for a in active):
        pipe.eval(*eval_args(RELEASE_LUA, assignment_id, page_id, f"u{user_id}", mode))
    pipe.execute()


def settle_pages(pipe: redis.client.Pipeline, assignment_id: int, remaining: dict[int, int]) -> None:
    """Queue on ``pipe``: set these pages' remaining reviews (threshold - review_count, from
    Postgres) in the assignment's to-do mirror, their live reservations still counted."""
    for page_id, left in remaining.items():
        pipe.eval(*eval_args(RELEASE_LUA, assignment_id, page_id, "", "settle", left))
