"""Helpers for Redis sets kept as denormalisations: build beside and swap, compare and repair
member by member, walk a family of per-owner sets. Every command touches one hash slot, so these
work on Redis Cluster too."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any

import redis

from denorm.registry import Drift
from lib.redis_client import get_redis
from lib.redis_scripts import execute, load_script

# Members per SADD when (re)building a set: big enough to be fast, small enough not to block Redis.
REDIS_CHUNK = 5000

# A temporary key is created together with its expiry, in one command (a script): a build
# pipeline goes out in several socket writes, and a worker killed between a key's first write
# and a later EXPIRE would leave it without one, litter for ever. The first write is kept small
# (Lua's unpack takes some thousands of values); the rest follows in plain chunks. The scripts
# run in place (``LuaScript.in_place``): loaded before the pipeline is sent, never repeated
# after the plain chunks on a NOSCRIPT.
WRITE_EXPIRING = load_script("denorm", "lua/write_expiring.lua", in_place=True)
DIFF_EXPIRING = load_script("denorm", "lua/diff_expiring.lua", in_place=True)
FIRST_WRITE_VALUES = 1000
TEMPORARY_SECONDS = 3600


def write_temporary(
    pipe: redis.client.Pipeline,
    command: str,
    key: str,
    values: list[Any],
    *,
    per_item: int = 1,
    chunk: int = REDIS_CHUNK,
) -> None:
    """Queue ``command`` (SADD, or ZADD with ``per_item=2`` flattened score/member values) on the
    temporary ``key``: the first write sets its expiry in the same command. Run ``pipe`` with
    ``lib.redis_scripts.execute``."""
    first = FIRST_WRITE_VALUES * per_item
    if not values:
        return
    WRITE_EXPIRING.queue(pipe, [key], [TEMPORARY_SECONDS, command, *values[:first]])
    step = chunk * per_item
    for i in range(first, len(values), step):
        pipe.execute_command(command, key, *values[i : i + step])  # type: ignore[no-untyped-call]


def diff_temporary(pipe: redis.client.Pipeline, key: str, whole: str, removed: str) -> None:
    """Queue the temporary set ``key`` = ``whole`` minus ``removed`` (SDIFFSTORE; the three share a
    hash tag), created with its expiry in the same command. Run ``pipe`` with
    ``lib.redis_scripts.execute``."""
    DIFF_EXPIRING.queue(pipe, [key, whole, removed], [TEMPORARY_SECONDS])


# The swap of a set built beside (denorm/lua/swap.lua): sets and sorted sets, here and in
# contributors.zsets.
SWAP = load_script("denorm", "lua/swap.lua")


def queue_swap(pipe: redis.client.Pipeline, temporary: str, live: str, *, ttl: int = 0) -> None:
    """Queue the atomic swap of ``temporary`` into ``live`` (run ``pipe`` with
    ``lib.redis_scripts.execute``); ``ttl`` > 0 gives the live key an expiry."""
    SWAP.queue(pipe, [temporary, live], [ttl])


# Sets up to this size are read whole (one SMEMBERS/ZRANGE, pipelined with others); larger ones
# in SSCAN/ZSCAN batches, so that no single command on a multi-million-member set of a large
# release outlasts the client's socket timeout or blocks Redis for other clients.
WHOLE_READ_MAX = 20_000
SCAN_BATCH = 10_000


def read_sets(keys: list[str], *, sorted_set: bool | list[bool] = False) -> list[set[str]]:
    """The members of each key (sets, or sorted sets where ``sorted_set`` says so), read in
    pipelined whole reads for small keys and SSCAN/ZSCAN batches for large ones. Cost: one round
    trip for the sizes, one for the small keys, and one per SCAN_BATCH members of each large key."""
    if not keys:
        return []
    flags = sorted_set if isinstance(sorted_set, list) else [sorted_set] * len(keys)
    client = get_redis()
    sizes = client.pipeline(transaction=False)
    for key, is_sorted in zip(keys, flags, strict=True):
        (sizes.zcard if is_sorted else sizes.scard)(key)
    cards = sizes.execute()
    result: list[set[str]] = [set() for _ in keys]
    small = client.pipeline(transaction=False)
    small_at = []
    for i, (key, is_sorted, card) in enumerate(zip(keys, flags, cards, strict=True)):
        if not card:
            continue
        if card <= WHOLE_READ_MAX:
            small.zrange(key, 0, -1) if is_sorted else small.smembers(key)
            small_at.append(i)
        elif is_sorted:
            result[i] = {member for member, _ in client.zscan_iter(key, count=SCAN_BATCH)}
        else:
            result[i] = set(client.sscan_iter(key, count=SCAN_BATCH))
    for i, members in zip(small_at, small.execute(), strict=True):
        result[i] = set(members)
    return result


def read_scores(keys: list[str]) -> list[dict[str, float]]:
    """The members of each sorted set with their scores, read like :func:`read_sets`: pipelined
    ZRANGE WITHSCORES for small keys, ZSCAN batches for large ones."""
    if not keys:
        return []
    client = get_redis()
    sizes = client.pipeline(transaction=False)
    for key in keys:
        sizes.zcard(key)
    cards = sizes.execute()
    result: list[dict[str, float]] = [{} for _ in keys]
    small = client.pipeline(transaction=False)
    small_at = []
    for i, (key, card) in enumerate(zip(keys, cards, strict=True)):
        if not card:
            continue
        if card <= WHOLE_READ_MAX:
            small.zrange(key, 0, -1, withscores=True)
            small_at.append(i)
        else:
            result[i] = dict(client.zscan_iter(key, count=SCAN_BATCH))
    for i, members in zip(small_at, small.execute(), strict=True):
        result[i] = dict(members)
    return result


def replace_sets(sets: dict[str, Iterable[int]]) -> None:
    """Replace whole Redis sets: build each beside (a temporary key in the same hash slot), then
    swap it in with one atomic script per set. Readers never see a half-built set; an empty set
    deletes its key. No command touches two slots, so this works on Redis Cluster too."""
    client = get_redis()
    token = uuid.uuid4().hex[:12]
    build = client.pipeline(transaction=False)
    swaps = []
    for key, members in sets.items():
        members = list(members)
        tmp = f"{key}:tmp:{token}"
        write_temporary(build, "SADD", tmp, members)  # a crash mid-build leaves no permanent litter
        swaps.append((tmp, key))
    execute(build, client)
    swap = client.pipeline(transaction=False)
    for tmp, key in swaps:
        queue_swap(swap, tmp, key)
    execute(swap, client)


def sync_set(
    key: str,
    truth: set[int],
    *,
    actual: set[str] | None = None,
    fix: bool = False,
    label: str = "",
    pipe: redis.client.Pipeline | None = None,
    sorted_set: bool = False,
) -> Drift:
    """Compare one Redis set with the Postgres truth; with ``fix``, add and remove the difference
    member by member (SADD/SREM, never a rebuild). ``actual`` may be read beforehand. With
    ``sorted_set`` the key is a sorted set whose scores are all 0 (ZADD/ZREM)."""
    if actual is None:
        [actual] = read_sets([key], sorted_set=sorted_set)
    actual = set(actual)
    wanted = {str(m) for m in truth}
    missing = wanted - actual
    extra = actual - wanted
    drift = Drift(missing=len(missing), extra=len(extra))
    label = label or key
    for m in sorted(missing)[:2]:
        drift.add_example(f"{label}: {m} missing")
    for m in sorted(extra)[:2]:
        drift.add_example(f"{label}: {m} extra")
    if fix and (missing or extra):
        own = pipe is None
        pipe = pipe if pipe is not None else get_redis().pipeline(transaction=False)
        if missing:
            if sorted_set:
                pipe.zadd(key, dict.fromkeys(missing, 0))
            else:
                pipe.sadd(key, *missing)
        if extra:
            (pipe.zrem if sorted_set else pipe.srem)(key, *extra)
        if own:
            pipe.execute()
    return drift


def scan_keys(pattern: str) -> list[str]:
    """Keys matching a pattern, without temporary build keys (SCAN: never blocks Redis)."""
    return [k for k in get_redis().scan_iter(match=pattern, count=1000) if ":tmp:" not in k]


def sync_family(
    truth: dict[int, set[int]],
    key_of: Callable[[int], str],
    pattern: str,
    id_of_key: Callable[[str], int],
    *,
    fix: bool,
) -> Drift:
    """Compare (and with ``fix`` repair, member by member) a whole family of Redis sets: one set
    per owner in ``truth``, plus any key matching ``pattern`` whose owner has no members."""
    client = get_redis()
    drift = Drift()
    owners = set(truth)
    stray = [k for k in scan_keys(pattern) if id_of_key(k) not in owners]
    owner_list = sorted(owners)
    pipe = client.pipeline(transaction=False)
    for i in range(0, len(owner_list), 500):
        batch = owner_list[i : i + 500]
        for owner, actual in zip(batch, read_sets([key_of(o) for o in batch]), strict=True):
            drift.merge(sync_set(key_of(owner), truth[owner], actual=actual, fix=fix, pipe=pipe))
    for key, actual in zip(stray, read_sets(stray), strict=True):
        drift.merge(sync_set(key, set(), actual=actual, fix=fix, pipe=pipe))
    if fix:
        pipe.execute()
    return drift


def repair_family(
    truth_of: Callable[[], dict[int, set[int]]],
    key_of: Callable[[int], str],
    pattern: str,
    id_of_key: Callable[[str], int],
) -> Drift:
    """Compare a family with Postgres and repair it member by member (SADD/SREM), safely while
    the site serves; returns the drift found.

    Redis is read before Postgres (every key of the family, then the truth): an on-commit update
    racing with the repair then only makes a member look missing or extra when it truly is
    (its Postgres change committed before the truth was read), so the repair does not undo it.
    The one remaining window, a member changing twice between the read and the fix, leaves drift
    that the next periodic check finds and repairs."""
    client = get_redis()
    actual: dict[int, set[str]] = {}
    found = scan_keys(pattern)
    for i in range(0, len(found), 500):
        batch = found[i : i + 500]
        for key, members in zip(batch, read_sets(batch), strict=True):
            actual[id_of_key(key)] = members
    truth = truth_of()
    drift = Drift()
    pipe = client.pipeline(transaction=False)
    for owner in sorted(set(truth) | set(actual)):
        key = key_of(owner)
        drift.merge(
            sync_set(key, truth.get(owner, set()), actual=actual.get(owner, set()), fix=True, pipe=pipe)
        )
    pipe.execute()
    return drift


def rebuild_family(
    truth_of: Callable[[], dict[int, set[int]]],
    key_of: Callable[[int], str],
    pattern: str,
    id_of_key: Callable[[str], int],
) -> None:
    """Rebuild a family safely while the site serves: build every set beside and swap it, delete
    the sets of owners that no longer have members, then repair member by member whatever
    on-commit updates landed between reading Postgres and the swap (read Redis, then Postgres)."""
    truth = truth_of()
    owners = sorted(truth)
    for i in range(0, len(owners), 200):
        replace_sets({key_of(o): truth[o] for o in owners[i : i + 200]})
    stray = [k for k in scan_keys(pattern) if id_of_key(k) not in truth]
    if stray:
        pipe = get_redis().pipeline(transaction=False)
        for key in stray:  # one DEL per key: they sit in different slots
            pipe.delete(key)
        pipe.execute()
    repair_family(truth_of, key_of, pattern, id_of_key)


def hash_tag_id(key: str) -> int:
    """The numeric id inside a key's hash tag: ``crowd:v1:{a:17}:todo`` -> 17."""
    inner = key[key.index("{") + 1 : key.index("}")]
    return int(inner.split(":", 1)[1])
