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
from dataclasses import dataclass

import redis
from django.conf import settings

from assignments import picker_stats as stats
from assignments.models import Assignment
from assignments.picker.check import check
from assignments.picker.claims import copy_claim
from assignments.picker.drawing import DrawArgs, DrawReply, soft_grace
from assignments.picker.holds import ABSENT
from assignments.picker.redis_source import RedisUnavailable, _Pick, redis_client, redis_failed
from assignments.picker.scripts import CONFIRM, PROMOTE, RELEASE, holder_for
from lib import keys
from lib.redis_scripts import execute

log = logging.getLogger("crowd.picker")

# The next slot takes a page only while at least this many pages have a free place (the one it
# takes included), so it never holds one of the last pages someone else could be given.
MIN_FREE_PAGES = 4


def next_slot(holder: str) -> str:
    """The holder of a reviewer's following page (never a holder ``holder_for`` makes: those
    start with v, u or t)."""
    return "n" + holder


def _remembered_holder(uid: int | None, token: str | None) -> str | None:
    holder, remembered = holder_for(uid, token)
    return holder if remembered else None


def pick_following_page(
    *, assignment: Assignment, uid: int | None, token: str | None, current_page_id: int, address: str = ""
) -> int | None:
    """Reserve (or find again) this reviewer's following page in ``assignment``, never
    ``current_page_id``; None when there is none to offer cheaply (the submit picks then)."""
    return screen_holds(
        assignment=assignment,
        uid=uid,
        token=token,
        current_page_id=current_page_id,
        address=address,
        confirm=False,
        prefetch=True,
    ).following


@dataclass(frozen=True)
class ScreenHolds:
    """What the review screen's one round trip found: the current page's reservation
    (``holds.HELD``, ``RESERVED``, ``LIMIT``, ``FULL`` or ``ABSENT``; see ``confirm.lua``) and the
    reviewer's following page (None: none to offer cheaply)."""

    state: str = ABSENT
    following: int | None = None


def screen_holds(
    *,
    assignment: Assignment,
    uid: int | None,
    token: str | None,
    current_page_id: int,
    address: str = "",
    confirm: bool = True,
    prefetch: bool = True,
) -> ScreenHolds:
    """The review screen's reservations, in one round trip on the assignment's slot: with
    ``confirm``, the current page's (made firm, or taken if free: ``holds.confirm_page``); with
    ``prefetch``, the following page's (reserved or found again under the next slot)."""
    if settings.PICKER_RESERVATION_SECONDS <= 0:
        return ScreenHolds()  # without reservations nobody could come back to either
    holder = _remembered_holder(uid, token)
    if holder is None or not (confirm or prefetch):
        return ScreenHolds()  # a browser nobody can recognise on its submit
    slot = next_slot(holder)
    try:
        r = redis_client()
        pipe = r.pipeline(transaction=False)
        if confirm:
            CONFIRM.add(
                pipe,
                assignment.pk,
                current_page_id,
                settings.PICKER_RESERVATION_SECONDS,
                holder,
                address,
                settings.PICKER_MAX_HOLDS_PER_ADDRESS,
                soft_grace(True),
            )
        if prefetch:
            DrawArgs.for_draw(
                assignment.pk,
                4,
                claim=True,
                order=assignment.order,
                holder=slot,
                remember=True,
                exclude=(current_page_id,),
                address=address,
            ).add(pipe)
        replies = execute(pipe, r)
        state = str(replies[0]) if confirm else ABSENT
        following = None
        if prefetch:
            following = _settle_following(
                r, assignment, uid, slot, address, DrawReply.parse(replies[-1]), current_page_id
            )
        return ScreenHolds(state, following)
    except RedisUnavailable:
        return ScreenHolds()
    except redis.RedisError as exc:
        redis_failed(exc)
        return ScreenHolds()


def _settle_following(
    r: redis.Redis,
    assignment: Assignment,
    uid: int | None,
    slot: str,
    address: str,
    drawn: DrawReply,
    current_page_id: int,
) -> int | None:
    """The following page the draw claimed for the next slot, once it passes the same checks as
    any pick (or the next candidate); None, its claim given back, when it may not be held."""
    if drawn.mirror_missing or drawn.claimed is None:
        return None
    pick = _Pick(r, assignment, uid, slot, True, None, address)
    if not drawn.reserved:
        return None  # the address holds its limit: no place is held for a prefetch
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


def take_following_page(
    *, assignment: Assignment, uid: int, token: str | None, current_page_id: int
) -> int | None:
    """After ``uid`` submitted or skipped ``current_page_id``: their following page, now
    reserved for them as their page, if it is still valid for them; else None (and the next
    slot is emptied), and the caller picks as usual.

    ``token``: the visitor (the same before and after a first review made ``uid``: the
    following page was reserved under the same name it is taken under)."""
    if settings.PICKER_RESERVATION_SECONDS <= 0:
        return None
    holder = _remembered_holder(uid, token)
    if holder is None:
        return None
    slot = next_slot(holder)
    try:
        r = redis_client()
        raw = r.hget(keys.assignment_holders(assignment.pk), slot)
        if raw is None:
            return None
        page_id = int(raw)
        checked = check(assignment, uid, [page_id]) if page_id != current_page_id else None
        seconds = settings.PICKER_RESERVATION_SECONDS
        if checked is None or page_id not in checked.valid:
            others = checked.others.get(page_id, []) if checked is not None else []
            _give_up(r, assignment.pk, others, page_id, slot)
            return None
        others = checked.others.get(page_id, [])
        moved, holds = (int(x) for x in PROMOTE.run(r, assignment.pk, page_id, slot, holder, seconds, "1"))
        if not moved:
            _give_up(r, assignment.pk, others, page_id, slot)
            return None
        if holds > checked.remaining(page_id, assignment.threshold):
            # Reviews committed since it was reserved: never more reservations than reviews needed.
            RELEASE.run(r, assignment.pk, page_id, holder, "release")
            _give_up(r, assignment.pk, others, page_id, slot)
            return None
        if others:
            # The copies of the claim in overlapping assignments move with it (or, where a copy
            # expired, are taken again: copy_claim gives the page up when one has no place).
            promote = r.pipeline(transaction=False)
            for other in others:
                PROMOTE.add(promote, other, page_id, slot, holder, seconds, "0")
            execute(promote, r)
            if copy_claim(r, others, page_id, holder) is None:
                RELEASE.run(r, assignment.pk, page_id, holder, "release")
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
        RELEASE.add(pipe, assignment_id, page_id, slot, "release")
    execute(pipe, r)
