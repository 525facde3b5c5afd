"""Operating the registry: rebuild, check, the built markers of Redis families, the self-healing
rebuild queue and the periodic check-and-repair (:func:`check_and_repair`)."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import redis
from django.db import transaction

from denorm.registry import Denormalisation, Drift, _registry, all_entries
from lib import keys, metrics
from lib.redis_client import get_redis

log = logging.getLogger("crowd.denormalisation")

# How long one process may hold the "rebuild this family" lock before another may queue again.
REBUILD_LOCK_SECONDS = 600
REBUILD_TASK = "denorm.tasks.rebuild_denormalisation"
CHECK_TASK = "denorm.tasks.check_denormalisation"


def rebuild_entries(entries: Iterable[Denormalisation]) -> list[tuple[str, float]]:
    """Rebuild the entries from Postgres, in order; returns (names, seconds) per rebuild run.

    Entries sharing a ``rebuild`` function are rebuilt once. Redis families get their built
    marker only after their rebuild finished, and the run is recorded for the staff page.
    """
    done: list[Callable[[], None]] = []
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


def _record(
    name: str, *, rebuilt_seconds: float | None = None, drift: Drift | None = None, **more: Any
) -> None:
    from denorm.models import DenormalisationState

    try:
        DenormalisationState.record(name, rebuilt_seconds=rebuilt_seconds, drift=drift, **more)
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


def queue_check(name: str) -> bool:
    """Queue a check of ``name`` (the staff page's "Check" button); the task records its outcome
    for the staff page. False when the broker could not be reached."""
    from celery import current_app

    try:
        current_app.send_task(CHECK_TASK, args=[name])  # by name: the tasks module imports this one
    except Exception as exc:
        log.warning("could not queue the check of %s: %r", name, exc)
        return False
    return True


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


# --- The periodic check-and-repair ----------------------------------------------------------

# A run that died holding the check lock blocks the next ones for at most this long.
CHECK_LOCK_SECONDS = 900


@dataclass
class CheckOutcome:
    """What the periodic check found in one entry and what it did about it."""

    name: str
    drift: Drift
    repaired: str = ""  # how it was repaired ("" when it agreed or could not be repaired)
    seconds: float = 0.0
    error: str = ""  # the check itself failed (logged with its traceback)


def check_and_repair(*, budget_seconds: float) -> list[CheckOutcome]:
    """Compare registered copies with Postgres and repair those that drifted (the beat task).

    Which entries: those checked longest ago (never-checked first) whose last measured check
    times (``DenormalisationState.last_check_seconds``) fit in ``budget_seconds``, at least one,
    run in registry order and stopped once the budget is spent. The cursor is
    ``DenormalisationState.last_check_at``: the next run continues with the entries this one left,
    so every entry is checked once per cycle whatever the budget. At demo scale the whole
    registry takes well under a second: every run checks everything.

    How: an entry with a ``repair`` compares and repairs in one pass, touching only what differs
    (SADD/SREM member by member in Redis, Redis read before Postgres; a recount of exactly the
    drifted rows in Postgres, rows locked first as in a rebuild). An entry without one is checked
    and, if it drifted, rebuilt (safe while serving, as every rebuild). Either runs under the
    entry's rebuild lock (``SET NX``): when a rebuild of it (or of an entry sharing its rebuild) is
    queued or running, the entry is only checked, and that rebuild repairs it.

    Cost: one run reads what the checks of the entries it covers read (each check is one pass
    over its copy and its Postgres source; nothing is rebuilt unless it drifted and has no
    ``repair``). See ``docs/denormalisations.md`` for the measured figures and a full cycle at
    4,000,000 pages.

    Drift is logged at WARNING on ``crowd.denormalisation`` (INFO for copies that lag by design,
    ``kept_current_on_commit=False``). Redis down: one WARNING line and an empty result. Two runs
    never overlap (a lock in Redis).
    """

    client = get_redis()
    try:
        if not client.set(keys.check_lock(), str(int(time.time())), nx=True, ex=CHECK_LOCK_SECONDS):
            log.info("denormalisation check skipped: the previous run is still going")
            return []
    except redis.RedisError as exc:
        log.warning("denormalisation check skipped, Redis unavailable: %r", exc)
        return []
    outcomes: list[CheckOutcome] = []
    try:
        started = time.monotonic()
        for entry in _next_batch(budget_seconds):
            if outcomes and time.monotonic() - started >= budget_seconds:
                break
            outcomes.append(_check_and_repair_one(entry))
    except redis.RedisError as exc:
        log.warning("denormalisation check stopped, Redis unavailable: %r", exc)
    finally:
        with contextlib.suppress(redis.RedisError):
            client.delete(keys.check_lock())
    return outcomes


def _next_batch(budget_seconds: float) -> list[Denormalisation]:
    """The entries checked longest ago (never checked first) whose last measured check times fit
    in the budget (at least one), in registry order: counters are repaired before the sets that
    read them (``assignment-done`` reads ``review_count``)."""
    from denorm.models import DenormalisationState

    states = {
        n: (at, secs)
        for n, at, secs in DenormalisationState.objects.values_list(
            "name", "last_check_at", "last_check_seconds"
        )
    }
    entries = all_entries()
    rank = {e.name: i for i, e in enumerate(entries)}

    def staleness(entry: Denormalisation) -> tuple[bool, Any, int]:
        at = states.get(entry.name, (None, None))[0]
        return (at is not None, at, rank[entry.name])

    batch: list[Denormalisation] = []
    planned = 0.0
    for entry in sorted(entries, key=staleness):
        cost = states.get(entry.name, (None, None))[1] or 0.0
        if batch and planned + cost > budget_seconds:
            break
        batch.append(entry)
        planned += cost
    return sorted(batch, key=lambda e: rank[e.name])


def _check_and_repair_one(entry: Denormalisation) -> CheckOutcome:
    group = [e.name for e in all_entries() if e.rebuild is entry.rebuild]
    client = get_redis()
    started = time.monotonic()
    busy = any(
        client.exists(keys.rebuild_lock(name)) for name in group if name != entry.name
    ) or not client.set(
        keys.rebuild_lock(entry.name), str(int(time.time())), nx=True, ex=REBUILD_LOCK_SECONDS
    )
    repaired = ""
    try:
        if busy:
            drift = entry.check()
        elif entry.repair is not None:
            drift = entry.repair()
            if not drift.ok:
                repaired = (
                    "member by member (SADD/SREM)" if entry.has_marker else "recount of the drifted rows"
                )
        else:
            drift = entry.check()
            if not drift.ok:
                rebuild_entries([entry])
                repaired = "rebuild"
    except redis.RedisError:
        raise  # the run stops with one line (check_and_repair)
    except Exception as exc:  # one broken entry must not stop the others' repair
        log.exception("denormalisation %s: check-and-repair failed", entry.name)
        return CheckOutcome(entry.name, Drift(), error=repr(exc)[:200])
    finally:
        if not busy:
            release_rebuild_lock(entry.name)
    seconds = time.monotonic() - started
    summary = f"{repaired}; found {drift}" if repaired else ""
    _record(entry.name, drift=drift, check_seconds=seconds, repair=summary)
    metrics.count_denormalisation_check(entry.name, drifted=not drift.ok, repaired=bool(repaired))
    if not drift.ok:
        level = logging.WARNING if entry.kept_current_on_commit else logging.INFO
        if repaired:
            log.log(
                level,
                "denormalisation %s drifted from Postgres: %s; repaired by %s",
                entry.name,
                drift,
                repaired,
            )
        else:
            log.log(
                level,
                "denormalisation %s drifted from Postgres: %s; not repaired now, a rebuild of it is queued or running",
                entry.name,
                drift,
            )
    return CheckOutcome(entry.name, drift, repaired, seconds)
