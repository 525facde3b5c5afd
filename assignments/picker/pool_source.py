"""Source 2, the memcached pool (Redis down or its sets not rebuilt yet), and its refill.

The pool's storage (memcached client, get/store/remove/reserve, the refill lock) is
``assignments.pool``, which knows nothing of the picker; what goes into a pool and when is
decided here: :func:`refill_pool` (on demand, by the beat task and by the registry's rebuild)
and :func:`check_pools` (the registry's check).
"""

from __future__ import annotations

import random
import time

from django.conf import settings

from assignments import picker_stats as stats
from assignments import pool
from assignments.models import Assignment
from assignments.picker.check import check, valid_todo_ids
from assignments.picker.result import PickResult
from assignments.picker.sampling import sample_todo_ids
from assignments.picker.scripts import holder_for
from denorm.registry import Drift

POOL_SAMPLE = 48


def pick_from_pool(assignment: Assignment, uid: int | None, token: str | None = None) -> PickResult | None:
    """A page from the pool; None when the pool has nothing for this reviewer.

    The holder's page from the last reservation period first (asking again returns it); then a
    random sample of the pool, checked, in the assignment's order (priority pages, then, in
    "fewest reviews first" order, the fewest reviews), each page taking one of its free places
    (``pool.reserve``). When every valid page of the sample has no free place: busy."""
    aid = assignment.pk
    holder, remember = holder_for(uid, token)
    seconds = settings.PICKER_RESERVATION_SECONDS
    if remember and seconds > 0:
        kept = pool.held_page(aid, holder)
        if kept is not None and check(assignment, uid, [kept]).valid:
            return PickResult(kept, stats.POOL)
    ids = pool.get_pool(aid)
    if ids is None or len(ids) < max(1, settings.PICKER_POOL_SIZE // 10):
        _refill_on_demand(aid)
        ids = pool.get_pool(aid) or ids
    if not ids:
        return None
    sample = random.sample(ids, min(len(ids), POOL_SAMPLE))
    # The whole sample in one query: the assignment's order is applied to all of it.
    checked = check(assignment, uid, sample)
    stale = checked.gone + checked.full
    if stale:
        pool.remove_from_pool(aid, stale)
        stats.count(stats.STALE_REMOVED, len(stale))
    if not checked.valid:
        return None
    candidates = [
        (page_id, checked.remaining(page_id, assignment.threshold))
        for page_id in checked.preferred(assignment.order)
    ]
    page_id = pool.reserve(aid, candidates, seconds, holder=holder if remember else None)
    if page_id is None:
        return PickResult(None, stats.BUSY)
    return PickResult(page_id, stats.POOL)


def _refill_on_demand(assignment_id: int) -> None:
    # One process refills (a bounded query) and the others carry on with what is there. The
    # lock is left to expire: at most one on-demand refill per assignment per REFILL_LOCK_SECONDS,
    # so a small assignment's short pool is not refilled on every pick.
    if not pool.try_refill_lock(assignment_id):
        return
    try:
        refill_pool(assignment_id=assignment_id)
    except Exception:
        pool.release_refill_lock(assignment_id)
        raise


# --- refill and check (the beat task, the registry) --------------------------------------------


def refill_pool(*, assignment_id: int) -> int:
    """Replace the pool with up to PICKER_POOL_SIZE to-do ids of the assignment; returns how many.

    Ids come from the Redis to-do set when it is ready (drawn by random rank: a uniform sample
    at a cost independent of the assignment's size), else from bounded Postgres probes; either
    way they are checked against Postgres before they are stored. Raises
    ``pool.PoolUnavailable`` when memcached is down.
    """
    ids = sample_todo_ids(assignment_id=assignment_id, limit=settings.PICKER_POOL_SIZE)
    pool.store_pool(assignment_id, ids)
    stats.count(stats.POOL_REFILLED)
    return len(ids)


def refill_all_pools() -> dict[int, int]:
    """Refill the pool of every active assignment (the beat task and the registry's rebuild)."""
    return {
        aid: refill_pool(assignment_id=aid)
        for aid in Assignment.objects.filter(active=True).values_list("pk", flat=True)
    }


def check_pools(*, lag_seconds: int | None = None, now: float | None = None) -> Drift:
    """Drift of every active assignment's pool: pooled ids that are not to-do pages of it.

    Pools lag by design (pages reviewed since the last refill stay in them until the next one;
    the picker drops each as it meets it). With ``lag_seconds``, the stale ids of a pool filled
    less than that long ago are counted as ``lagging``, not drift; a pool older than that (the
    beat task stopped) or of unknown age is drift."""
    now = time.time() if now is None else now
    drift = Drift()
    for assignment in Assignment.objects.filter(active=True):
        ids = pool.get_pool(assignment.pk)
        if not ids:
            continue  # no pool is not drift: the picker refills on demand
        valid = set(valid_todo_ids(assignment=assignment, page_ids=ids))
        stale = [page_id for page_id in ids if page_id not in valid]
        if not stale:
            continue
        filled = pool.pool_filled_at(assignment.pk) if lag_seconds is not None else None
        if filled is not None and lag_seconds is not None and now - filled <= lag_seconds:
            drift.lagging += len(stale)
            continue
        for page_id in stale:
            drift.extra += 1
            drift.add_example(f"assignment {assignment.pk}: page {page_id} is not to do")
    return drift
