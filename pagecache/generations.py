"""Generations: integers in memcached, one per thing that cached pages show.

A cached page's key carries the generations of what it shows (``pagecache.routes``); a write
that changes one of those things increments its generation after commit, so the next request
computes a new key and renders afresh, while the old entry simply ages out. Nothing is ever
searched for and deleted, except nginx's copies (see ``_forget_nginx_copies``).

Two kinds:

- **hard** (``HARD``): ``catalogue`` (tags, documents, members, parties, deleted pages),
  ``assignments``, ``discoveries``, and ``epoch`` (in every key; a rebuild bumps it). Read from
  memcached on every request: a change shows at once.
- **soft**: ``counts`` (progress and tag counts that every review changes), ``tag:<slug>``
  (listings of one tag) and ``page:<id>`` (one page's tag counts). Each process keeps the
  values it read for ``PAGE_CACHE_SOFT_SECONDS``: a review shows within that bound (plus the
  in-order listings' settle time), and a hot tag listing is rendered at most once per bound per
  process however fast reviews arrive.

A generation missing from memcached (evicted, memcached restarted) is created from the clock in
microseconds, which is larger than any value it can have had: it never goes back, so a page
cached under an older value can never be served again by mistake.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from lib import keys
from lib.clock import Clock
from lib.log_throttle import warn_throttled
from pagecache import stats

log = logging.getLogger("crowd.pagecache")

EPOCH = "epoch"
CATALOGUE = "catalogue"
ASSIGNMENTS = "assignments"
DISCOVERIES = "discoveries"
COUNTS = "counts"
HARD = (EPOCH, CATALOGUE, ASSIGNMENTS, DISCOVERIES)
GLOBAL = (*HARD, COUNTS)  # the generations that exist once (rebuilt and checked as a whole)

_LOCAL_LIMIT = 20_000
_lock = threading.Lock()
_local: dict[str, tuple[int, float]] = {}  # soft generation -> (value, clock.now() when read)
# The soft bound's clock (lib.clock: tests move it instead of patching time.monotonic).
clock = Clock()
# Highest value this process saw of each global generation (the check's "monotone" test).
high_water: dict[str, int] = {}


def tag(slug: str) -> str:
    return f"tag:{slug}"


def page(page_id: int) -> str:
    return f"page:{page_id}"


def is_soft(name: str) -> bool:
    return name not in HARD


def _clock_value() -> int:
    return time.time_ns() // 1000


def _initialise(key: str) -> int | None:
    """Create a missing generation from the clock (or read the one a racing process created)."""
    value = _clock_value()
    if cache.add(key, value, timeout=None):
        return value
    found = cache.get(key)
    return found if isinstance(found, int) else None


def read(names: Iterable[str]) -> dict[str, int] | None:
    """The current value of each generation (soft ones as this process last read them, if less
    than PAGE_CACHE_SOFT_SECONDS ago); None when memcached does not answer."""
    now = clock.now()
    window = settings.PAGE_CACHE_SOFT_SECONDS
    values: dict[str, int] = {}
    wanted: dict[str, str] = {}
    with _lock:
        for name in names:
            held = _local.get(name) if is_soft(name) else None
            if held is not None and now - held[1] < window:
                values[name] = held[0]
            else:
                wanted[keys.page_generation(name)] = name
    if not wanted:
        return values
    found = cache.get_many(list(wanted))
    for key, name in wanted.items():
        value = found.get(key)
        if not isinstance(value, int):
            value = _initialise(key)
            if value is None:
                return None
        values[name] = value
    with _lock:
        if len(_local) > _LOCAL_LIMIT:
            _local.clear()
        for name in wanted.values():
            if is_soft(name):
                _local[name] = (values[name], now)
        for name, value in values.items():
            if name in GLOBAL and value > high_water.get(name, 0):
                high_water[name] = value
    return values


def bump(names: Iterable[str]) -> None:
    """Increment generations now (call after commit: see :func:`bump_on_commit`)."""
    names = sorted(set(names))
    if not names:
        return
    soft = [n for n in names if is_soft(n)]
    if soft:
        # Every review bumps two to four soft generations: sent without waiting for memcached's
        # replies (noreply), so they cost no round trip. A bump of a missing generation is then
        # lost, harmlessly: the next read creates it from the clock, above any value it had.
        client = cache._cache
        try:
            for name in soft:
                client.incr(cache.make_and_validate_key(keys.page_generation(name)), 1, noreply=True)
        except Exception:  # pymemcache's own errors when memcached is down (ignore_exc aside)
            warn_throttled(log, "pagecache-bump", "memcached down: page generations %s not bumped", soft)
    for name in names:
        if is_soft(name):
            continue
        key = keys.page_generation(name)
        try:
            cache.incr(key)
        except ValueError:  # missing (created from the clock, so still larger) or memcached down
            if _initialise(key) is None:
                warn_throttled(log, "pagecache-bump", "memcached down: page generation %s not bumped", name)
    with _lock:
        for name in names:
            _local.pop(name, None)
    _forget_nginx_copies([n for n in names if not is_soft(n)])
    stats.count(stats.BUMP, len(names))


def restore_global() -> None:
    """Set each global generation that is missing or below this process's high-water mark to a
    value above both that mark and the clock, then bump them all (the denormalisation repair)."""
    for name in GLOBAL:
        key = keys.page_generation(name)
        value = cache.get(key)
        floor = max(_clock_value(), high_water.get(name, 0) + 1)
        if not isinstance(value, int) or value < high_water.get(name, 0):
            cache.set(key, floor, timeout=None)
    bump(GLOBAL)


def bump_on_commit(names: Iterable[str]) -> None:
    """Bump once the current transaction commits (at once outside a transaction)."""
    names = set(names)
    if names:
        transaction.on_commit(lambda: bump(names))


def forget_local() -> None:
    """Drop this process's soft values (tests)."""
    with _lock:
        _local.clear()


# --- nginx's copies -----------------------------------------------------------------------------
#
# nginx serves pages from memcached by their URI alone: it cannot read generations. So each copy
# it may serve lives at most NGINX_SECONDS (the soft bound), and is listed under every hard
# generation it shows in a per-time-bucket index; bumping a hard generation deletes the copies
# listed in the buckets still alive. Buckets are NGINX_SECONDS wide, so a copy stored at time t
# (bucket floor(t/T)) has expired before bucket floor(t/T) + 2 begins: the current bucket and
# the one before cover every live copy.


def nginx_seconds() -> int:
    return max(1, settings.PAGE_CACHE_SOFT_SECONDS)


def _bucket(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // nginx_seconds())


def register_nginx_copy(key: str, generations: Iterable[str]) -> bool:
    """List an nginx copy under its hard generations; False if that failed (then do not store it)."""
    bucket = _bucket()
    line = (cache.make_and_validate_key(key) + "\n").encode()
    for name in generations:
        if is_soft(name):
            continue
        index = keys.nginx_page_index(name, bucket)
        if cache.add(index, line, timeout=3 * nginx_seconds()):
            continue
        # Django's cache API has no append; the memcached client's own does it in one round trip
        # (a read-modify-write would lose entries under concurrency).
        full = cache.make_and_validate_key(index)
        try:
            if not cache._cache.append(full, line, noreply=False):
                return False
        except Exception:  # pymemcache raises its own errors when memcached is down
            return False
    return True


def _forget_nginx_copies(hard: list[str]) -> None:
    if not hard:
        return
    bucket = _bucket()
    indexes = [keys.nginx_page_index(name, b) for name in hard for b in (bucket - 1, bucket)]
    found = cache.get_many(indexes)
    doomed: set[str] = set()
    for value in found.values():
        if isinstance(value, bytes):
            doomed.update(line for line in value.decode().split("\n") if line)
    if doomed:
        try:
            cache._cache.delete_many(sorted(doomed))  # full keys already (see register_nginx_copy)
        except Exception:
            warn_throttled(log, "pagecache-nginx", "memcached down: nginx copies not deleted")
