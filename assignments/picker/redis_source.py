"""Source 1, Redis (normal): draw from the assignment's incrementally kept to-do set.

One Lua script on the assignment's hash slot (``draw.lua``) reads the size of the to-do set,
draws a uniform sample of it, reads the reservations of the ids drawn and claims one of them;
the claimed id is checked in Postgres; a refused claim is released and the rest of the draw is
tried, then bounded further draws, then (only when it is small) the whole set. See the package
docstring for the order and the cost. The draw's arguments and replies are in ``drawing``; the
corrections a pick makes to Redis when Postgres disagrees in ``repair``.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings

from assignments import picker_stats as stats
from assignments.models import Assignment
from assignments.picker.check import Checked, check
from assignments.picker.claims import copy_claim
from assignments.picker.clock import clock, reservation_now_us
from assignments.picker.drawing import (
    ENUMERATE_LIMIT,
    MORE_DRAWS,
    SEEN_FAMILY,
    TODO_FAMILY,
    draw,
    first_round_trip,
    soft_grace,
)
from assignments.picker.postgres_source import pick_from_postgres
from assignments.picker.repair import family_ready, mirror_missing, repair_redis
from assignments.picker.result import PickResult
from assignments.picker.scripts import PREEMPT, RELEASE, RESERVE, holder_for
from assignments.picker.state import STATE
from lib import keys
from lib.redis_client import get_redis

log = logging.getLogger("crowd.picker")

WHOLE_SET_MAX = 20_000  # never walk a to-do set larger than this (plus ENUMERATE_LIMIT)
CHECK_FIRST = 4  # candidates checked in Postgres before the rest of a round (most are valid)
SEEN_FILTER_RATIO = 8  # first draws skip SMISMEMBER while seen set < to-do set / this (few seen)
REDIS_DEAD_SECONDS = 2.0
NOTHING_LEFT_CACHE_SECONDS = 15.0


class RedisUnavailable(Exception):
    """Redis failed moments ago (the circuit breaker is open), or its sets are not built."""


# --- the circuit breaker -------------------------------------------------------------------------


def redis_client() -> redis.Redis:
    """The shared client, unless Redis failed moments ago (``REDIS_DEAD_SECONDS``): a dead server
    costs one timeout, not one per pick."""
    if STATE.redis_dead_until > clock.now():
        raise RedisUnavailable("Redis failed recently")
    return get_redis()


def redis_failed(exc: Exception) -> None:
    """Open the circuit breaker: skip Redis for ``REDIS_DEAD_SECONDS``."""
    STATE.redis_dead_until = clock.now() + REDIS_DEAD_SECONDS
    log.warning("picker: Redis unavailable: %r", exc)


# --- claiming (the draw: drawing.py; Redis corrected: repair.py) ---------------------------------


@dataclass
class _Pick:
    """One pick on the Redis path: who asks, where, and the round trips it may still make."""

    r: redis.Redis
    assignment: Assignment
    uid: int | None
    holder: str
    remember: bool
    seen_key: str | None
    address: str = ""
    soft: bool = False

    @property
    def aid(self) -> int:
        return self.assignment.pk

    def release(self, page_id: int) -> None:
        """Give back this holder's place on the page (a claim the check refused)."""
        if settings.PICKER_RESERVATION_SECONDS > 0:
            RELEASE.run(self.r, self.aid, page_id, self.holder, "release")

    def accept(self, page_id: int, checked: Checked, holds: int, *, reserved: bool = True) -> bool:
        """A claimed page passes: Postgres finds it servable, it has no more live reservations
        than reviews still needed (else the mirror over-counted its free places: corrected),
        and the overlapping assignments containing it have a place for it too. Otherwise its
        claim is given back and False. ``reserved`` False: the page had a free place but this
        address holds its limit of reservations, so it is served without one (nothing to copy
        or give back)."""
        if page_id not in checked.valid:
            repair_redis(
                self.r, self.aid, self.uid, checked, release=(page_id, self.holder) if reserved else None
            )
            return False
        if settings.PICKER_RESERVATION_SECONDS <= 0 or not reserved:
            return True
        if holds > checked.remaining(page_id, self.assignment.threshold):
            # A review committed and its reservation not ended yet (its after-commit update is on
            # its way, which also corrects the free places), or the mirror drifted (the periodic
            # check repairs it): never more reservations than reviews needed.
            self.release(page_id)
            return False
        # Copies are firm even for a soft claim: a take-over frees the place here only, and the
        # copies expire (under-use for a while, never over-assignment).
        if copy_claim(self.r, checked.others.get(page_id, []), page_id, self.holder) is None:
            self.release(page_id)
            return False
        return True

    def _argv(self) -> list[Any]:
        return [
            settings.PICKER_RESERVATION_SECONDS,
            self.holder,
            "1" if self.remember else "0",
            self.address,
            settings.PICKER_MAX_HOLDS_PER_ADDRESS,
            soft_grace(self.soft),
        ]

    def reserve(self, candidates: list[int]) -> tuple[int | None, int, bool]:
        """Claim the first of ``candidates`` (checked, best first) with a free place:
        ``(page, its live reservations, reserved)``; ``reserved`` False when this address holds
        its limit (the page is then served without a reservation)."""
        reply = RESERVE.run(self.r, self.aid, *self._argv(), *candidates)
        if not reply:
            return None, 0, False
        return int(reply[0]), int(reply[1]), bool(int(reply[2]))

    def preempt(self, members: tuple[str, ...]) -> int | None:
        """No page has a free place: take over the first following-page hold (``members``,
        soonest expiry first) whose page this reviewer may review. The prefetch's owner picks
        afresh on their submit; a reviewer with nothing on screen never waits for a prefetch."""
        by_page: dict[int, str] = {}
        for member in members:
            page, _, _ = member.partition(":")
            if page.isdigit():
                by_page.setdefault(int(page), member)
        if not by_page:
            return None
        checked = check(self.assignment, self.uid, list(by_page))
        candidates = [by_page[p] for p in checked.valid]
        if not candidates:
            return None
        reply = PREEMPT.run(self.r, self.aid, *self._argv(), *candidates)
        if not reply:
            return None
        page_id, holds = int(reply[0]), int(reply[1])
        return page_id if self.accept(page_id, checked, holds) else None

    def unseen(self, ids: list[int]) -> list[int]:
        """``ids`` less those in the reviewer's seen set (one round trip; none without one)."""
        if not self.seen_key or not ids:
            return ids
        seen = self.r.smismember(self.seen_key, ids)
        return [page_id for page_id, was_seen in zip(ids, seen, strict=True) if not was_seen]

    def try_candidates(self, ids: list[int], *, filter_seen: bool, preferred: bool = False) -> int | None:
        """Check ``ids`` (best first) in Postgres, a few first, and claim the first valid one
        with a free place. With ``preferred`` the valid ones are put in the assignment's order
        by their Postgres review counts (ids that came in no useful order)."""
        if filter_seen:
            ids = self.unseen(ids)
        for chunk in (ids[:CHECK_FIRST], ids[CHECK_FIRST:]):
            if not chunk:
                continue
            checked = check(self.assignment, self.uid, chunk)
            repair_redis(self.r, self.aid, self.uid, checked)
            valid = (
                checked.preferred(self.assignment.order)
                if preferred
                else [page_id for page_id in chunk if page_id in set(checked.valid)]
            )
            while valid:
                picked, holds, reserved = self.reserve(valid)
                if picked is None:
                    break
                if self.accept(picked, checked, holds, reserved=reserved):
                    return picked
                valid.remove(picked)
        return None

    def any_servable(self, ids: list[int]) -> bool:
        """Some of ``ids`` (pages with no free place) would be servable to this reviewer."""
        ids = self.unseen(ids)
        return bool(ids) and bool(check(self.assignment, self.uid, ids).valid)


def pick_from_redis(
    assignment: Assignment, uid: int | None, token: str | None = None, address: str = "", soft: bool = False
) -> PickResult | None:
    """A page from the Redis sets; None when Redis cannot decide (rare: see the package doc).
    ``token``: the visitor (see ``scripts.holder_for``); ``address``: the client address its
    reservations count against (``PICKER_MAX_HOLDS_PER_ADDRESS``; "" for none)."""
    r = redis_client()
    aid = assignment.pk
    holder, remember = holder_for(uid, token)
    seen_key = keys.reviewer_seen(uid) if uid is not None else None
    first = first_round_trip(r, assignment, seen_key, holder, remember, address, soft)
    if not first.todo_built:
        family_ready(TODO_FAMILY)
        raise RedisUnavailable("to-do sets not built")
    drawn = first.draw
    if drawn.mirror_missing:
        mirror_missing(aid)
        raise RedisUnavailable("to-do mirror missing")
    seen_card = 0
    if seen_key:
        if first.seen_built:
            seen_card = first.seen_card
        else:
            # Without the seen set the Postgres check still refuses seen pages; just costlier.
            family_ready(SEEN_FAMILY)
            seen_key = None
    pick = _Pick(r, assignment, uid, holder, remember, seen_key, address, soft)
    examined: set[int] = set()
    if drawn.claimed is not None:
        # The usual case ends here: the id the script claimed passes the check (two round trips
        # in all). The check also refuses a page this reviewer has seen, which is why the first
        # draw needs no seen filter.
        examined.add(drawn.claimed)
        checked = check(assignment, uid, [drawn.claimed])
        if pick.accept(drawn.claimed, checked, drawn.claimed_holds, reserved=drawn.reserved):
            return PickResult(drawn.claimed, stats.REDIS)
    todo_card = drawn.card
    # The rest of the first draw: no seen filter while the reviewer has seen little of the set
    # (Postgres refuses those few anyway).
    filter_seen = bool(seen_key and seen_card * SEEN_FILTER_RATIO >= todo_card)
    batch, reply = drawn.ids, drawn
    for round_no in range(len(MORE_DRAWS) + 1):
        ids = [i for i in batch if i not in examined]
        examined.update(ids)
        picked = pick.try_candidates(ids, filter_seen=filter_seen)
        if picked is not None:
            return PickResult(picked, stats.REDIS)
        filter_seen = bool(seen_key)
        if reply.exhausted or reply.drawable == 0 or round_no == len(MORE_DRAWS):
            break
        reply = draw(r, aid, MORE_DRAWS[round_no], order=assignment.order, exclude=examined)
        batch = reply.ids
    if not (reply.exhausted or reply.drawable == 0):
        if todo_card <= ENUMERATE_LIMIT or (
            seen_key and todo_card <= min(seen_card, WHOLE_SET_MAX) + ENUMERATE_LIMIT
        ):
            picked = _try_whole_set(pick, examined)
            if picked is not None:
                return PickResult(picked, stats.REDIS)
        else:
            # Hundreds of draws from a large set all seen: statistically this needs the reviewer
            # to have seen nearly all of it, which the whole-set rule covers. Let Postgres decide
            # (its page is then reserved here: see take_fallback_pick).
            return None
    # No page with a free place is left for this reviewer. Pages with none (fully reserved by
    # others) that this reviewer could review: busy, not done.
    full = reply.full or drawn.full or _full_sample(r, aid)
    if full and pick.any_servable(full):
        # Before "busy": a place held only for someone's prefetch goes to this reviewer.
        preemptible = drawn.preemptible or _preemptible(r, aid)
        if preemptible and (taken := pick.preempt(preemptible)) is not None:
            return PickResult(taken, stats.REDIS)
        return PickResult(None, stats.BUSY)
    return confirm_nothing_left(assignment, uid, pick)


def _preemptible(r: redis.Redis, aid: int) -> tuple[str, ...]:
    """Following-page holds, soonest expiry first (a few)."""
    return tuple(str(member) for member in r.zrange(keys.assignment_soft_holds(aid), 0, 15))


def soonest_expiry_seconds(assignment_id: int) -> float | None:
    """Seconds until the assignment's first reservation expires (a place comes free), or None
    without reservations or Redis: what the busy page promises at most."""
    try:
        r = redis_client()
        pipe = r.pipeline(transaction=False)
        pipe.zrange(keys.assignment_holds(assignment_id), 0, 0, withscores=True)
        pipe.time()
        first, (now_s, now_us) = pipe.execute()
    except (RedisUnavailable, redis.RedisError):
        return None
    if not first:
        return None
    return max(0.0, (float(first[0][1]) - reservation_now_us(now_s, now_us)) / 1_000_000)


def _full_sample(r: redis.Redis, aid: int) -> list[int]:
    """Some pages with no free place (not a uniform sample: Postgres confirms the rest)."""
    members = r.zrangebyscore(keys.assignment_todo_rank(aid), 0, "+inf", start=0, num=64)
    return [int(x) for x in members]  # type: ignore[arg-type]  # members, no scores


def take_fallback_pick(
    assignment: Assignment,
    uid: int | None,
    token: str | None,
    page_id: int,
    address: str = "",
    soft: bool = False,
) -> PickResult:
    """Postgres chose ``page_id`` while Redis is up (Redis could not decide): reserve it here
    like any other, or say busy when it has no free place."""
    pick = _Pick(redis_client(), assignment, uid, *holder_for(uid, token), None, address, soft)
    if pick.r.zscore(keys.assignment_todo_rank(assignment.pk), page_id) is None:
        log.warning("picker: page %s of assignment %s is missing from Redis", page_id, assignment.pk)
        return PickResult(page_id, stats.POSTGRES)
    picked, _, _ = pick.reserve([page_id])
    if picked is None:
        return PickResult(None, stats.BUSY)
    return PickResult(page_id, stats.POSTGRES)


def _try_whole_set(pick: _Pick, examined: set[int]) -> int | None:
    """Examine every remaining member (bounded by the caller), in random order, the valid ones
    of each batch in the assignment's order."""
    rest: list[int] = []
    for member in pick.r.sscan_iter(keys.assignment_todo(pick.aid), count=1000):
        page_id = int(member)
        if page_id not in examined:
            rest.append(page_id)
    random.shuffle(rest)
    examined.update(rest)
    for start in range(0, len(rest), 256):
        picked = pick.try_candidates(rest[start : start + 256], filter_seen=True, preferred=True)
        if picked is not None:
            return picked
    return None


def confirm_nothing_left(assignment: Assignment, uid: int | None, pick: _Pick) -> PickResult:
    """Redis says nothing is left; Postgres (the truth) confirms before we say so.

    Every id in the set was already checked; this guards against ids missing from the set (and
    finds the pages fully reserved by others that the sample of them missed: busy, not done).
    A confirmed answer is remembered for ``NOTHING_LEFT_CACHE_SECONDS`` in this process so that
    reviewers bouncing on a finished assignment do not repeat the Postgres query. It is only
    consulted once the Redis pass found nothing: a page that reaches the to-do set (a new page,
    a review withdrawn, a raised threshold) is served at once, cache or not. A page missing
    from Redis (drift) waits for the entry to expire.
    """
    key = (assignment.pk, uid)
    with STATE.nothing_left_lock:
        if STATE.nothing_left.get(key, 0.0) > clock.now():
            return PickResult(None, stats.NOTHING_LEFT)
    result = pick_from_postgres(assignment, uid)
    if result.page_id is None:
        with STATE.nothing_left_lock:
            if len(STATE.nothing_left) > 10_000:
                STATE.nothing_left.clear()
            STATE.nothing_left[key] = clock.now() + NOTHING_LEFT_CACHE_SECONDS
        return result
    if pick.r.zscore(keys.assignment_todo_rank(assignment.pk), result.page_id) is None:
        log.warning("picker: page %s of assignment %s is missing from Redis", result.page_id, assignment.pk)
        return result
    picked, holds, reserved = pick.reserve([result.page_id])
    if picked is None:
        return PickResult(None, stats.BUSY)  # it is there, with no free place: others have it
    if pick.accept(picked, check(assignment, uid, [picked]), holds, reserved=reserved):
        return PickResult(picked, stats.REDIS)
    return PickResult(None, stats.BUSY)
