"""The next-page picker's cost at 40k, 400k and 4M pages, against ORDER BY random().

One table of 4,000,000 pages is built with set-based ``INSERT ... SELECT generate_series``, in
slices owned by three members; three assignments cover 40,000, 400,000 and 4,000,000 of them
(by member), and their Redis to-do sets are filled with pipelined ``SADD``s. The real
``pick_next_page`` is timed in process for a reviewer who has already reviewed 500 pages (so
the seen-set check does work), the three assignments interleaved pick by pick so that their
figures share the machine's conditions (the machine may be busy with other work).
``ORDER BY random()`` is timed over the 400,000-page assignment on the same table. The
fallbacks are timed on the 4,000,000-page assignment with their server really stopped: first
Redis (the memcached pool serves), then memcached too (Postgres serves).

Like the load benchmark, one module per concern: the data (``picker_seed``), the scenarios timed
here, the figures and the markdown (``picker_report``), the sizes and targets (``picker_config``).
"""

from __future__ import annotations

import os
import time

import psycopg
from django.core.management import call_command
from django.db import connection

from bench import picker_seed as seed
from bench.picker_config import (
    COVERAGE_CHECKPOINTS,
    COVERAGE_IN_FLIGHT,
    COVERAGE_PAGES,
    FALLBACK_PICKS,
    RANDOM_RUNS,
    RANDOM_SIZE,
    THRESHOLD,
)
from bench.picker_report import Report, Timing

# --- measurements ----------------------------------------------------------------------------


def _pick_timed(assignment, reviewer, samples: list[float], sources: dict[str, int]) -> None:
    from assignments.picker import pick_next_page

    t0 = time.perf_counter()
    result = pick_next_page(assignment=assignment, reviewer=reviewer)
    samples.append(time.perf_counter() - t0)
    if result.page_id is None:
        raise RuntimeError(f"{assignment}: the picker found nothing to serve")
    sources[result.source] = sources.get(result.source, 0) + 1
    _forget(assignment, reviewer, result)


def _forget(assignment, reviewer, result) -> None:
    """Untimed: end the reservation just made, as a skip would (else asking again would return
    the page held, a cheaper path than a draw)."""
    from assignments import pool
    from assignments.picker.holds import end_reservations
    from lib import keys

    if result.source == "redis":
        end_reservations(
            page_id=result.page_id, user_id=reviewer.pk, reviewed=False, assignment_ids=[assignment.pk]
        )
    elif result.source == "pool":
        pool._client().run(f"{keys.assignment_pool(assignment.pk)}:h:u{reviewer.pk}", "delete")


def _time_picks(assignment, reviewer, n: int, label: str) -> tuple[Timing, dict[str, int]]:
    samples: list[float] = []
    sources: dict[str, int] = {}
    for _ in range(n):
        _pick_timed(assignment, reviewer, samples, sources)
    return Timing(label, samples), sources


class _OrderByRandom:
    """The naive query, on its own connection (so the session setting for the serial variant
    touches nothing else), one timed run at a time so that runs can be spread among the picks."""

    def __init__(self, ids: dict, size: int, *, parallel: bool):
        from catalogue.models import Document, Page
        from lib.sql_names import compose
        from reviews.models import Review

        n = list(ids["assignments"]).index(size) + 1
        self.sql = compose(
            "SELECT p.id FROM {page} p JOIN {document} d ON d.id = p.document_id "
            "WHERE d.member_id = ANY(%s) AND p.review_count < %s AND NOT EXISTS "
            "(SELECT 1 FROM {review} r WHERE r.reviewer_id = %s AND r.page_id = p.id) "
            "ORDER BY random() LIMIT 1",
            page=Page,
            document=Document,
            review=Review,
        )
        self.params = [ids["members"][:n], THRESHOLD, ids["user"]]
        self.samples: list[float] = []
        params = connection.get_connection_params()
        self.conn = psycopg.connect(
            **{k: params[k] for k in ("dbname", "user", "password", "host", "port") if params.get(k)},
            autocommit=True,
        )
        if not parallel:
            self.conn.execute("SET max_parallel_workers_per_gather = 0")
        self.conn.execute(self.sql, self.params).fetchone()  # warm-up

    def run_once(self) -> None:
        t0 = time.perf_counter()
        self.conn.execute(self.sql, self.params).fetchone()
        self.samples.append(time.perf_counter() - t0)

    def close(self) -> Timing:
        self.conn.close()
        return Timing("ORDER BY random()", self.samples)


def coverage(order: str) -> list[tuple[int, int, int]]:
    """Pages reviewed at least once after so many reviews, with the real Lua scripts on a
    synthetic assignment that only Redis knows (no Postgres check: every reviewer is new)."""
    from collections import deque

    from assignments.picker.drawing import DrawArgs, DrawReply
    from assignments.picker.scripts import RELEASE
    from lib import keys
    from lib.redis_client import get_redis
    from lib.redis_scripts import execute

    r = get_redis()
    aid = 10**9 + (1 if order == "random" else 0)
    from assignments.denormalisations import RESERVATION_KEYS

    r.delete(*[k(aid) for k in (keys.assignment_todo, keys.assignment_todo_rank, *RESERVATION_KEYS)])
    pages = range(1, COVERAGE_PAGES + 1)
    pipe = r.pipeline(transaction=False)
    for lo in range(1, COVERAGE_PAGES + 1, 10_000):
        chunk = list(range(lo, min(lo + 10_000, COVERAGE_PAGES + 1)))
        pipe.sadd(keys.assignment_todo(aid), *chunk)
        pipe.zadd(keys.assignment_todo_rank(aid), dict.fromkeys(map(str, chunk), -THRESHOLD))
    pipe.execute()
    counts = dict.fromkeys(pages, 0)
    in_flight: deque[tuple[int, int]] = deque()
    rows: list[tuple[int, int, int]] = []
    reviews, reviewer = 0, 0
    while reviews < COVERAGE_CHECKPOINTS[-1]:
        pipe = r.pipeline(transaction=False)
        done = None
        if len(in_flight) >= COVERAGE_IN_FLIGHT:
            done = in_flight.popleft()
            RELEASE.add(pipe, aid, done[0], f"u{done[1]}", "reviewed")
        reviewer += 1
        args = DrawArgs.for_draw(aid, 1, claim=True, order=order, holder=f"u{reviewer}", remember=True)
        args.add(pipe)
        reply = DrawReply.parse(execute(pipe, r)[-1])
        if done is not None:
            reviews += 1
            counts[done[0]] += 1
            if counts[done[0]] >= THRESHOLD:
                r.srem(keys.assignment_todo(aid), done[0])
                r.zrem(keys.assignment_todo_rank(aid), done[0])
            if reviews in COVERAGE_CHECKPOINTS:
                none = sum(1 for c in counts.values() if c == 0)
                rows.append((reviews, COVERAGE_PAGES - none, none))
        if reply.claimed is not None:
            in_flight.append((reply.claimed, reviewer))
    return rows


def run(*, sizes: tuple[int, ...], picks: int, servers: dict) -> Report:
    from django.contrib.auth import get_user_model
    from django.test.utils import CaptureQueriesContext

    from assignments import picker, picker_stats, pool
    from assignments.models import Assignment
    from lib import services
    from lib.redis_client import get_redis, reset_redis

    started = time.monotonic()
    load_before = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print("migrating the bench database ...", flush=True)
    call_command("migrate", verbosity=0, interactive=False)
    r = get_redis()
    r.flushdb()  # the bench's own redis-server: nobody else's data
    redis_version = r.info("server").get("redis_version", "?")
    # Keep the counters' writes out of the timings (this line set a module attribute nothing
    # read, FLUSH_SECONDS, until mypy saw it once the module lost its blanket ignore).
    picker_stats.COUNTER.flush_seconds = 10**9
    report = Report(sizes=sizes, load_before=load_before, redis_version=redis_version)
    ids = seed.reset(sizes)
    print(f"building {sizes[-1]:,} pages and the to-do sets of {len(sizes)} assignments ...", flush=True)
    t0 = time.monotonic()
    seed.build(ids, sizes)
    seed.review_some(ids, sizes[0])
    from assignments.denormalisations import rebuild_active_assignments

    rebuild_active_assignments()  # the picker shares its claims with the other assignments
    report.build_seconds[sizes[-1]] = time.monotonic() - t0
    assignments = {size: Assignment.objects.get(pk=ids["assignments"][size]) for size in sizes}
    reviewer = get_user_model().objects.get(pk=ids["user"])

    print(
        f"timing {picks} picks per assignment and {RANDOM_RUNS} ORDER BY random() runs, interleaved ...",
        flush=True,
    )
    for size in sizes:
        _time_picks(assignments[size], reviewer, 200, "warm-up")
    samples: dict[int, list[float]] = {size: [] for size in sizes}
    sources: dict[int, dict[str, int]] = {size: {} for size in sizes}
    random_size = RANDOM_SIZE if RANDOM_SIZE in sizes else sizes[len(sizes) // 2]
    naive = _OrderByRandom(ids, random_size, parallel=True)
    naive_serial = _OrderByRandom(ids, random_size, parallel=False)
    # ORDER BY random() runs spread evenly among the picks: both figures of the ratio are taken
    # under the same conditions of the machine.
    every = max(1, picks // RANDOM_RUNS)
    for i in range(picks):
        if i % every == every // 2 and len(naive.samples) < RANDOM_RUNS:
            naive.run_once()
            naive_serial.run_once()
        # Round robin, rotating the order: the sizes share the machine's conditions.
        for k in range(len(sizes)):
            size = sizes[(i + k) % len(sizes)]
            _pick_timed(assignments[size], reviewer, samples[size], sources[size])
    report.random_timing, report.random_size = naive.close(), random_size
    report.random_serial = naive_serial.close()
    for size in sizes:
        report.picker[size] = Timing(f"picker at {size}", samples[size])
        report.sources[size] = sources[size]
    with CaptureQueriesContext(connection) as ctx:
        for _ in range(100):
            picker.pick_next_page(assignment=assignments[sizes[0]], reviewer=reviewer)
    report.queries_per_pick = len(ctx.captured_queries) / 100

    print("simulating coverage: fewest reviews first against random ...", flush=True)
    for order in ("fewest", "random"):
        report.coverage[order] = coverage(order)

    report.fallback_size = sizes[-1]
    biggest = assignments[sizes[-1]]
    print("filling the pool, then stopping the bench's redis-server ...", flush=True)
    picker.refill_pool(assignment_id=biggest.pk)
    services.stop_pidfile(servers["redis_pid"])
    reset_redis()
    picker.reset_state()
    _time_picks(biggest, reviewer, 50, "warm-up")
    report.pool, pool_sources = _time_picks(biggest, reviewer, FALLBACK_PICKS, "pool fallback")
    print("stopping the bench's memcached too ...", flush=True)
    services.stop_pidfile(servers["memcached_pid"])
    pool.reset_client()
    _time_picks(biggest, reviewer, 20, "warm-up")
    report.postgres, pg_sources = _time_picks(biggest, reviewer, FALLBACK_PICKS, "postgres fallback")
    if set(pool_sources) != {"pool"} or set(pg_sources) != {"postgres"}:
        raise RuntimeError(f"fallbacks served from the wrong source: {pool_sources} {pg_sources}")
    report.total_seconds = time.monotonic() - started
    return report
