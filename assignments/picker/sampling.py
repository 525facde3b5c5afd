"""Uniform samples of an assignment's to-do pages, to fill the memcached pool.

From the Redis to-do set when it is ready (the draw script's rank sampling, uniform at a cost
independent of the assignment's size), else from Postgres: random ids of the assignment's range
first, then short runs of consecutive to-do pages from random starting points. Every id is
checked in Postgres before it is returned.
"""

from __future__ import annotations

import random

import redis

from assignments.models import Assignment
from assignments.picker.check import check
from assignments.picker.drawing import TODO_FAMILY, DrawArgs, DrawReply
from assignments.picker.postgres_source import (
    PG_SCAN_CAP,
    postgres_definitive,
    postgres_priority,
    postgres_probe,
    postgres_random_ids,
)
from assignments.picker.redis_source import RedisUnavailable, redis_client, redis_failed
from lib import keys
from lib.redis_scripts import execute

POOL_RUNS = 16  # a pool filled from Postgres is about this many runs of consecutive pages


def sample_todo_ids(*, assignment_id: int, limit: int) -> list[int]:
    """Up to ``limit`` to-do page ids of an assignment, spread at random, all checked in Postgres.

    From the Redis to-do set when it is ready (a uniform sample), else from bounded Postgres
    probes at random starting points. Used to fill the memcached pool.
    """
    assignment = Assignment.objects.get(pk=assignment_id)
    ids: list[int] = []
    try:
        r = redis_client()
        pipe = r.pipeline(transaction=False)
        pipe.exists(keys.built_marker(TODO_FAMILY))
        # The best bands first (priority pages, then in "fewest reviews first" order the pages
        # with the most free places), uniform within each, by rank.
        DrawArgs.for_draw(assignment_id, limit, claim=False, order=assignment.order).add(pipe)
        ready, raw_draw = execute(pipe, r)
        if ready:
            reply = DrawReply.parse(raw_draw)
            # A lost mirror (its rebuild is queued by the pick that found it): Postgres samples.
            ready = not reply.mirror_missing
            ids = reply.ids
    except (RedisUnavailable, redis.RedisError) as exc:
        if isinstance(exc, redis.RedisError):
            redis_failed(exc)
        ready = False
    if not ready:
        # Priority pages first, then random ids of the assignment's range first (uniform, see postgres_random_ids), a few
        # batches at most; what they miss (a sparse or nearly finished assignment) is made up by
        # the circular scans below.
        found: dict[int, None] = dict.fromkeys(postgres_priority(assignment, None, limit=limit))
        for _ in range(POOL_RUNS // 2):
            found.update(dict.fromkeys(postgres_random_ids(assignment, None, k=256)))
            if len(found) >= limit:
                break
        if len(found) < limit // 2:
            found.update(dict.fromkeys(_pool_from_scans(assignment, limit)))
        ids = list(found)
        random.shuffle(ids)
    checked = check(assignment, None, ids)
    # Redis's ids come best band first; Postgres's are put in the assignment's order.
    ordered = [i for i in ids if i in set(checked.valid)] if ready else checked.preferred(assignment.order)
    if checked.priority:
        # Priority pages only, while some are to do: the pool's picks sample it at random.
        ordered = [i for i in ordered if i in checked.priority]
    return ordered[:limit]


def _pool_from_scans(assignment: Assignment, limit: int) -> list[int]:
    """Short runs of consecutive to-do pages (circular scans) from random starting points until
    the pool is full, so that every page has about the same chance to be in it. Bounded: at most
    2 * POOL_RUNS probes (runs may overlap in an assignment not much larger than the pool, which
    then stays a little short rather than favour some pages)."""
    found: dict[int, None] = {}
    window = max(1, -(-limit // POOL_RUNS))
    for _ in range(2 * POOL_RUNS):
        run = postgres_probe(assignment, None, window=window, cap=PG_SCAN_CAP)
        found.update(dict.fromkeys(run))
        if len(run) < window:
            # The scan saw every to-do page (a small assignment), or too few of a sparse one's
            # within the cap: ask for up to ``limit`` of them directly.
            found.update(dict.fromkeys(postgres_definitive(assignment, None, limit=limit)))
            break
        if len(found) >= limit:
            break
    return list(found)
