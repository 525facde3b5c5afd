"""The next page: the most important code in the product.

One interface, :func:`pick_next_page`, used by ``/review/next/``, the API and the tests. It
returns a page of the assignment that still needs reviews and that this reviewer has neither
reviewed nor skipped, chosen uniformly at random, or "nothing left for you here".

Sources, in order (each use counted for ``/staff/cache/``, see ``picker_stats``):

1. **Redis** (normal): one Lua script on the assignment's hash slot (``_DRAW_LUA``) reads the
   size of the incrementally kept to-do set, draws a uniform sample of it, reads the soft
   reservations of the ids drawn (``ZMSCORE``) and claims one of them: uniformly among the free
   ones, else (after looking further) the one handed out longest ago. The sample is drawn by
   random rank (``ZRANGE r r``) from the to-do set's sorted-set mirror (``todo-rank``), which is
   exactly uniform: ``SRANDMEMBER`` on a set of more than 512 ids (a hashtable) favours some
   members several times over others. Sets of up to ``SMALL_SET`` ids are taken whole. The
   script is pipelined with the built markers and the size of the reviewer's seen set (other
   slots: separate commands, never inside the script). The claimed id is then checked in
   Postgres, which also refuses pages this reviewer has seen; usually it passes, and a pick is
   one Redis round trip and one query. A refused claim is released at once (or, if it took over
   another reviewer's reservation, that one is put back) and the rest of the draw is tried,
   filtered against the seen set (``SMISMEMBER``) when that set is at least
   1/``SEEN_FILTER_RATIO`` of the to-do set (else the check refuses the few seen ones and
   records them in the seen set).
   The cost does not depend on the assignment's size beyond the O(log n) rank lookups: a
   bounded number of draws (8, then 64, then 256). When draws are exhausted because the
   reviewer has seen most of the to-do set, the whole set is examined (``SSCAN``), but only
   when it is small: at most ``ENUMERATE_LIMIT`` ids, or at most that many more than the
   reviewer's own seen set (capped at ``WHOLE_SET_MAX``). Hundreds of failed draws mean the
   reviewer has seen nearly all of the set, so this costs in proportion to the reviewer's own
   history, never to the assignment; beyond the cap Postgres decides. (``SDIFF todo seen``
   would be simpler but touches two hash slots, which Redis Cluster refuses.)
2. **memcached pool** (Redis down or its sets not rebuilt yet): a random sample of the pool of
   up to ``PICKER_POOL_SIZE`` to-do ids, refilled by the beat task and on demand.
3. **Postgres** (memcached down too): ``PG_RANDOM_IDS`` ids drawn uniformly from the
   assignment's own id range and checked by primary key (rejection sampling: uniform, no
   herding); when none of them is a to-do page (a sparse or nearly finished assignment), a
   bounded circular index scan from a random starting id of that range on the
   ``(review_count, id)`` index (to-do pages only): the first ``PG_CANDIDATES`` at or after the
   start, wrapping round only for the shortfall, never ``ORDER BY random()``; then, only when
   that finds nothing, one query the planner can answer from the assignment's own documents.
   A process prefers pages it did not hand out in the last ``PICKER_RESERVATION_SECONDS`` (a
   bounded in-process set, see ``_spread``). The pool is filled the same way when Redis is
   down: random ids first, then short runs from random starts.

Whatever the source, every id is checked in Postgres before it is served, in one indexed query
for all candidates (prepared once per connection with a generic plan: planning it costs more
than running it): the page exists, belongs to the assignment, is below the threshold and was
not reviewed or skipped by this reviewer. Ids that fail for everyone (deleted pages, pages out
of the assignment or already at the threshold) are removed from the Redis sets or the pool and
counted as stale.

Spreading: a page handed out is softly reserved for ``PICKER_RESERVATION_SECONDS`` (a sorted set
of expiry times per assignment, claimed atomically by the draw script or, for later candidates,
by ``_RESERVE_LUA``), so concurrent reviewers get different pages while enough remain; when
every candidate is reserved the one handed out longest ago is chosen, so picks rotate evenly
across the last pages. There is no fixed fallback page anywhere.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field

import psycopg
import redis
from django.conf import settings
from django.db import connection

from assignments import picker_stats as stats
from assignments import pool, scope
from assignments.models import Assignment
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
POOL_SAMPLE = 48
PG_RANDOM_IDS = 64  # ids drawn from the assignment's id range per Postgres-fallback pick
PG_RANGE_SECONDS = 60.0
PG_CANDIDATES = 32  # rows the Postgres fallback's scan returns to choose from at random
PG_DEFINITIVE_ROWS = 1000  # rows the last-resort query returns (no order: the choice is made here)
PG_SCAN_CAP = 20_000  # to-do index entries the bounded Postgres probe may read per branch
PG_MAX_BRANCHES = 16  # thresholds up to this use one index range per review_count value
PG_RECENT_MAX = 10_000  # ids remembered by the Postgres fallback's in-process spreading
POOL_RUNS = 16  # a pool filled from Postgres is about this many runs of consecutive pages
REDIS_DEAD_SECONDS = 2.0
NOTHING_LEFT_CACHE_SECONDS = 15.0


@dataclass(frozen=True)
class PickResult:
    """The page to serve (None: nothing left for this reviewer here) and where it came from."""

    page_id: int | None
    source: str


class _RedisUnavailable(Exception):
    pass


# --- the interface ----------------------------------------------------------------------------


def pick_next_page(*, assignment: Assignment, reviewer=None) -> PickResult:
    """A page of ``assignment`` for ``reviewer`` (a user; None or anonymous = no history yet)."""
    uid = reviewer.pk if reviewer is not None and getattr(reviewer, "is_authenticated", False) else None
    _deferred.drain()  # this process's last claims are in place before this draw reads them
    result: PickResult | None = None
    try:
        result = _pick_from_redis(assignment, uid)
    except (_RedisUnavailable, redis.RedisError) as exc:
        if isinstance(exc, redis.RedisError):
            _redis_failed(exc)
        stats.count(stats.REDIS_UNAVAILABLE)
        try:
            result = _pick_from_pool(assignment, uid)
        except pool.PoolUnavailable as pool_exc:
            # Once per outage, not once per request (the pool client skips a failed server).
            log.log(logging.DEBUG if pool_exc.known else logging.WARNING, "picker: %s", pool_exc)
            stats.count(stats.POOL_UNAVAILABLE)
    if result is None:
        result = _pick_from_postgres(assignment, uid)
    stats.count(result.source)
    return result


def valid_todo_ids(*, assignment: Assignment, page_ids: list[int]) -> list[int]:
    """Those of ``page_ids`` that are to-do pages of the assignment (for anyone), in order."""
    return _check(assignment, None, page_ids).valid


def sample_todo_ids(*, assignment_id: int, limit: int) -> list[int]:
    """Up to ``limit`` to-do page ids of an assignment, spread at random, all checked in Postgres.

    From the Redis to-do set when it is ready (a uniform sample), else from bounded Postgres
    probes at random starting points. Used to fill the memcached pool.
    """
    assignment = Assignment.objects.get(pk=assignment_id)
    ids: list[int] = []
    try:
        r = _redis()
        pipe = r.pipeline(transaction=False)
        pipe.exists(keys.built_marker(TODO_FAMILY))
        pipe.eval(*_draw_args(assignment_id, limit, claim=False))  # uniform, by rank
        ready, drawn = pipe.execute()
        if ready:
            ids = [int(x) for x in drawn[1]]
    except (_RedisUnavailable, redis.RedisError) as exc:
        if isinstance(exc, redis.RedisError):
            _redis_failed(exc)
        ready = False
    if not ready:
        # Random ids of the assignment's range first (uniform, see _postgres_random_ids), a few
        # batches at most; what they miss (a sparse or nearly finished assignment) is made up by
        # the circular scans below.
        found: dict[int, None] = {}
        for _ in range(POOL_RUNS // 2):
            found.update(dict.fromkeys(_postgres_random_ids(assignment, None, k=256)))
            if len(found) >= limit:
                break
        if len(found) < limit // 2:
            found.update(dict.fromkeys(_pool_from_scans(assignment, limit)))
        ids = list(found)
        random.shuffle(ids)
    return valid_todo_ids(assignment=assignment, page_ids=ids[:limit])


def _pool_from_scans(assignment: Assignment, limit: int) -> list[int]:
    """Short runs of consecutive to-do pages (circular scans) from random starting points until
    the pool is full, so that every page has about the same chance to be in it. Bounded: at most
    2 * POOL_RUNS probes (runs may overlap in an assignment not much larger than the pool, which
    then stays a little short rather than favour some pages)."""
    found: dict[int, None] = {}
    window = max(1, -(-limit // POOL_RUNS))
    for _ in range(2 * POOL_RUNS):
        run = _postgres_probe(assignment, None, window=window, cap=PG_SCAN_CAP)
        found.update(dict.fromkeys(run))
        if len(run) < window:
            # The scan saw every to-do page (a small assignment), or too few of a sparse one's
            # within the cap: ask for up to ``limit`` of them directly.
            found.update(dict.fromkeys(_postgres_definitive(assignment, None, limit=limit)))
            break
        if len(found) >= limit:
            break
    return list(found)


def reset_state() -> None:
    """Forget the Redis circuit breaker and this process's caches (tests switching servers)."""
    global _redis_dead_until
    _redis_dead_until = 0.0
    with _nothing_left_lock:
        _nothing_left.clear()
    with _pg_recent_lock:
        _pg_recent.clear()
    with _ranges_lock:
        _ranges.clear()


# --- checking candidates against Postgres ----------------------------------------------------

# Both conditions are written with uncorrelated ARRAY(...) subqueries (run once per query) and
# scalar subqueries by primary key or unique index (run per row): the planner cannot turn them
# into hashes over every document of the assignment or every review of the reviewer, so the cost
# per candidate stays the same whatever the size of the assignment or the reviewer's history.

# The page belongs to the assignment (the rule lives in assignments.scope).
_MEMBER_SQL = scope.PAGE_IN_ASSIGNMENT_SQL

# This reviewer reviewed or skipped the page (unique (reviewer, page) indexes: one row at most).
_SEEN_SQL = """(
    (SELECT 1 FROM reviews_review r WHERE r.reviewer_id = %(uid)s::bigint AND r.page_id = p.id) IS NOT NULL
    OR (SELECT 1 FROM reviews_skip s WHERE s.reviewer_id = %(uid)s::bigint AND s.page_id = p.id) IS NOT NULL)"""

# One query for all candidates, each found by primary key.
_CHECK_SQL = f"""
SELECT c.id, p.id IS NOT NULL, p.id IS NOT NULL AND {_MEMBER_SQL}, COALESCE(p.review_count, 0),
       p.id IS NOT NULL AND {_SEEN_SQL}
FROM unnest(%(ids)s::bigint[]) WITH ORDINALITY AS c(id, n)
LEFT JOIN reviews_page p ON p.id = c.id
ORDER BY c.n
"""

# The same for one candidate (the usual case: the id the first draw claimed). Scalar parameters
# instead of an array to encode and unnest: a little cheaper on both sides.
_CHECK_ONE_SQL = f"""
SELECT c.id, p.id IS NOT NULL, p.id IS NOT NULL AND {_MEMBER_SQL}, COALESCE(p.review_count, 0),
       p.id IS NOT NULL AND {_SEEN_SQL}
FROM (VALUES (%(id)s::bigint)) AS c(id)
LEFT JOIN reviews_page p ON p.id = c.id
"""


_generic_plan_connections: weakref.WeakSet = weakref.WeakSet()


def _run_check(sql: str, params: dict) -> list[tuple]:
    """Run the check as a prepared statement with a generic plan.

    Planning this query costs more than running it (about 0.4 ms against 0.15 ms) and its plan
    does not depend on the values, so it is prepared once per connection (server-side binding)
    and planned once. ``plan_cache_mode`` only affects prepared statements, and Django prepares
    none of its own (``prepare_threshold`` is None), so the session setting changes nothing else.
    The query still goes through Django's error wrapping and query log.
    """
    connection.ensure_connection()
    raw = connection.connection
    started = time.perf_counter()
    with connection.wrap_database_errors:
        if raw not in _generic_plan_connections:
            if raw.prepare_threshold is None:
                raw.prepare_threshold = 2**31 - 1  # explicit prepare=True only, never automatic
            with psycopg.ClientCursor(raw) as cursor:
                cursor.execute("SET plan_cache_mode = force_generic_plan")
            _generic_plan_connections.add(raw)
        with psycopg.Cursor(raw) as cursor:
            cursor.execute(sql, params, prepare=True)
            rows = cursor.fetchall()
    if connection.queries_logged:
        connection.queries_log.append(
            {"sql": f"{sql.strip()} -- {params}", "time": f"{time.perf_counter() - started:.3f}"}
        )
    return rows


@dataclass
class _Checked:
    valid: list[int] = field(default_factory=list)  # servable, in the order given
    gone: list[int] = field(default_factory=list)  # no such page, or not in the assignment
    full: list[int] = field(default_factory=list)  # at the threshold already
    seen: list[int] = field(default_factory=list)  # this reviewer reviewed or skipped it


def _check(assignment: Assignment, uid: int | None, ids: list[int]) -> _Checked:
    checked = _Checked()
    if not ids:
        return checked
    if len(ids) == 1:
        rows = _run_check(_CHECK_ONE_SQL, {"id": int(ids[0]), "aid": assignment.pk, "uid": uid})
    else:
        rows = _run_check(_CHECK_SQL, {"ids": [int(i) for i in ids], "aid": assignment.pk, "uid": uid})
    for page_id, exists, member, review_count, seen in rows:
        if not exists or not member:
            checked.gone.append(page_id)
        elif review_count >= assignment.threshold:
            checked.full.append(page_id)
        elif seen:
            checked.seen.append(page_id)
        else:
            checked.valid.append(page_id)
    return checked


# --- 1. Redis ---------------------------------------------------------------------------------

_redis_dead_until = 0.0


def _redis() -> redis.Redis:
    # After a failure, skip Redis for a moment: a dead server costs one timeout, not one per pick.
    if _redis_dead_until > time.monotonic():
        raise _RedisUnavailable("Redis failed recently")
    return get_redis()


def _redis_failed(exc: Exception) -> None:
    global _redis_dead_until
    _redis_dead_until = time.monotonic() + REDIS_DEAD_SECONDS
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


# Claim one of the candidates (valid pages, in preference order): the first not reserved, else
# the one whose reservation is oldest (expires first). Atomic, one key, one round trip.
# Scores are expiry times in microseconds of the Redis server's clock: one clock for every web
# process, so "handed out longest ago" is exact and the last pages rotate evenly.
_RESERVE_LUA = """
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local till = now + tonumber(ARGV[1]) * 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local best, best_score, free = nil, nil, false
for i = 4, #ARGV do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if not score then
    best, free = ARGV[i], true
    break
  end
  score = tonumber(score)
  if best_score == nil or score < best_score then
    best, best_score = ARGV[i], score
  end
end
if not free and ARGV[3] == '1' then
  return false
end
redis.call('ZADD', KEYS[1], till, best)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return best
"""
_reserve_script: redis.commands.core.Script | None = None

# A draw, in one round trip: the to-do set's size, a uniform sample of it, the reservation scores
# of the ids drawn and (first draw only) the claim of one of them. Every key is on the
# assignment's hash slot (one Cluster slot).
# - The sample: small sets (up to ARGV[2]) whole; larger ones by random rank in the sorted-set
#   mirror (ZRANGE r r), which is exactly uniform, where SRANDMEMBER on a hashtable-encoded set
#   (over 512 ids) favours some members several times over others. Ranks come from math.random
#   seeded by the caller (ARGV[6]; Redis 6.2 seeds it the same way in every script run), two
#   31-bit draws per rank. Only when the mirror is missing (not rebuilt yet) does SRANDMEMBER
#   serve, and the reply says so (the caller asks the registry to rebuild it).
# - The claim: uniformly among the free ids drawn (ARGV[5], a random fraction from the caller).
#   When all are held and the set is small enough (ARGV[8]) every member is considered, so a free
#   page is found while one remains; else more ranks are drawn. Failing that, the id whose
#   reservation expires first. It is claimed before Postgres has checked it; when the check
#   refuses it, the caller puts back its previous score (returned here) or removes it.
# EVAL, not EVALSHA through redis-py's Script: in a pipeline that costs a SCRIPT EXISTS round trip.
_DRAW_LUA = """
redis.replicate_commands()
local count, small, seconds = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local card = redis.call('SCARD', KEYS[1])
local ranked = redis.call('ZCARD', KEYS[3])
math.randomseed(tonumber(ARGV[6]))
local M = 2147483647
local function draw(n, want, ids, taken)
  local tries = 0
  while #ids < want and tries < 3 * want do
    tries = tries + 1
    local r = math.floor(((math.random(M) - 1) + (math.random(M) - 1) / M) / M * ranked)
    if not taken[r] then
      taken[r] = true
      ids[#ids + 1] = redis.call('ZRANGE', KEYS[3], r, r)[1]
    end
  end
  return ids
end
local ids, taken, biased = {}, {}, 0
if card <= small then
  ids = redis.call('SMEMBERS', KEYS[1])
elseif ranked > 0 then
  draw(ranked, count, ids, taken)
else
  ids = redis.call('SRANDMEMBER', KEYS[1], count)
  biased = 1
end
local scores, claimed, previous = {}, false, false
local now = 0
if seconds > 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
end
if #ids > 0 then
  scores = redis.call('ZMSCORE', KEYS[2], unpack(ids))
end
if seconds > 0 and ARGV[7] == '1' and #ids > 0 then
  local function free_of(list, list_scores)
    local free, oldest, oldest_score, oldest_raw = {}, nil, nil, nil
    for i = 1, #list do
      local score = list_scores[i] and tonumber(list_scores[i])
      if not score then
        free[#free + 1] = list[i]
      elseif oldest_score == nil or score < oldest_score then
        oldest, oldest_score, oldest_raw = list[i], score, list_scores[i]
      end
    end
    return free, oldest, oldest_score, oldest_raw
  end
  local free, oldest, oldest_score, oldest_raw = free_of(ids, scores)
  if #free == 0 and card > #ids then
    -- Every id drawn is held: look further before taking over someone's page.
    local more
    if card <= tonumber(ARGV[8]) then
      more = redis.call('SMEMBERS', KEYS[1])
    elseif ranked > 0 then
      more = draw(ranked, 4 * count, {}, taken)
    else
      more = {}
    end
    if #more > 0 then
      local more_free, more_oldest, more_score, more_raw = free_of(more, redis.call('ZMSCORE', KEYS[2], unpack(more)))
      free = more_free
      if more_score and more_score < oldest_score then
        oldest, oldest_score, oldest_raw = more_oldest, more_score, more_raw
      end
    end
  end
  if #free > 0 then
    claimed = free[math.min(#free, math.floor(tonumber(ARGV[5]) * #free) + 1)]
  else
    claimed, previous = oldest, oldest_raw
  end
  redis.call('ZADD', KEYS[2], now + seconds * 1000000, claimed)
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
end
return {card, ids, scores, claimed, previous, biased}
"""


def _draw_args(assignment_id: int, count: int, *, claim: bool) -> tuple:
    """Arguments of EVAL for ``_DRAW_LUA``: ``count`` ids drawn, and with ``claim`` one claimed."""
    seconds = settings.PICKER_RESERVATION_SECONDS
    return (
        _DRAW_LUA,
        3,
        keys.assignment_todo(assignment_id),
        keys.assignment_reserved(assignment_id),
        keys.assignment_todo_rank(assignment_id),
        count,
        SMALL_SET,
        seconds,
        int(seconds * 2000),
        random.random(),
        random.getrandbits(31),
        "1" if claim else "0",
        ENUMERATE_LIMIT,
    )


def _reserve(
    r: redis.Redis, assignment_id: int, candidates: list[int], *, only_free: bool = False
) -> int | None:
    """Claim one of ``candidates`` (valid pages, in preference order). With ``only_free``,
    claim nothing (None) when all are reserved: the caller has other candidates to try."""
    seconds = settings.PICKER_RESERVATION_SECONDS
    if seconds <= 0:
        return candidates[0]
    global _reserve_script
    if _reserve_script is None:
        _reserve_script = r.register_script(_RESERVE_LUA)
    chosen = _reserve_script(
        keys=[keys.assignment_reserved(assignment_id)],
        args=[seconds, int(seconds * 2000), "1" if only_free else "0", *candidates],
        client=r,
    )
    return None if chosen is None else int(chosen)


def _pick_from_redis(assignment: Assignment, uid: int | None) -> PickResult | None:
    """A page from the Redis sets; None when Redis cannot decide (rare: see the module doc)."""
    r = _redis()
    aid = assignment.pk
    seen_key = keys.reviewer_seen(uid) if uid is not None else None
    pipe = r.pipeline(transaction=False)
    pipe.exists(keys.built_marker(TODO_FAMILY))
    # One command on the assignment's slot: size, first draw and their reservation scores.
    pipe.eval(*_draw_args(aid, FIRST_DRAW, claim=True))
    if seen_key:
        pipe.exists(keys.built_marker(SEEN_FAMILY))
        pipe.scard(seen_key)
    pipe.smembers(keys.active_assignments())
    out = pipe.execute()
    if not out[0]:
        _family_ready(TODO_FAMILY)
        raise _RedisUnavailable("to-do sets not built")
    others = [int(x) for x in out[-1] if int(x) != aid]

    def served(page_id: int) -> PickResult:
        _share_claim(others, page_id)
        return PickResult(page_id, stats.REDIS)

    todo_card, batch, first_scores, claimed, previous, biased = out[1]
    if biased:
        _mirror_missing(aid)
    seen_card = 0
    if seen_key:
        if out[2]:
            seen_card = out[3]
        else:
            # Without the seen set the Postgres check still refuses seen pages; just costlier.
            _family_ready(SEEN_FAMILY)
            seen_key = None
    examined: set[int] = set()
    if claimed is not None:
        # The usual case ends here: the id the script claimed passes the check (two round trips
        # in all). The check also refuses a page this reviewer has seen, which is why the first
        # draw needs no seen filter.
        claimed = int(claimed)
        examined.add(claimed)
        checked = _check(assignment, uid, [claimed])
        if checked.valid:
            return served(claimed)
        _repair_redis(r, aid, uid, checked, release=(claimed, previous))
    # The rest of the first draw: its reservation scores came with it, and its seen filter is
    # skipped while the reviewer has seen little of the set (Postgres refuses those few anyway).
    scores: dict[int, float | None] | None = None
    if not (seen_key and seen_card * SEEN_FILTER_RATIO >= todo_card):
        scores = {
            int(m): (None if sc is None else float(sc)) for m, sc in zip(batch, first_scores, strict=True)
        }
    whole_set = False
    for round_no in range(len(MORE_DRAWS) + 1):
        ids = [i for i in (int(x) for x in batch) if i not in examined]
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
            batch = r.eval(*_draw_args(aid, MORE_DRAWS[round_no], claim=False))[1]
    if not whole_set:
        # Hundreds of draws from a large set all seen: statistically this needs the reviewer to
        # have seen nearly all of it, which the whole-set rule covers. Let Postgres decide.
        return None
    return _confirm_nothing_left(assignment, uid)


class _DeferredWrites:
    """Redis writes whose replies nobody waits for, on a connection of their own: sent at once,
    their replies read before the next send or the next pick of this process (by then they have
    arrived, so reading them costs no wait). One per process (a fork starts afresh)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._conn = None
        self._pool = None  # the shared client's pool it was made from (a new client: a new server)
        self._pid = None
        self._unread = 0

    def send(self, commands: list[tuple]) -> None:
        with self._lock:
            try:
                pool = get_redis().connection_pool
                if self._conn is not None and (self._pid != os.getpid() or self._pool is not pool):
                    self._reset()
                if self._conn is None:
                    self._conn, self._pool = pool.make_connection(), pool
                    self._pid, self._unread = os.getpid(), 0
                self._drain()
                self._conn.send_packed_command(self._conn.pack_commands(commands))
                self._unread += len(commands)
            except redis.RedisError as exc:
                self._reset()
                log.info("picker: deferred Redis writes dropped: %r", exc)

    def drain(self) -> None:
        """Wait for the replies of what was sent (so later commands see its effect)."""
        if not self._unread:
            return
        with self._lock:
            try:
                self._drain()
            except redis.RedisError as exc:
                self._reset()
                log.info("picker: deferred Redis writes lost: %r", exc)

    def _drain(self) -> None:
        while self._unread and self._pid == os.getpid():
            self._unread -= 1
            try:
                self._conn.read_response()
            except redis.ResponseError as exc:  # one command refused (a wrong type): the rest stand
                log.warning("picker: deferred Redis write refused: %r", exc)

    def _reset(self) -> None:
        if self._conn is not None and self._pid == os.getpid():
            self._conn.disconnect()
        self._conn, self._unread = None, 0


_deferred = _DeferredWrites()


def _share_claim(others: list[int], page_id: int) -> None:
    """Copy a reservation into the other active assignments' reservations: a page may be in
    several (a party and one of its members), and a reviewer of either should get another page
    while it is being reviewed. ``GT``: never shortens a longer reservation. An assignment that
    does not hold the page keeps a harmless entry until it expires. Deferred (no reply awaited):
    the pick does not wait for it; this process's next pick does, so its own picks see it."""
    seconds = settings.PICKER_RESERVATION_SECONDS
    if not others or seconds <= 0:
        return
    till = (time.time() + seconds) * 1_000_000  # this host's clock: close enough for a soft hold
    commands: list[tuple] = []
    for other in others:
        key = keys.assignment_reserved(other)
        commands.append(("ZADD", key, "GT", till, page_id))
        commands.append(("PEXPIRE", key, int(seconds * 2000)))
    _deferred.send(commands)


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
        flags = [0] * len(ids)
        scores = [scores.get(page_id) for page_id in ids]
    else:
        pipe = r.pipeline(transaction=False)
        if seen_key:
            pipe.smismember(seen_key, ids)
        pipe.zmscore(keys.assignment_reserved(aid), ids)
        out = pipe.execute()
        flags = out[0] if seen_key else [0] * len(ids)
        scores = out[-1]
    now = time.time() * 1_000_000  # reservation scores are microseconds (see _RESERVE_LUA)
    free: list[int] = []
    held: list[tuple[float, int]] = []
    for page_id, was_seen, score in zip(ids, flags, scores, strict=True):
        if was_seen:
            continue
        if score is None or score <= now:
            free.append(page_id)
        else:
            held.append((score, page_id))
    # SRANDMEMBER with a count returns distinct members in no useful order: shuffle, so that
    # choosing the first valid one is uniform among the valid ones.
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
        checked = _check(assignment, uid, chunk)
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
    r, aid: int, uid: int | None, checked: _Checked, *, release: tuple[int, str | None] | None = None
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


_nothing_left: dict[tuple[int, int | None], float] = {}
_nothing_left_lock = threading.Lock()


def _confirm_nothing_left(assignment: Assignment, uid: int | None) -> PickResult:
    """Redis says nothing is left; Postgres (the truth) confirms before we say so.

    Every id in the set was already checked; this guards against ids missing from the set.
    A confirmed answer is remembered briefly so that reviewers bouncing on a finished
    assignment do not repeat the query.
    """
    key = (assignment.pk, uid)
    with _nothing_left_lock:
        if _nothing_left.get(key, 0.0) > time.monotonic():
            return PickResult(None, stats.NOTHING_LEFT)
    result = _pick_from_postgres(assignment, uid)
    if result.page_id is None:
        with _nothing_left_lock:
            if len(_nothing_left) > 10_000:
                _nothing_left.clear()
            _nothing_left[key] = time.monotonic() + NOTHING_LEFT_CACHE_SECONDS
    else:
        log.warning("picker: page %s of assignment %s is missing from Redis", result.page_id, assignment.pk)
    return result


# --- 2. the memcached pool --------------------------------------------------------------------


def _pick_from_pool(assignment: Assignment, uid: int | None) -> PickResult | None:
    """A page from the pool; None when the pool has nothing for this reviewer."""
    aid = assignment.pk
    ids = pool.get_pool(aid)
    if ids is None or len(ids) < max(1, settings.PICKER_POOL_SIZE // 10):
        _refill_on_demand(aid)
        ids = pool.get_pool(aid) or ids
    if not ids:
        return None
    sample = random.sample(ids, min(len(ids), POOL_SAMPLE))
    for chunk in (sample[:CHECK_FIRST], sample[CHECK_FIRST:]):
        if not chunk:
            continue
        checked = _check(assignment, uid, chunk)
        stale = checked.gone + checked.full
        if stale:
            pool.remove_from_pool(aid, stale)
            stats.count(stats.STALE_REMOVED, len(stale))
        if checked.valid:
            page_id = pool.reserve(aid, checked.valid, settings.PICKER_RESERVATION_SECONDS)
            return PickResult(page_id, stats.POOL)
    return None


def _refill_on_demand(assignment_id: int) -> None:
    # One process refills (a bounded query) and the others carry on with what is there. The
    # lock is left to expire: at most one on-demand refill per assignment per REFILL_LOCK_SECONDS,
    # so a small assignment's short pool is not refilled on every pick.
    if not pool.try_refill_lock(assignment_id):
        return
    try:
        pool.refill_pool(assignment_id=assignment_id)
    except Exception:
        pool.release_refill_lock(assignment_id)
        raise


# --- 3. Postgres ------------------------------------------------------------------------------


def _probe_sql(threshold: int) -> str:
    """The first ``k`` to-do pages of the assignment for the reviewer in a circular scan of ids
    from a random start: those at or after the start, then, only for the shortfall, wrapping
    round to the smallest ids (a wrap-around branch that always contributed would put the
    assignment's first pages in every draw: herding). One index range per review_count value
    below the threshold, each an ordered range scan of the (review_count, id) index reading at
    most ``cap`` entries, merged in id order so that no review_count is over-represented. When
    the forward scan finds ``k``, the wrap-around's LIMIT is 0 and it is never executed."""
    if threshold <= PG_MAX_BRANCHES:
        counts = [f"review_count = {c}" for c in range(threshold)]
    else:
        counts = [f"review_count < {int(threshold)}"]

    def side(cond: str) -> str:
        return "\nUNION ALL\n".join(
            f"(SELECT p.id FROM (SELECT id, document_id FROM reviews_page "
            f"WHERE {count} AND {cond} ORDER BY id LIMIT %(cap)s) p "
            f"WHERE {_MEMBER_SQL} AND NOT {_SEEN_SQL} LIMIT %(k)s)"
            for count in counts
        )

    return f"""
WITH fwd AS MATERIALIZED (
  SELECT f.id FROM ({side("id >= %(start)s")}) f ORDER BY f.id LIMIT %(k)s)
SELECT id FROM fwd
UNION ALL
(SELECT w.id FROM ({side("id < %(start)s")}) w ORDER BY w.id
 LIMIT %(k)s - (SELECT count(*) FROM fwd))
"""


def _postgres_probe(assignment: Assignment, uid: int | None, *, window: int, cap: int) -> list[int]:
    """Up to ``window`` to-do page ids, consecutive in a circular scan from a random start.

    Fewer than ``window`` means the scan saw every to-do page of the assignment for the
    reviewer, or (a sparse assignment) that the ``cap`` entries read held too few of them.
    """
    # The start is drawn from the assignment's own id range: drawn from the whole table, every
    # start past the assignment's last page would wrap round to its first pages (herding).
    lo, hi = _id_range(assignment)
    if lo is None:
        return []
    start = random.randint(lo, hi)
    with connection.cursor() as cursor:
        cursor.execute(
            _probe_sql(assignment.threshold),
            {"start": start, "cap": cap, "k": window, "aid": assignment.pk, "uid": uid},
        )
        return [row[0] for row in cursor.fetchall()]


_ASSIGNMENT_DOCUMENTS_SQL = scope.DOCUMENTS_OF_ASSIGNMENT_SQL

# Any to-do pages of the assignment for the reviewer, found from the assignment's own documents
# or from the to-do index, whichever the planner finds cheaper. No order: no sort.
_DEFINITIVE_SQL = f"""
SELECT p.id FROM reviews_page p
WHERE p.review_count < %(threshold)s
  AND p.document_id IN (
    {_ASSIGNMENT_DOCUMENTS_SQL})
  AND NOT {_SEEN_SQL}
LIMIT %(k)s
"""


def _postgres_definitive(assignment: Assignment, uid: int | None, *, limit: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            _DEFINITIVE_SQL, {"threshold": assignment.threshold, "aid": assignment.pk, "uid": uid, "k": limit}
        )
        return [row[0] for row in cursor.fetchall()]


# The smallest and largest page id of an assignment (from its own documents; no sort).
_RANGE_SQL = f"""
SELECT min(p.id), max(p.id) FROM reviews_page p
WHERE p.document_id IN (
    {_ASSIGNMENT_DOCUMENTS_SQL})
"""
_ranges: dict[int, tuple[float, int | None, int | None]] = {}
_ranges_lock = threading.Lock()


def _id_range(assignment: Assignment) -> tuple[int | None, int | None]:
    """The assignment's page id range, remembered for ``PG_RANGE_SECONDS`` in this process (it
    changes only when pages are imported or deleted, or the assignment is edited; a stale range
    costs a little uniformity for a minute, never a bad page: every id is checked)."""
    now = time.monotonic()
    with _ranges_lock:
        cached = _ranges.get(assignment.pk)
    if cached and cached[0] > now:
        return cached[1], cached[2]
    with connection.cursor() as cursor:
        cursor.execute(_RANGE_SQL, {"aid": assignment.pk})
        lo, hi = cursor.fetchone()
    with _ranges_lock:
        if len(_ranges) > 10_000:
            _ranges.clear()
        _ranges[assignment.pk] = (now + PG_RANGE_SECONDS, lo, hi)
    return lo, hi


def _postgres_random_ids(assignment: Assignment, uid: int | None, *, k: int) -> list[int]:
    """To-do pages of the assignment for the reviewer among ``k`` ids drawn uniformly from the
    assignment's id range, checked by primary key (the same check as every candidate's).
    Rejection sampling: each to-do page is found with the same probability, so there is no
    herding. Empty when the assignment's pages are sparse in its range or nearly all done;
    the callers then scan."""
    lo, hi = _id_range(assignment)
    if lo is None:
        return []
    span = hi - lo + 1
    ids = random.sample(range(lo, hi + 1), k) if span > k else list(range(lo, hi + 1))
    return _check(assignment, uid, ids).valid


def _pick_from_postgres(assignment: Assignment, uid: int | None) -> PickResult:
    """The last resort, and the judge of "nothing left". Never ORDER BY random().

    First a bounded probe: a circular scan from a random start reading at most PG_SCAN_CAP
    to-do index entries per branch, choosing among the first PG_CANDIDATES found (see
    ``_spread``). When the assignment
    is a small part of the to-do pages (or finished) that may find nothing; then one query that
    the planner answers from the assignment's documents or from the to-do index, whichever is
    cheaper (cost bounded by the assignment's size), which returns nothing only when nothing is
    left for this reviewer; up to PG_DEFINITIVE_ROWS of its rows are chosen from at random.
    """
    found = _postgres_random_ids(assignment, uid, k=PG_RANDOM_IDS)
    if not found:
        found = _postgres_probe(assignment, uid, window=PG_CANDIDATES, cap=PG_SCAN_CAP)
    if not found:
        # Unordered, so always much the same rows: take many (bounded) and choose among them
        # here, or every reviewer of a sparse assignment would share the same few pages.
        found = _postgres_definitive(assignment, uid, limit=PG_DEFINITIVE_ROWS)
    if not found:
        return PickResult(None, stats.NOTHING_LEFT)
    return PickResult(_spread(assignment.pk, found), stats.POSTGRES)


# Soft spreading for the Postgres fallback, which has no shared reservations (Redis and memcached
# are both down): the (assignment, page) ids this process handed out in the last
# PICKER_RESERVATION_SECONDS with the time, oldest first, at most PG_RECENT_MAX of them (the
# oldest are forgotten first). Per process only: it keeps one process's concurrent reviewers
# apart; across processes the random starts do the spreading.
_pg_recent: OrderedDict[tuple[int, int], float] = OrderedDict()
_pg_recent_lock = threading.Lock()


def _spread(assignment_id: int, found: list[int]) -> int:
    """At random among ``found`` not handed out recently by this process; when all were, the
    one handed out longest ago, so that the last pages rotate evenly."""
    seconds = settings.PICKER_RESERVATION_SECONDS
    if seconds <= 0:
        return random.choice(found)
    now = time.monotonic()
    with _pg_recent_lock:
        while _pg_recent:
            oldest = next(iter(_pg_recent))
            if _pg_recent[oldest] > now - seconds:
                break
            del _pg_recent[oldest]
        handed = {page_id: _pg_recent.get((assignment_id, page_id)) for page_id in found}
        fresh = [page_id for page_id, at in handed.items() if at is None]
        chosen = random.choice(fresh) if fresh else min(found, key=lambda page_id: handed[page_id])
        _pg_recent[(assignment_id, chosen)] = now
        _pg_recent.move_to_end((assignment_id, chosen))
        while len(_pg_recent) > PG_RECENT_MAX:
            _pg_recent.popitem(last=False)
    return chosen
