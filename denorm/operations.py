"""Operating the registry: rebuild, check, the built markers of Redis families, the self-healing
rebuild queue and the periodic check-and-repair."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable

import redis
from django.db import transaction

from denorm.registry import Denormalisation, Drift, _registry, all_entries
from lib import keys
from lib.redis_client import get_redis

log = logging.getLogger("crowd.denormalisation")

# How long one process may hold the "rebuild this family" lock before another may queue again.
REBUILD_LOCK_SECONDS = 600
REBUILD_TASK = "denorm.tasks.rebuild_denormalisation"


def rebuild_entries(entries: Iterable[Denormalisation]) -> list[tuple[str, float]]:
    """Rebuild the entries from Postgres, in order; returns (names, seconds) per rebuild run.

    Entries sharing a ``rebuild`` function are rebuilt once. Redis families get their built
    marker only after their rebuild finished, and the run is recorded for the staff page.
    """
    done: list[Callable] = []
    runs: list[tuple[str, float]] = []
    for entry in entries:
        if any(entry.rebuild is fn for fn in done):
            continue
        done.append(entry.rebuild)
        group = [e for e in all_entries() if e.rebuild is entry.rebuild]
        started = time.monotonic()
        entry.rebuild()
        seconds = time.monotonic() - started
        markers = [keys_built_marker(e.name) for e in group if e.has_marker]
        if markers:
            # One SET per marker, not MSET: markers live in different Redis Cluster slots.
            pipe = get_redis().pipeline(transaction=False)
            for marker in markers:
                pipe.set(marker, str(int(time.time())))
            pipe.execute()
        for e in group:
            _record(e.name, rebuilt_seconds=seconds)
        runs.append((", ".join(e.name for e in group), seconds))
    return runs


def check_entries(entries: Iterable[Denormalisation]) -> list[tuple[Denormalisation, Drift]]:
    """Compare each entry with Postgres; record the outcome for the staff page."""
    results = []
    for entry in entries:
        drift = entry.check()
        _record(entry.name, drift=drift)
        results.append((entry, drift))
    return results


def _record(name: str, *, rebuilt_seconds: float | None = None, drift: Drift | None = None) -> None:
    from denorm.models import DenormalisationState

    try:
        DenormalisationState.record(name, rebuilt_seconds=rebuilt_seconds, drift=drift)
    except Exception:  # the run itself matters more than its log line on the staff page
        log.exception("could not record the %s run of %s", "rebuild" if drift is None else "check", name)


def mark_stale(names: Iterable[str], reason: str) -> None:
    """An on-commit update failed (Redis down): flag the entries for the next periodic rebuild."""
    from denorm.models import DenormalisationState

    for name in names:
        try:
            DenormalisationState.mark_stale(name, reason)
        except Exception:
            log.exception("could not flag %s as stale", name)


def keys_built_marker(name: str) -> str:
    return keys.built_marker(name)


def redis_family_ready(name: str) -> bool:
    """True when the Redis family ``name`` is fully built and can be trusted.

    When its built marker is missing (Redis flushed, or restarted empty) this queues one rebuild
    (a Celery task, guarded by a ``SET NX EX`` lock so that many web processes asking at once
    queue it once) and returns False: callers then use their fallback until the rebuild has run.
    Returns False, never raises, when Redis is down.
    """
    try:
        if get_redis().exists(keys.built_marker(name)):
            return True
        log.warning("denormalisation %s is not built", name)
        queue_rebuild(name)
    except redis.RedisError as exc:
        log.warning("redis unavailable checking %s: %r", name, exc)
    return False


def queue_rebuild(name: str) -> bool:
    """Queue a rebuild of ``name`` unless one is already queued (the lock). True if queued (or,
    inside a transaction, to be queued once it commits). The task releases the lock when done; a
    crashed task's lock expires."""
    if transaction.get_connection().in_atomic_block:
        # Nothing touches Redis before the caller's transaction commits: a lock taken now would
        # outlive a rollback and block every rebuild of this entry for REBUILD_LOCK_SECONDS.
        transaction.on_commit(lambda: _lock_and_queue(name), robust=True)
        return True
    return _lock_and_queue(name)


def _lock_and_queue(name: str) -> bool:
    if not get_redis().set(keys.rebuild_lock(name), str(int(time.time())), nx=True, ex=REBUILD_LOCK_SECONDS):
        return False
    _queue_rebuild(name)
    return True


def ensure_built() -> list[str]:
    """Queue rebuilds of unbuilt Redis families and of entries flagged stale (the beat task)."""
    from denorm.models import DenormalisationState

    stale = set(DenormalisationState.objects.filter(stale_since__isnull=False).values_list("name", flat=True))
    try:
        wanted = [n for n in unbuilt_families() if n not in stale] + sorted(stale & set(_registry))
        return [name for name in wanted if queue_rebuild(name)]
    except redis.RedisError as exc:  # nothing to rebuild into; the next run tries again
        log.warning("redis unavailable, no rebuild queued: %r", exc)
        return []


def _queue_rebuild(name: str) -> None:
    from celery import current_app

    try:
        # By name: the tasks module imports this one, so importing it here would make a cycle.
        current_app.send_task(REBUILD_TASK, args=[name])
    except Exception as exc:  # broker down: drop the lock so the next caller queues again
        log.warning("could not queue the rebuild of %s: %r", name, exc)
        release_rebuild_lock(name)


def release_rebuild_lock(name: str) -> None:
    with contextlib.suppress(redis.RedisError):
        get_redis().delete(keys.rebuild_lock(name))


def unbuilt_families() -> list[str]:
    """Names of Redis families whose built marker is missing (Redis errors propagate)."""
    names = [e.name for e in all_entries() if e.has_marker]
    if not names:
        return []
    pipe = get_redis().pipeline(transaction=False)
    for name in names:
        pipe.get(keys.built_marker(name))
    present = pipe.execute()
    return [n for n, value in zip(names, present, strict=True) if value is None]


# Swap a set built beside into place, atomically, keys in one slot (the temporary key carries the
