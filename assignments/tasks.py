"""Celery tasks of the picker: keep the memcached pools (the Redis-down fallback) full."""

from __future__ import annotations

from celery import shared_task
from celery.signals import worker_process_shutdown

from assignments import picker, picker_stats, pool


@shared_task(ignore_result=True)
def refill_pools() -> None:
    """Beat: refill the pool of every active assignment (see CELERY_BEAT_SCHEDULE)."""
    try:
        picker.refill_all_pools()
    except pool.PoolUnavailable:
        picker_stats.count(picker_stats.POOL_UNAVAILABLE)
    # A worker's counts reach /staff/cache/ even when it serves no requests.
    picker_stats.flush()


@shared_task(ignore_result=True)
def refill_pool(assignment_id: int) -> None:
    """On demand (e.g. after an editor changed an assignment): refill one pool."""
    try:
        picker.refill_pool(assignment_id=assignment_id)
    except pool.PoolUnavailable:
        picker_stats.count(picker_stats.POOL_UNAVAILABLE)
    picker_stats.flush()


@worker_process_shutdown.connect(dispatch_uid="picker-stats-flush-at-worker-exit")
def _flush_counts_at_exit(**kwargs) -> None:
    # A prefork pool child ends with os._exit, which skips the atexit flush: store its counts here.
    picker_stats.flush()
