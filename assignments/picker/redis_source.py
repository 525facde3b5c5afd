"""Source 1, Redis (normal): draw from the assignment's incrementally kept to-do set.

One Lua script on the assignment's hash slot (``draw.lua``) reads the size of the to-do set,
draws a uniform sample of it, reads the reservations of the ids drawn and claims one of them;
the claimed id is checked in Postgres; a refused claim is released and the rest of the draw is
tried, then bounded further draws, then (only when it is small) the whole set. See the package
docstring for the order and the cost.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from importlib import resources
from typing import NamedTuple

import redis
from django.conf import settings

from assignments import picker_stats as stats
from assignments.models import Assignment
from assignments.picker.check import Checked, check
from assignments.picker.claims import share_claim
from assignments.picker.postgres_source import pick_from_postgres
from assignments.picker.result import PickResult
from assignments.picker.state import STATE
from lib import keys
from lib.redis_client import get_redis

log = logging.getLogger("crowd.picker")

TODO_FAMILY = "assignment-todo"
RANK_FAMILY = "assignment-todo-rank"
SEEN_FAMILY = "reviewer-seen"

FIRST_DRAW = 8  # ids drawn by rank in the first draw (each an O(log n) walk of the sorted set)
MORE_DRAWS = (64, 256)
ENUMERATE_LIMIT = 1000
WHOLE_SET_MAX = 20_000  # never walk a to-do set larger than this (plus ENUMERATE_LIMIT)
SMALL_SET = 48  # sets up to this size are drawn from whole (one SMEMBERS)
CHECK_FIRST = 4  # candidates checked in Postgres before the rest of a round (most are valid)
SEEN_FILTER_RATIO = 8  # first draws skip SMISMEMBER while seen set < to-do set / this (few seen)
REDIS_DEAD_SECONDS = 2.0
NOTHING_LEFT_CACHE_SECONDS = 15.0


class RedisUnavailable(Exception):
    """Redis failed moments ago (the circuit breaker is open), or its sets are not built."""


# --- the Lua scripts ----------------------------------------------------------------------------


def _load_script(name: str) -> str:
    """A script of this package, without its comment-only lines (its header documents KEYS and
    ARGV; EVAL sends the text with every call, so the comments are not sent)."""
    text = resources.files(__package__).joinpath(name).read_text()
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("--")) + "\n"


# EVAL, not EVALSHA through redis-py's Script: in a pipeline that costs a SCRIPT EXISTS round trip.
DRAW_LUA = _load_script("draw.lua")
RESERVE_LUA = _load_script("reserve.lua")


@dataclass(frozen=True)
class DrawArgs:
    """The arguments of ``draw.lua`` (see its header), by name."""

    assignment_id: int
    count: int
    claim: bool
    seconds: float
    fraction: float  # which free id drawn is claimed: random.random()
    seed: int  # the script's math.random seed for the ranks: random.getrandbits(31)
    small: int = SMALL_SET
    whole_max: int = ENUMERATE_LIMIT

    @classmethod
    def for_draw(cls, assignment_id: int, count: int, *, claim: bool) -> DrawArgs:
        """``count`` ids of the assignment drawn, and with ``claim`` one claimed. The randomness
        of the draw comes from Python's ``random`` (seeding it makes a draw reproducible)."""
        return cls(
            assignment_id=assignment_id,
            count=count,
            claim=claim,
            seconds=settings.PICKER_RESERVATION_SECONDS,
            fraction=random.random(),
            seed=random.getrandbits(31),
        )

    def keys(self) -> list[str]:
        aid = self.assignment_id
        return [keys.assignment_todo(aid), keys.assignment_reserved(aid), keys.assignment_todo_rank(aid)]

    def argv(self) -> list:
        return [
            self.count,
            self.small,
            self.seconds,
            int(self.seconds * 2000),  # expire_ms: twice the reservation
            self.fraction,
            self.seed,
            "1" if self.claim else "0",
            self.whole_max,
        ]

    def eval_args(self) -> tuple:
        """The arguments of ``Redis.eval`` (or of a pipeline's)."""
        script_keys = self.keys()
        return (DRAW_LUA, len(script_keys), *script_keys, *self.argv())


class DrawReply(NamedTuple):
    """The reply of ``draw.lua`` (see its header)."""

    card: int  # size of the to-do set
    ids: list[int]  # the ids drawn
    scores: list[float | None]  # their reservation scores (None: free)
    claimed: int | None  # the id claimed, if any
    previous: str | None  # the score the claimed id had (None: it was free), to put back
    biased: bool  # the mirror was missing: SRANDMEMBER served

    @classmethod
    def parse(cls, raw: list) -> DrawReply:
        card, ids, scores, claimed, previous, biased = raw
        return cls(
            card=int(card),
            ids=[int(x) for x in ids],
            scores=[None if sc is None else float(sc) for sc in scores],
            claimed=None if claimed is None else int(claimed),
            previous=previous,
            biased=bool(biased),
        )


@dataclass(frozen=True)
class ReserveArgs:
    """The arguments of ``reserve.lua`` (see its header), by name."""

    assignment_id: int
    seconds: float
    only_free: bool
    candidates: list[int]

    def keys(self) -> list[str]:
        return [keys.assignment_reserved(self.assignment_id)]

    def argv(self) -> list:
        return [self.seconds, int(self.seconds * 2000), "1" if self.only_free else "0", *self.candidates]


class FirstRoundTrip(NamedTuple):
    """The replies of the pick's first pipeline, by name."""

    todo_built: bool  # the to-do family's built marker
    draw: DrawReply
    seen_built: bool  # the seen family's built marker (False without a reviewer)
    seen_card: int  # size of the reviewer's seen set (0 without a reviewer)
    active: list[int]  # the active assignments


class SeenAndHeld(NamedTuple):
    """For each id of a round: seen by the reviewer (1/0), and its reservation score."""

    seen: list[int]
    scores: list[float | None]


# --- the circuit breaker and the registry -----------------------------------------------------


def redis_client() -> redis.Redis:
    """The shared client, unless Redis failed moments ago (``REDIS_DEAD_SECONDS``): a dead server
    costs one timeout, not one per pick."""
    if STATE.redis_dead_until > time.monotonic():
        raise RedisUnavailable("Redis failed recently")
    return get_redis()


def redis_failed(exc: Exception) -> None:
    """Open the circuit breaker: skip Redis for ``REDIS_DEAD_SECONDS``."""
    STATE.redis_dead_until = time.monotonic() + REDIS_DEAD_SECONDS
    log.warning("picker: Redis unavailable: %r", exc)


def _mirror_missing(assignment_id: int) -> None:
    """The to-do set has ids but its sorted-set mirror has none: SRANDMEMBER served (slightly
    biased) and the mirror is rebuilt by a queued task (one per lock period, however many ask)."""
    from denorm.operations import queue_rebuild

    if _family_ready(RANK_FAMILY):  # when the marker is gone too, this has queued the rebuild
        log.warning("picker: assignment %s has no to-do rank mirror; rebuild queued", assignment_id)
        queue_rebuild(RANK_FAMILY)


def _family_ready(name: str) -> bool:
    """The registry's verdict (it queues a rebuild when Redis lost the family)."""
    from denorm.operations import redis_family_ready

    return redis_family_ready(name)


# --- drawing and claiming ---------------------------------------------------------------------


def draw(r: redis.Redis, assignment_id: int, count: int) -> DrawReply:
    """``count`` ids drawn uniformly (no claim), with their reservation scores."""
    return DrawReply.parse(r.eval(*DrawArgs.for_draw(assignment_id, count, claim=False).eval_args()))


def _reserve(
    r: redis.Redis, assignment_id: int, candidates: list[int], *, only_free: bool = False
) -> int | None:
    """Claim one of ``candidates`` (valid pages, in preference order). With ``only_free``,
    claim nothing (None) when all are reserved: the caller has other candidates to try."""
    seconds = settings.PICKER_RESERVATION_SECONDS
    if seconds <= 0:
        return candidates[0]
    if STATE.reserve_script is None:
        STATE.reserve_script = r.register_script(RESERVE_LUA)
    args = ReserveArgs(
        assignment_id=assignment_id, seconds=seconds, only_free=only_free, candidates=candidates
    )
    chosen = STATE.reserve_script(keys=args.keys(), args=args.argv(), client=r)
    return None if chosen is None else int(chosen)


def pick_from_redis(assignment: Assignment, uid: int | None) -> PickResult | None:
    """A page from the Redis sets; None when Redis cannot decide (rare: see the package doc)."""
    r = redis_client()
    aid = assignment.pk
    seen_key = keys.reviewer_seen(uid) if uid is not None else None
    first = _first_round_trip(r, aid, seen_key)
    if not first.todo_built:
        _family_ready(TODO_FAMILY)
        raise RedisUnavailable("to-do sets not built")
    others = [a for a in first.active if a != aid]

    def served(page_id: int) -> PickResult:
        share_claim(STATE.deferred, others, page_id)
        return PickResult(page_id, stats.REDIS)

    drawn = first.draw
    if drawn.biased:
        _mirror_missing(aid)
    seen_card = 0
    if seen_key:
        if first.seen_built:
            seen_card = first.seen_card
        else:
            # Without the seen set the Postgres check still refuses seen pages; just costlier.
            _family_ready(SEEN_FAMILY)
            seen_key = None
    examined: set[int] = set()
    if drawn.claimed is not None:
        # The usual case ends here: the id the script claimed passes the check (two round trips
        # in all). The check also refuses a page this reviewer has seen, which is why the first
        # draw needs no seen filter.
        examined.add(drawn.claimed)
        checked = check(assignment, uid, [drawn.claimed])
        if checked.valid:
            return served(drawn.claimed)
        _repair_redis(r, aid, uid, checked, release=(drawn.claimed, drawn.previous))
    # The rest of the first draw: its reservation scores came with it, and its seen filter is
    # skipped while the reviewer has seen little of the set (Postgres refuses those few anyway).
    todo_card = drawn.card
    scores: dict[int, float | None] | None = None
    if not (seen_key and seen_card * SEEN_FILTER_RATIO >= todo_card):
        scores = dict(zip(drawn.ids, drawn.scores, strict=True))
    batch = drawn.ids
    whole_set = False
    for round_no in range(len(MORE_DRAWS) + 1):
        ids = [i for i in batch if i not in examined]
        examined.update(ids)
        picked = _try_candidates(r, assignment, uid, seen_key, ids, scores=scores)
        scores = None
        if picked is not None:
            return served(picked)
        if len(examined) >= todo_card:
            whole_set = True
            break
        if todo_card <= ENUMERATE_LIMIT or (
            seen_key and todo_card <= min(seen_card, WHOLE_SET_MAX) + ENUMERATE_LIMIT
        ):
            picked, whole_set = _try_whole_set(r, assignment, uid, seen_key, examined)
            if picked is not None:
                return served(picked)
            break
        if round_no < len(MORE_DRAWS):
            batch = draw(r, aid, MORE_DRAWS[round_no]).ids
    if not whole_set:
        # Hundreds of draws from a large set all seen: statistically this needs the reviewer to
        # have seen nearly all of it, which the whole-set rule covers. Let Postgres decide.
        return None
    return confirm_nothing_left(assignment, uid)


def _first_round_trip(r: redis.Redis, aid: int, seen_key: str | None) -> FirstRoundTrip:
    """One pipeline: the built markers, the first draw with its claim (one command on the
    assignment's slot), the size of the reviewer's seen set and the active assignments (other
    slots: separate commands, never inside the script)."""
    pipe = r.pipeline(transaction=False)
    pipe.exists(keys.built_marker(TODO_FAMILY))
    pipe.eval(*DrawArgs.for_draw(aid, FIRST_DRAW, claim=True).eval_args())
    if seen_key:
        pipe.exists(keys.built_marker(SEEN_FAMILY))
        pipe.scard(seen_key)
    pipe.smembers(keys.active_assignments())
    if seen_key:
        todo_built, raw_draw, seen_built, seen_card, active = pipe.execute()
    else:
        todo_built, raw_draw, active = pipe.execute()
        seen_built, seen_card = False, 0
    return FirstRoundTrip(
        todo_built=bool(todo_built),
        draw=DrawReply.parse(raw_draw),
        seen_built=bool(seen_built),
        seen_card=int(seen_card),
        active=[int(x) for x in active],
    )


def _try_whole_set(r, assignment, uid, seen_key, examined: set[int]) -> tuple[int | None, bool]:
    """Examine every remaining member (bounded by the caller), in random order."""
    rest: list[int] = []
    for member in r.sscan_iter(keys.assignment_todo(assignment.pk), count=1000):
        page_id = int(member)
        if page_id not in examined:
            rest.append(page_id)
    random.shuffle(rest)
    for start in range(0, len(rest), 256):
        picked = _try_candidates(r, assignment, uid, seen_key, rest[start : start + 256])
        if picked is not None:
            return picked, True
    return None, True


def _seen_and_held(r: redis.Redis, aid: int, seen_key: str | None, ids: list[int]) -> SeenAndHeld:
    """One pipeline: which of ``ids`` the reviewer has seen (when the seen set is used) and
    their reservation scores."""
    pipe = r.pipeline(transaction=False)
    if seen_key:
        pipe.smismember(seen_key, ids)
    pipe.zmscore(keys.assignment_reserved(aid), ids)
    if seen_key:
        seen, scores = pipe.execute()
    else:
        (scores,) = pipe.execute()
        seen = [0] * len(ids)
    return SeenAndHeld(seen=seen, scores=scores)


def _try_candidates(
    r, assignment: Assignment, uid, seen_key, ids: list[int], *, scores: dict[int, float | None] | None = None
) -> int | None:
    """Filter drawn ids by the seen set and reservations, check them in Postgres, claim one.

    With ``scores`` (the reservation scores read with the draw), no round trip here and no seen
    filter: the Postgres check refuses seen pages."""
    if not ids:
        return None
    aid = assignment.pk
    if scores is not None:
        looked_up = SeenAndHeld(seen=[0] * len(ids), scores=[scores.get(page_id) for page_id in ids])
    else:
        looked_up = _seen_and_held(r, aid, seen_key, ids)
    now = time.time() * 1_000_000  # reservation scores are microseconds (see reserve.lua)
    free: list[int] = []
    held: list[tuple[float, int]] = []
    for page_id, was_seen, score in zip(ids, looked_up.seen, looked_up.scores, strict=True):
        if was_seen:
            continue
        if score is None or score <= now:
            free.append(page_id)
        else:
            held.append((score, page_id))
    # Ids drawn (and SSCAN's, and SMEMBERS') come in no useful order: shuffle, so that choosing
    # the first valid one is uniform among the valid ones.
    random.shuffle(free)
    random.shuffle(held)
    held.sort(key=lambda item: item[0])
    ordered = free + [page_id for _, page_id in held]
    if not ordered:
        return None
    # Most candidates are valid: check a few first, the rest of the round only if needed (or if
    # other reviewers claimed all of the first few in the meantime: spread while we can).
    chunks = [ordered[:CHECK_FIRST], ordered[CHECK_FIRST:]]
    free_set = set(free)
    held_valid: list[int] = []
    for chunk in chunks:
        if not chunk:
            continue
        checked = check(assignment, uid, chunk)
        _repair_redis(r, aid, uid, checked)
        if checked.valid:
            # Ids that were held when drawn are not worth a round trip to try to claim now.
            if any(page_id in free_set for page_id in checked.valid):
                picked = _reserve(r, aid, checked.valid, only_free=True)
                if picked is not None:
                    return picked
            held_valid.extend(checked.valid)
    # All held by others: the one whose reservation expires first (handed out longest ago).
    return _reserve(r, aid, held_valid) if held_valid else None


def _repair_redis(
    r, aid: int, uid: int | None, checked: Checked, *, release: tuple[int, str | None] | None = None
) -> None:
    """Postgres disagreed with Redis: make Redis agree (and count it). ``release``: an id claimed
    before the check that the check refused, with the reservation it took over (None: it was
    free), which is put back so that the other reviewer keeps it."""
    if not (checked.gone or checked.full or (uid is not None and checked.seen) or release is not None):
        return
    pipe = r.pipeline(transaction=False)
    if release is not None:
        page_id, previous = release
        if previous is None:
            pipe.zrem(keys.assignment_reserved(aid), page_id)
        else:
            pipe.zadd(keys.assignment_reserved(aid), {page_id: float(previous)})
    if checked.gone:
        pipe.srem(keys.assignment_todo(aid), *checked.gone)
        pipe.zrem(keys.assignment_todo_rank(aid), *checked.gone)
        pipe.srem(keys.assignment_needed(aid), *checked.gone)
        pipe.srem(keys.assignment_done(aid), *checked.gone)
        pipe.zrem(keys.assignment_reserved(aid), *checked.gone)
    if checked.full:
        pipe.srem(keys.assignment_todo(aid), *checked.full)
        pipe.zrem(keys.assignment_todo_rank(aid), *checked.full)
        pipe.sadd(keys.assignment_done(aid), *checked.full)
    if uid is not None and checked.seen:
        pipe.sadd(keys.reviewer_seen(uid), *checked.seen)
    pipe.execute()
    stale = len(checked.gone) + len(checked.full)
    if stale:
        log.info("picker: removed stale ids from assignment %s: %s", aid, checked.gone + checked.full)
        stats.count(stats.STALE_REMOVED, stale)


def confirm_nothing_left(assignment: Assignment, uid: int | None) -> PickResult:
    """Redis says nothing is left; Postgres (the truth) confirms before we say so.

    Every id in the set was already checked; this guards against ids missing from the set.
    A confirmed answer is remembered for ``NOTHING_LEFT_CACHE_SECONDS`` in this process so that
    reviewers bouncing on a finished assignment do not repeat the Postgres query. It is only
    consulted once the Redis pass found nothing: a page that reaches the to-do set (a new page,
    a review withdrawn, a raised threshold) is served at once, cache or not. A page missing
    from Redis (drift) waits for the entry to expire.
    """
    key = (assignment.pk, uid)
    with STATE.nothing_left_lock:
        if STATE.nothing_left.get(key, 0.0) > time.monotonic():
            return PickResult(None, stats.NOTHING_LEFT)
    result = pick_from_postgres(assignment, uid)
    if result.page_id is None:
        with STATE.nothing_left_lock:
            if len(STATE.nothing_left) > 10_000:
                STATE.nothing_left.clear()
            STATE.nothing_left[key] = time.monotonic() + NOTHING_LEFT_CACHE_SECONDS
    else:
        log.warning("picker: page %s of assignment %s is missing from Redis", result.page_id, assignment.pk)
    return result
