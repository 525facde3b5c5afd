"""Sorted sets kept as denormalisations (the leaderboards and the 48-hour buckets): build beside
and swap, compare with Postgres and repair member by member, read many at once. One key per
command (or keys sharing a hash tag), so these work on Redis Cluster too."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from denorm.redis_sets import queue_swap, scan_keys, write_temporary
from denorm.registry import Drift
from lib.redis_client import get_redis
from lib.redis_scripts import execute

CHUNK = 5000  # members per ZADD when building


def replace_zsets(sets: dict[str, dict[int, int]], *, ttl: dict[str, int] | None = None) -> None:
    """Replace whole sorted sets (user id -> count): each built beside, then swapped in by one
    atomic script. Readers never see a half-built set; an empty one deletes its key. ``ttl``
    gives keys that expire (seconds), the others persist."""
    client = get_redis()
    token = uuid.uuid4().hex[:12]
    build = client.pipeline(transaction=False)
    swaps = []
    for key, members in sets.items():
        items = [(str(m), n) for m, n in members.items() if n > 0]
        tmp = f"{key}:tmp:{token}"
        flat = [v for member, n in items for v in (n, member)]  # ZADD's score, member pairs
        # A crash mid-build leaves no permanent litter: the key is created with its expiry.
        write_temporary(build, "ZADD", tmp, flat, per_item=2, chunk=CHUNK)
        swaps.append((tmp, key))
    execute(build, client)
    swap = client.pipeline(transaction=False)
    for tmp, key in swaps:
        queue_swap(swap, tmp, key, ttl=(ttl or {}).get(key, 0))
    execute(swap, client)


def read_zsets(keys: Iterable[str]) -> dict[str, dict[str, float]]:
    """Every member and score of these sorted sets (pipelined, 500 keys a round trip)."""
    keys = list(keys)
    out: dict[str, dict[str, float]] = {}
    client = get_redis()
    for i in range(0, len(keys), 500):
        batch = keys[i : i + 500]
        pipe = client.pipeline(transaction=False)
        for key in batch:
            pipe.zrange(key, 0, -1, withscores=True)
        for key, rows in zip(batch, pipe.execute(), strict=True):
            out[key] = dict(rows)
    return out


def sync_zset(
    key: str, truth: dict[int, int], actual: dict[str, float], *, fix: bool, pipe=None, label: str = ""
) -> Drift:
    """Compare one sorted set with the truth (user id -> count); with ``fix`` set the members
    that differ (ZADD absolute counts, ZREM those with none) in ``pipe``."""
    wanted = {str(m): int(n) for m, n in truth.items() if n > 0}
    drift = Drift()
    label = label or key
    add: dict[str, int] = {}
    for member, count in wanted.items():
        have = actual.get(member)
        if have is None:
            drift.missing += 1
            drift.add_example(f"{label}: user {member} missing ({count})")
            add[member] = count
        elif int(have) != count:
            drift.wrong += 1
            drift.add_example(f"{label}: user {member} {int(have)}, should be {count}")
            add[member] = count
    extra = [m for m in actual if m not in wanted]
    for member in extra[:2]:
        drift.add_example(f"{label}: user {member} extra")
    drift.extra += len(extra)
    if fix and pipe is not None:
        if add:
            pipe.zadd(key, add)
        if extra:
            pipe.zrem(key, *extra)
    return drift


def sync_zset_family(
    truth: dict[str, dict[int, int]],
    pattern: str,
    *,
    fix: bool,
    actual: dict[str, dict[str, float]] | None = None,
) -> Drift:
    """Compare (and with ``fix`` repair) every sorted set of a family: the keys in ``truth`` and
    any key matching ``pattern`` that should not exist. Redis is read first (``actual``, or now),
    then compared with the truth read after it (see ``denorm.redis_sets.repair_family`` for why)."""
    if actual is None:
        actual = read_zsets(set(scan_keys(pattern)) | set(truth))
    drift = Drift()
    pipe = get_redis().pipeline(transaction=False)
    for key in sorted(set(truth) | set(actual)):
        drift.merge(sync_zset(key, truth.get(key, {}), actual.get(key, {}), fix=fix, pipe=pipe))
    if fix:
        pipe.execute()
    return drift
