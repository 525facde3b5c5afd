"""memcached: the picker's pools of to-do page ids (issue 4), a copy that lags by design."""

from __future__ import annotations

from assignments.denormalisations.sets import log
from denorm.registry import Denormalisation, Drift, Store, register


def _rebuild_pools() -> None:
    from assignments import picker, pool

    try:
        picker.refill_all_pools()
    except pool.PoolUnavailable as exc:
        # memcached down must not fail a full rebuild: the beat task and the picker's on-demand
        # refills fill the pools again when it is back.
        log.warning("assignment-pool not rebuilt: %s", exc)


# How stale a pool may be by design: refilled every minute by beat (one missed beat and the
# refill's own time allowed for). Stale ids within this are "lagging", older ones drift.
POOL_LAG_SECONDS = 180


def _check_pools() -> Drift:
    from assignments import picker, pool

    try:
        return picker.check_pools(lag_seconds=POOL_LAG_SECONDS)
    except pool.PoolUnavailable as exc:
        drift = Drift(missing=1)  # cannot be checked: reported, like a Redis family with Redis down
        drift.add_example(f"memcached unavailable, pools not checked ({exc})")
        return drift


register(
    Denormalisation(
        name="assignment-pool",
        description="Up to `PICKER_POOL_SIZE` to-do page ids per active assignment: the next-page "
        "picker's fallback when Redis is down. Every id is checked in Postgres before it is served "
        "and dropped from the pool when it is stale, so drift here costs a little speed, never a "
        "bad page.",
        derived_from="the assignment's to-do pages (`reviews_page.review_count < threshold`), sampled "
        "from the Redis to-do set when it is built, else by bounded Postgres probes",
        lives_in="memcached `crowd:v1:pool:a:<id>` (comma-separated ids, one hour expiry)",
        kept_current_by="the `assignments.tasks.refill_pools` beat task every minute; an on-demand "
        "refill by the picker when a pool is missing or low (at most one per assignment per 30 s); "
        "the picker drops stale ids it finds",
        rebuild=_rebuild_pools,
        check=_check_pools,
        order=90,
        kept_current_on_commit=False,
        lag_seconds=POOL_LAG_SECONDS,
        repaired_by="the `picker-refill-pools` beat task (every 60 s) and the picker dropping stale ids",
        store=Store.MEMCACHED,
    )
)
