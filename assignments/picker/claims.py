"""Claims shared across overlapping assignments.

A page may be in several active assignments (a party and one of its members). A reviewer of
either should get another page while it is being reviewed, and a page has as many free places
as it still needs reviews in each of them: each claim the Redis source makes is copied into the
other active assignments (``copy.lua``) before the page is served, in one pipelined round trip,
and given up when one of them has no free place for it.
"""

from __future__ import annotations

import redis
from django.conf import settings

from assignments.picker.scripts import COPY_LUA, RELEASE_LUA, eval_args


def copy_claim(r: redis.Redis, others: list[int], page_id: int, holder: str) -> list[int] | None:
    """Take one of ``page_id``'s places in the other active assignments too (``copy.lua``): a
    page may be in several (a party and one of its members), its reviews count in all of them,
    and so must its reservations. One round trip. Returns the assignments where a place was
    taken (or the page is not to do), or None when one of them has no free place for it: then
    the places taken are given back and the caller gives the page up."""
    seconds = settings.PICKER_RESERVATION_SECONDS
    if not others or seconds <= 0:
        return []
    pipe = r.pipeline(transaction=False)
    for other in others:
        pipe.eval(*eval_args(COPY_LUA, other, page_id, holder, seconds))
    replies = pipe.execute()
    if all(int(x) for x in replies):
        return others
    undo = r.pipeline(transaction=False)
    for other, ok in zip(others, replies, strict=True):
        if int(ok):
            undo.eval(*eval_args(RELEASE_LUA, other, page_id, holder, "release"))
    undo.execute()
    return None
