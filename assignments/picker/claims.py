"""Claims shared across overlapping assignments.

A page may be in several active assignments (a party and one of its members). A reviewer of
either should get another page while it is being reviewed, and a page has as many free places
as it still needs reviews in each of them: each claim the Redis source makes is copied into the
other active assignments *containing the page* (``copy.lua``; the Postgres check says which,
so a claim costs the same whatever the number of active assignments) before the page is served,
in one pipelined round trip, and given up when one of them has no free place for it.
"""

from __future__ import annotations

import redis
from django.conf import settings

from assignments.picker.scripts import COPY, RELEASE
from lib.redis_scripts import execute


def copy_claim(
    r: redis.Redis, others: list[int], page_id: int, holder: str, *, soft: bool = False
) -> list[int] | None:
    """Take one of ``page_id``'s places in ``others`` too (the other active assignments that
    contain it). One round trip. Returns the assignments where a place was taken (or the page is
    not to do), or None when one of them has no free place for it: then the places taken are
    given back and the caller gives the page up. ``soft``: the copies are soft reservations, as
    the original (see ``tiers.lua``)."""
    seconds = settings.PICKER_RESERVATION_SECONDS
    if not others or seconds <= 0:
        return []
    pipe = r.pipeline(transaction=False)
    for other in others:
        COPY.add(pipe, other, page_id, holder, seconds, settings.PICKER_SOFT_GRACE_SECONDS if soft else 0)
    replies = execute(pipe, r)
    if all(int(x) for x in replies):
        return others
    undo = r.pipeline(transaction=False)
    for other, ok in zip(others, replies, strict=True):
        if int(ok):
            RELEASE.add(undo, other, page_id, holder, "release")
    execute(undo, r)
    return None
