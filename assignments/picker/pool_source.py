"""Source 2, the memcached pool (Redis down or its sets not rebuilt yet), and its refill.

The pool's storage (memcached client, get/store/remove/reserve, the refill lock) is
``assignments.pool``, which knows nothing of the picker; what goes into a pool and when is
decided here: :func:`refill_pool` (on demand, by the beat task and by the registry's rebuild)
and :func:`check_pools` (the registry's check).
"""

from __future__ import annotations

import random

from django.conf import settings

from assignments import picker_stats as stats
from assignments import pool
from assignments.models import Assignment
from assignments.picker.check import check, valid_todo_ids
from assignments.picker.redis_source import CHECK_FIRST
from assignments.picker.result import PickResult
from assignments.picker.sampling import sample_todo_ids
from denorm.registry import Drift

POOL_SAMPLE = 48


def pick_from_pool(assignment: Assignment, uid: int | None) -> PickResult | None:
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
        checked = check(assignment, uid, chunk)
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


def check_pools() -> Drift:
    """Drift of every active assignment's pool: pooled ids that are not to-do pages of it."""
    drift = Drift()
    for assignment in Assignment.objects.filter(active=True):
        ids = pool.get_pool(assignment.pk)
        if not ids:
            continue  # no pool is not drift: the picker refills on demand
        valid = set(valid_todo_ids(assignment=assignment, page_ids=ids))
        for page_id in ids:
            if page_id not in valid:
                drift.extra += 1
                drift.add_example(f"assignment {assignment.pk}: page {page_id} is not to do")
    return drift
