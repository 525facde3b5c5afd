"""The next page: the most important code in the product.

One interface, :func:`pick_next_page`, used by ``/review/next/`` (``frontdesk.views_next``),
the benchmark and the tests. It returns a page of the assignment that still needs reviews and
that this reviewer has neither reviewed nor skipped, chosen uniformly at random, or "nothing
left for you here".

The package, one module per concern:

- ``redis_source``: source 1, the Redis to-do set's mirror (with ``draw.lua``, ``reserve.lua``,
  ``release.lua`` and ``copy.lua`` after the shared prelude ``tiers.lua``, loaded by ``scripts``;
  their headers name their KEYS and ARGV), the circuit breaker and the "nothing left"
  confirmation; ``drawing``: the draw's arguments and reply by name and the pick's first round
  trip; ``repair``: Redis corrected where the Postgres check disagrees; ``holds``: reservations
  ended on submit and skip;
- ``pool_source``: source 2, the memcached pool, and its refill and check (the pool's storage is
  ``assignments.pool``, which does not import the picker);
- ``postgres_source``: source 3, bounded Postgres queries, and the judge of "nothing left";
- ``check``: the Postgres check every candidate passes, whatever its source;
- ``claims``: claims copied to overlapping assignments, within their free places;
- ``following``: the reviewer's following page, reserved by the review screen under their next
  slot (``promote.lua`` makes it theirs on submit) so that the browser can prefetch its image;
- ``sampling``: uniform samples of the to-do pages, to fill the pool;
- ``state``: everything this process remembers between picks, in one resettable object
  (``STATE``, :func:`reset_state`).

Sources, in order (each use counted for ``/staff/cache/``, see ``picker_stats``):

1. **Redis** (normal): one Lua script on the assignment's hash slot (``draw.lua``) reads the
   size of the incrementally kept to-do set and draws a uniform sample of the best band of its
   sorted-set mirror (``todo-rank``), whose score per page encodes its free places (reviews
   still needed minus live reservations) and priority (``tiers.lua``): only pages with a free
   place are drawn, priority pages first, and in "fewest reviews first" order the most free
   places first. It claims the first id drawn (or returns the page the holder already holds).
   The sample is drawn by random rank (``ZRANGE r r``) within the band, which is exactly
   uniform (``SRANDMEMBER`` on a set of more than 512 ids, a hashtable, is not). While the
   mirror is missing Redis cannot draw: the pool serves and a rebuild is queued. Bands of up to
   ``SMALL_SET`` ids are taken whole. The randomness (the ranks'
   seed, the choice among free ids) comes from Python's ``random``. The script is pipelined with
   the built markers and the size of the reviewer's seen set (other slots: separate commands,
   never inside the script). The claimed id is then checked in Postgres, which also refuses
   pages this reviewer has seen; usually it passes, and a pick is one Redis round trip and one
   query. A refused claim is released at once (or, if it took over another reviewer's
   reservation, that one is put back) and the rest of the draw is tried, filtered against the
   seen set (``SMISMEMBER``) when that set is at least 1/``SEEN_FILTER_RATIO`` of the to-do set
   (else the check refuses the few seen ones and records them in the seen set).
   The cost does not depend on the assignment's size beyond the O(log n) rank lookups: a
   bounded number of draws (8, then 64, then 256). When draws are exhausted because the
   reviewer has seen most of the to-do set, the whole set is examined (``SSCAN``), but only
   when it is small: at most ``ENUMERATE_LIMIT`` ids, or at most that many more than the
   reviewer's own seen set (capped at ``WHOLE_SET_MAX``). Hundreds of failed draws mean the
   reviewer has seen nearly all of the set, so this costs in proportion to the reviewer's own
   history, never to the assignment; beyond the cap Postgres decides. (``SDIFF todo seen``
   would be simpler but touches two hash slots, which Redis Cluster refuses.) When the whole
   set holds nothing for the reviewer, Postgres confirms; a confirmed "nothing left" is
   remembered for ``NOTHING_LEFT_CACHE_SECONDS`` in this process. After a Redis error, Redis is
   skipped for ``REDIS_DEAD_SECONDS`` (the circuit breaker: a dead server costs one timeout,
   not one per pick).
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
   bounded in-process set, see ``postgres_source.spread``). The pool is filled the same way
   when Redis is down: random ids first, then short runs from random starts.

Whatever the source, every id is checked in Postgres before it is served, in one indexed query
for all candidates (prepared once per connection with a generic plan: planning it costs more
than running it): the page exists, belongs to the assignment, is below the threshold and was
not reviewed or skipped by this reviewer. Ids that fail for everyone (deleted pages, pages out
of the assignment or already at the threshold) are removed from the Redis sets or the pool and
counted as stale.

Capacity: a page handed out is reserved for ``PICKER_RESERVATION_SECONDS`` (one place of the
page per holder, claimed atomically by the draw script or, for later candidates, by
``reserve.lua``): a page that still needs ``k`` reviews is handed out to at most ``k`` holders
at once, and a holder asking again gets its page back. Each claim is copied into the other
active assignments *containing the page* (``claims``; the Postgres check says which), and a
review or skip ends the reservation in those and no others (``holds``; the review's own
transaction says which): a review cycle runs the same scripts, by SHA (``lib.redis_scripts``),
whatever the number of active assignments. There is no fixed fallback page anywhere.

Who holds (issue 21). The holder is the *visitor* (``lib.visitor``: a signed cookie, the same
from a browser's first request to its last), not the account: the first review that makes a
visitor's ``anon-<n>`` account, a claim and a login all leave the page on their screen and
their following page theirs (the submit ends the visitor's reservation of the page reviewed).
Callers without a browser (commands, the bench, tests) hold as ``u<user id>``.

Soft and firm. ``/review/next/`` can be asked by anyone, so what it hands out is a *soft*
reservation; so is a following page held for a prefetch (``following``). When no page has a
free place, a reviewer with nothing on screen takes a soft reservation over (``preempt.lua``)
instead of being told "busy": a following-page hold at once, a ``/review/next/`` one after
``PICKER_SOFT_GRACE_SECONDS`` (the time its browser has to load the screen). The review screen
makes its visitor's reservation firm, or takes a free place for a visitor who holds none, or,
when the page has no place for them (others hold every review it still needs), sends them to
``/review/next/`` (``holds.confirm_page``). A submit's pick of the next page is firm.

Bounds, stated and tested (``tests/assignments/test_picker_visitors.py``,
``test_picker_identity.py``, ``test_picker_cost.py``):

- Holds per visitor: at most their current page and one following page per assignment.
- Holds per address: at most ``PICKER_MAX_HOLDS_PER_ADDRESS`` live reservations per assignment
  from one client address (IPv6: its /64). Past it, the address's visitors are served pages
  with a free place without a reservation (never an error, never a page that has none); a
  hoarder gains nothing, and soft reservations it never confirms are taken over after the grace.
- Overshoot: a page gets more reviews than its threshold only when a reviewer submits after
  their reservation expired (they took longer than ``PICKER_RESERVATION_SECONDS``), when they
  reached it without one (a direct link to a page with a free place, or an address past its
  limit: both served only while the page had a free place, so at most one extra review per
  such submit), or through a race of concurrent submits. Reviewers who keep coming and hold
  reservations end every assignment with exactly ``threshold`` reviews per page.
- Liveness: no reservation outlives its holder's intent except by walking away, and one that
  does lasts at most ``PICKER_RESERVATION_SECONDS`` (firm) or until someone needs its place
  after the grace (soft). "Busy" means every review still needed is held by someone who loaded
  its screen within ``PICKER_RESERVATION_SECONDS``, or was handed the page by ``/review/next/``
  less than ``PICKER_SOFT_GRACE_SECONDS`` ago (their browser is loading it); where another
  assignment has work the visitor is sent there instead (``views_next``); the busy page says the soonest expiry and
  asks again by itself.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from django.conf import settings
from django.utils.module_loading import import_string

from assignments import picker_stats as stats
from assignments import pool
from assignments.models import Assignment
from assignments.picker.check import valid_todo_ids
from assignments.picker.drawing import SEEN_FAMILY, SMALL_SET, TODO_FAMILY
from assignments.picker.pool_source import check_pools, pick_from_pool, refill_all_pools, refill_pool
from assignments.picker.postgres_source import PG_CANDIDATES, pick_from_postgres
from assignments.picker.redis_source import (
    NOTHING_LEFT_CACHE_SECONDS,
    REDIS_DEAD_SECONDS,
    SEEN_FILTER_RATIO,
    RedisUnavailable,
    pick_from_redis,
    redis_failed,
    soonest_expiry_seconds,
    take_fallback_pick,
)
from assignments.picker.result import PickResult
from assignments.picker.sampling import sample_todo_ids
from assignments.picker.state import STATE, reset_state

__all__ = [
    "NOTHING_LEFT_CACHE_SECONDS",
    "PG_CANDIDATES",
    "REDIS_DEAD_SECONDS",
    "SEEN_FAMILY",
    "SEEN_FILTER_RATIO",
    "SMALL_SET",
    "STATE",
    "TODO_FAMILY",
    "PickResult",
    "check_pools",
    "pick_next_page",
    "refill_all_pools",
    "refill_pool",
    "reset_state",
    "sample_todo_ids",
    "soonest_expiry_seconds",
    "valid_todo_ids",
]

log = logging.getLogger("crowd.picker")


def pick_next_page(
    *,
    assignment: Assignment,
    reviewer: Any = None,
    token: str | None = None,
    address: str = "",
    soft: bool = False,
) -> PickResult:
    """A page of ``assignment`` for ``reviewer`` (a user; None or anonymous = no history yet).

    ``token``: the visitor (``lib.visitor``: the web views pass it, signed in or not), under
    whose name the page is reserved, so that asking again returns the page it holds, before and
    after their first review, a claim or a login. ``address``: the client address its
    reservations count against (``PICKER_MAX_HOLDS_PER_ADDRESS``; "" for none). ``soft``: the
    reservation may be taken over until the page's review screen confirms it
    (:func:`confirm_page`): ``/review/next/``'s picks, which anyone can ask for. The result's
    page is None with source ``busy`` when every page this reviewer could review is fully
    reserved by others right now, ``nothing-left`` when none is left for them at all."""
    uid = reviewer.pk if reviewer is not None and getattr(reviewer, "is_authenticated", False) else None
    gold = _gold_page(uid)
    if gold is not None:
        # A known-answer page (issue 25), served like any other: out of every assignment's
        # scope, so it takes no reservation, and nothing on screen says it is gold.
        stats.count(stats.GOLD)
        return PickResult(gold, stats.GOLD)
    result: PickResult | None = None
    redis_up = False
    try:
        result = pick_from_redis(assignment, uid, token, address, soft)
        redis_up = True
    except (RedisUnavailable, redis.RedisError) as exc:
        if isinstance(exc, redis.RedisError):
            redis_failed(exc)
        stats.count(stats.REDIS_UNAVAILABLE)
        try:
            result = pick_from_pool(assignment, uid, token)
        except pool.PoolUnavailable as pool_exc:
            # Once per outage, not once per request (the pool client skips a failed server).
            log.log(logging.DEBUG if pool_exc.known else logging.WARNING, "picker: %s", pool_exc)
            stats.count(stats.POOL_UNAVAILABLE)
    if result is None:
        result = pick_from_postgres(assignment, uid)
        if redis_up and result.page_id is not None:
            # Redis could not decide but is up: the page takes a place there like any other.
            try:
                result = take_fallback_pick(assignment, uid, token, result.page_id, address, soft)
            except (RedisUnavailable, redis.RedisError) as exc:
                redis_failed(exc)
    stats.count(result.source)
    return result


def _gold_page(uid: int | None) -> int | None:
    """The settings hook ``PICKER_GOLD_HOOK`` (``consensus.gold.pick_gold_page``: the consensus
    app sits above the picker, which must not import it): a gold page for this reviewer now, or
    None. A failing hook never costs the reviewer their next page."""
    path = getattr(settings, "PICKER_GOLD_HOOK", "")
    if not path or uid is None:
        return None
    try:
        page_id: int | None = import_string(path)(user_id=uid)
        return page_id
    except Exception as exc:
        log.warning("picker: the gold hook failed: %r", exc)
        return None
