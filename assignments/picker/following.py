"""The following page: picked while the reviewer looks at the current one, so that the browser
can prefetch its image and Enter shows it at once (issue 13, "A faster review cycle").

Why a second reservation rather than something new: the following page is held exactly like a
page handed out (a place of the page, expiring after ``PICKER_RESERVATION_SECONDS``), under the
reviewer's *next slot*, the holder ``"n" + holder`` (``holder_for``). So every guarantee of the
reservations holds unchanged: a page needing ``k`` reviews is held by at most ``k`` holders at
once (the next slot is one of them), the slot is remembered like the reviewer's own page (a
reload of the screen gets the same following page back, and the same prefetched image), and
an abandoned one simply expires. Drawing it is the first draw of a normal Redis pick with the
current page left out, then the same Postgres check (not withdrawn, in the assignment, below
the threshold, not reviewed or skipped by this reviewer) and the same capacity rules
(``_Pick.accept``): never more reservations than reviews needed, overlapping assignments'
places copied; and only while at least ``MIN_FREE_PAGES`` pages have a free place, so that it
never makes another reviewer "busy" near the end of an assignment. It is bounded and best effort: the first draw only (one round trip and one
query when it passes), nothing when Redis is down or cannot decide quickly, and no "busy" or
"nothing left" verdict (the submit's normal pick gives those).

On submit, :func:`take_following_page` serves it only if it is still valid: the next slot's
reservation is live, and the Postgres check passes again *now* (another reviewer may have
taken it to the threshold, an editor may have withdrawn it, the reviewer may have reviewed it
in another tab). Then the reservation moves from the next slot to the reviewer (``promote.lua``,
atomically, in every assignment holding a copy) and the page is served as a Redis pick would
be. Anything else falls back to the normal pick.
"""

from __future__ import annotations

import logging

import redis
from django.conf import settings

from assignments import picker_stats as stats
from assignments.models import Assignment
from assignments.picker.check import check
from assignments.picker.claims import copy_claim
from assignments.picker.redis_source import (
    DrawArgs,
    DrawReply,
    RedisUnavailable,
    _Pick,
    redis_client,
    redis_failed,
)
from assignments.picker.scripts import PROMOTE_LUA, RELEASE_LUA, eval_args, holder_for
from lib import keys

log = logging.getLogger("crowd.picker")

# The next slot takes a page only while at least this many pages have a free place (the one it
# takes included), so it never holds one of the last pages someone else could be given.
MIN_FREE_PAGES = 4


def next_slot(holder: str) -> str:
    """The holder of a reviewer's following page (never a holder ``holder_for`` makes: those
    start with u, c or t)."""
    return "n" + holder


def _remembered_holder(uid: int | None, token: str | None) -> str | None:
    holder, remembered = holder_for(uid, token)
    return holder if remembered else None


def pick_following_page(
    *, assignment: Assignment, uid: int | None, token: str | None, current_page_id: int
) -> int | None:
    """Reserve (or find again) this reviewer's following page in ``assignment``, never
    ``current_page_id``; None when there is none to offer cheaply (the submit picks then)."""
    if settings.PICKER_RESERVATION_SECONDS <= 0:
        return None  # without reservations nobody could come back to it
    holder = _remembered_holder(uid, token)
    if holder is None:
        return None  # a browser nobody can recognise on its submit
    slot = next_slot(holder)
    try:
        r = redis_client()
        pipe = r.pipeline(transaction=False)
        args = DrawArgs.for_draw(
            assignment.pk,
            4,
            claim=True,
            order=assignment.order,
            holder=slot,
            remember=True,
            exclude=(current_page_id,),
        )
        pipe.eval(*args.eval_args())
        pipe.smembers(keys.active_assignments())
        raw, active = pipe.execute()
        drawn = DrawReply.parse(raw)
        if drawn.mirror_missing or drawn.claimed is None:
            return None
        pick = _Pick(
            r, assignment, uid, slot, True, None, [int(a) for a in active if int(a) != assignment.pk]
        )
        if not drawn.kept and drawn.drawable < MIN_FREE_PAGES:
            # Near the end of an assignment a second place per reviewer would leave others
            # "busy" while pages are held only to be prefetched: give it back.
            pick.release(drawn.claimed)
            return None
        if drawn.claimed == current_page_id:
            # The slot still held the page now on screen (reached some other way): give it up.
            pick.release(drawn.claimed)
            return None
        if pick.accept(drawn.claimed, check(assignment, uid, [drawn.claimed]), drawn.claimed_holds):
            return drawn.claimed
        rest = [i for i in drawn.ids if i not in (drawn.claimed, current_page_id)]
        return pick.try_candidates(rest, filter_seen=False) if rest else None
    except RedisUnavailable:
        return None
    except redis.RedisError as exc:
        redis_failed(exc)
        return None


def take_following_page(
    *, assignment: Assignment, uid: int, token: str | None, was_uid: int | None, current_page_id: int
) -> int | None:
    """After ``uid`` submitted or skipped ``current_page_id``: their following page, now
    reserved for them as their page, if it is still valid for them; else None (and the next
    slot is emptied), and the caller picks as usual.

    ``was_uid`` and ``token``: who the reviewer was when the page was shown (None and the
    browser's token for a visitor whose first submit just created ``uid``)."""
    if settings.PICKER_RESERVATION_SECONDS <= 0:
        return None
    was = _remembered_holder(was_uid, token)
    if was is None:
        return None
    slot, holder = next_slot(was), holder_for(uid)[0]
    try:
        r = redis_client()
        pipe = r.pipeline(transaction=False)
        pipe.hget(keys.assignment_holders(assignment.pk), slot)
        pipe.smembers(keys.active_assignments())
        raw, active = pipe.execute()
        if raw is None:
            return None
        page_id = int(raw)
        others = sorted(int(a) for a in active if int(a) != assignment.pk)
        checked = check(assignment, uid, [page_id]) if page_id != current_page_id else None
        seconds = settings.PICKER_RESERVATION_SECONDS
        if checked is None or page_id not in checked.valid:
            _give_up(r, assignment.pk, others, page_id, slot)
            return None
        moved, holds = (
            int(x)
            for x in r.eval(*eval_args(PROMOTE_LUA, assignment.pk, page_id, slot, holder, seconds, "1"))
        )
        if not moved:
            _give_up(r, assignment.pk, others, page_id, slot)
            return None
        if holds > checked.remaining(page_id, assignment.threshold):
            # Reviews committed since it was reserved: never more reservations than reviews needed.
            r.eval(*eval_args(RELEASE_LUA, assignment.pk, page_id, holder, "release"))
            _give_up(r, assignment.pk, others, page_id, slot)
            return None
        if others:
            # The copies of the claim in overlapping assignments move with it (or, where a copy
            # expired, are taken again: copy_claim gives the page up when one has no place).
            promote = r.pipeline(transaction=False)
            for other in others:
                promote.eval(*eval_args(PROMOTE_LUA, other, page_id, slot, holder, seconds, "0"))
            promote.execute()
            if copy_claim(r, others, page_id, holder) is None:
                r.eval(*eval_args(RELEASE_LUA, assignment.pk, page_id, holder, "release"))
                return None
    except RedisUnavailable:
        return None
    except redis.RedisError as exc:
        redis_failed(exc)
        return None
    stats.count(stats.REDIS)  # served as a Redis pick is, counted once, when served
    return page_id


def _give_up(r: redis.Redis, aid: int, others: list[int], page_id: int, slot: str) -> None:
    """End the next slot's reservation of ``page_id`` everywhere (its place is free again)."""
    pipe = r.pipeline(transaction=False)
    for assignment_id in [aid, *others]:
        pipe.eval(*eval_args(RELEASE_LUA, assignment_id, page_id, slot, "release"))
    pipe.execute()
