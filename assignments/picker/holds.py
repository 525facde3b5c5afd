"""Reservations ending when a reviewer submits or skips (``reviews.signals`` receivers call
these after commit), in the active assignments containing the page and no others: a page may be
in several, and a reservation copied into an overlapping assignment ends with the original. The
review's own transaction found those assignments (``assignments.actions``), so this costs the
same whatever the number of active assignments.

A review also takes one of the page's remaining reviews in every assignment that still has it
to do (its free places in the to-do mirror, see ``tiers.lua``); the page leaving the to-do set
at its threshold is ``assignments.denormalisations``' business (Postgres decides it).
"""

from __future__ import annotations

from collections.abc import Iterable

import redis

from assignments.picker.scripts import RELEASE
from lib.redis_client import get_redis
from lib.redis_scripts import execute


def end_reservations(
    *,
    page_id: int,
    user_id: int,
    reviewed: bool,
    assignment_ids: Iterable[int],
    holder: str | None = None,
) -> None:
    """After commit: ``user_id`` reviewed (or skipped) ``page_id``; their reservations of it end
    in ``assignment_ids`` (the active assignments containing the page), held under ``holder``
    (their visitor, see ``holder_for``) and under their user. One round trip, no query.
    Raises ``redis.RedisError`` (the caller logs and flags; reservations then expire)."""
    ids = sorted(set(assignment_ids))
    if not ids:
        return
    r = get_redis()
    pipe = r.pipeline(transaction=False)
    mode = "reviewed" if reviewed else "release"
    holders = [holder] if holder and holder != f"u{user_id}" else []
    for assignment_id in ids:
        RELEASE.add(pipe, assignment_id, page_id, f"u{user_id}", mode, "", *holders)
    execute(pipe, r)


def settle_pages(pipe: redis.client.Pipeline, assignment_id: int, remaining: dict[int, int]) -> None:
    """Queue on ``pipe`` (run with ``lib.redis_scripts.execute``): set these pages' remaining
    reviews (threshold - review_count, from Postgres) in the assignment's to-do mirror, their
    live reservations still counted."""
    for page_id, left in remaining.items():
        RELEASE.add(pipe, assignment_id, page_id, "", "settle", left)
