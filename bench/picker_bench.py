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
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from django.conf import settings
from django.core.management import call_command
from django.db import connection

PAGES_PER_DOCUMENT = 100
THRESHOLD = 3
REVIEWED_BY_BENCH_REVIEWER = 500
RANDOM_SIZE = 400_000
RANDOM_RUNS = 11
FALLBACK_PICKS = 500
COVERAGE_PAGES = 40_000
COVERAGE_CHECKPOINTS = (10_000, 20_000, 40_000, 80_000)
COVERAGE_IN_FLIGHT = 64  # reviewers reviewing at once in the coverage simulation
TARGET_SIZE_RATIO = 1.5
TARGET_RANDOM_RATIO = 100.0


@dataclass
class Timing:
    label: str
    samples: list[float]  # seconds
    note: str = ""

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples) * 1000

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(self.samples) * 1000

    @property
    def p99_ms(self) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


@dataclass
class Report:
    sizes: tuple[int, ...]
    picker: dict[int, Timing] = field(default_factory=dict)
    sources: dict[int, dict[str, int]] = field(default_factory=dict)
    random_timing: Timing | None = None
    random_serial: Timing | None = None  # the same query with parallel workers off
    random_size: int = 0
    pool: Timing | None = None
    postgres: Timing | None = None
    fallback_size: int = 0
    build_seconds: dict[int, float] = field(default_factory=dict)
    total_seconds: float = 0.0
    queries_per_pick: float = 0.0
    # order -> [(reviews, pages with at least one review, pages with none)]
    coverage: dict[str, list[tuple[int, int, int]]] = field(default_factory=dict)
    listing: object | None = None  # bench.listing_bench.ListingReport, measured on the same data
    load: object | None = None  # bench.load_bench.LoadReport, measured first on the same database

    @property
    def listing_rows(self) -> list[str]:
        return self.listing.target_rows() if self.listing is not None else []

    @property
    def listing_section(self) -> list[str]:
        return self.listing.markdown() if self.listing is not None else []

    @property
    def load_section(self) -> list[str]:
        return self.load.markdown() if self.load is not None else []

    def size_ratio(self) -> float:
        return self.picker[self.sizes[-1]].median_ms / self.picker[self.sizes[0]].median_ms

    def random_ratio(self) -> float | None:
        if self.random_timing is None:
            return None
        return self.random_timing.median_ms / self.picker[self.random_size].median_ms

    def random_serial_ratio(self) -> float | None:
        if self.random_serial is None:
            return None
        return self.random_serial.median_ms / self.picker[self.random_size].median_ms

    def targets_met(self) -> bool:
        ratio = self.random_ratio()
        return self.size_ratio() <= TARGET_SIZE_RATIO and (ratio is None or ratio >= TARGET_RANDOM_RATIO)

    def rows(self) -> list[tuple[str, Timing]]:
        rows = [(f"picker (Redis), assignment of {n:,} pages", self.picker[n]) for n in self.sizes]
        if self.random_timing:
            rows.append((f"ORDER BY random(), assignment of {self.random_size:,} pages", self.random_timing))
        if self.random_serial:
            rows.append(
                (f"ORDER BY random(), same, parallel workers off ({self.random_size:,})", self.random_serial)
            )
        if self.pool:
            rows.append((f"picker, Redis stopped (memcached pool), {self.fallback_size:,} pages", self.pool))
        if self.postgres:
            rows.append(
                (
                    f"picker, Redis and memcached stopped (Postgres), {self.fallback_size:,} pages",
                    self.postgres,
                )
            )
        return rows

    def summary(self) -> str:
        lines = [f"{'what':<72} {'median ms':>10} {'mean ms':>9} {'p99 ms':>9} {'n':>6}"]
        for label, t in self.rows():
            lines.append(
                f"{label:<72} {t.median_ms:>10.3f} {t.mean_ms:>9.3f} {t.p99_ms:>9.3f} {len(t.samples):>6}"
            )
        lines.append(
            f"picker cost at {self.sizes[-1]:,} / at {self.sizes[0]:,} pages: {self.size_ratio():.2f}x "
            f"(target <= {TARGET_SIZE_RATIO}x): {'met' if self.size_ratio() <= TARGET_SIZE_RATIO else 'MISSED'}"
        )
        ratio = self.random_ratio()
        if ratio is not None:
            lines.append(
                f"ORDER BY random() / picker at {self.random_size:,} pages: {ratio:.0f}x "
                f"(target >= {TARGET_RANDOM_RATIO:.0f}x): {'met' if ratio >= TARGET_RANDOM_RATIO else 'MISSED'}"
            )
        serial = self.random_serial_ratio()
        if serial is not None:
            lines.append(
                f"  (with Postgres' parallel workers off, one process doing the sort: {serial:.0f}x)"
            )
        for order, rows in self.coverage.items():
            lines.append(
                f"coverage, {order} order, {COVERAGE_PAGES:,} pages, threshold {THRESHOLD}: "
                + "; ".join(f"after {n:,} reviews {none:,} pages unreviewed" for n, _, none in rows)
            )
        lines.append(f"total run time {self.total_seconds:.0f} s")
        return "\n".join(lines)

    def markdown(self) -> str:
        info = machine_info()
        ratio = self.random_ratio()
        out = [
            "# Benchmarks",
            "",
            "Generated by `make bench` (`python -m bench`); do not edit by hand. "
            f"Last run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {self.total_seconds:.0f} s in all.",
            "",
            "## Machine",
            "",
            *[f"- {k}: {v}" for k, v in info.items()],
            "",
            "## Targets",
            "",
            "| target (PRODUCT.md) | measured | |",
            "|---|---|---|",
            f"| picking a next page costs the same at {self.sizes[0]:,} and {self.sizes[-1]:,} pages "
            f"(ratio <= {TARGET_SIZE_RATIO}) | {self.size_ratio():.2f}x | "
            f"{'met' if self.size_ratio() <= TARGET_SIZE_RATIO else '**missed**'} |",
        ]
        if ratio is not None:
            out.append(
                f"| at least {TARGET_RANDOM_RATIO:.0f}x cheaper than `ORDER BY random()` at "
                f"{self.random_size:,} pages | {ratio:,.0f}x | "
                f"{'met' if ratio >= TARGET_RANDOM_RATIO else '**missed**'} |"
            )
        serial = self.random_serial_ratio()
        if serial is not None:
            out.append(
                f"| the same, with Postgres' parallel workers off for `ORDER BY random()` (one process "
                f"doing the whole sort) | {serial:,.0f}x | "
                f"{'met' if serial >= TARGET_RANDOM_RATIO else '**missed**'} |"
            )
        out += self.listing_rows
        out += [
            "| review cycles under load, cached pages through Django and nginx | see "
            "[Full review cycle and cached pages](#full-review-cycle-and-cached-pages) | |",
            "",
            "## The next page",
            "",
            "Cost of one `pick_next_page(assignment=..., reviewer=...)` call, measured in process "
            "(Python, Redis round trips over a unix socket and the Postgres check included), "
            "with soft reservations on. Ratios use medians.",
            "",
            "| what | median ms | mean ms | p99 ms | picks |",
            "|---|---:|---:|---:|---:|",
        ]
        for label, t in self.rows():
            out.append(
                f"| {label} | {t.median_ms:.3f} | {t.mean_ms:.3f} | {t.p99_ms:.3f} | {len(t.samples):,} |"
            )
        out += [
            "",
            f"Postgres queries per pick on the Redis path: {self.queries_per_pick:.2f}. "
            "Sources of the timed picks: "
            + "; ".join(
                f"{n:,} pages: " + ", ".join(f"{k} {v}" for k, v in sorted(s.items()))
                for n, s in self.sources.items()
            )
            + ".",
            "",
            "### Method",
            "",
            f"- A separate database (`{settings.DATABASES['default']['NAME']}`), a private redis-server "
            "and a private memcached on temporary unix sockets; the development data is never touched.",
            f"- One `reviews_page` table of {self.sizes[-1]:,} pages, built with set-based "
            f"`INSERT ... SELECT generate_series` ({PAGES_PER_DOCUMENT} pages per document), in slices owned "
            f"by {len(self.sizes)} members. The assignment of each size (threshold {THRESHOLD}) covers the "
            "members of every slice up to that size; its Redis needed and to-do sets are filled with "
            "pipelined `SADD`s (and the to-do set's sorted-set mirror, which the picker draws from by rank, "
            "made with `ZUNIONSTORE` as the rebuild does) and the built markers set as the registry's rebuild would. Then "
            "`VACUUM (ANALYZE)` and `CHECKPOINT`, so no autovacuum runs during the timings.",
            f"- The reviewer has already reviewed {REVIEWED_BY_BENCH_REVIEWER} pages of the smallest assignment "
            "(real `reviews_review` rows and the `reviewer-seen` set), so the seen-set and Postgres checks "
            "have something to find.",
            "- 200 warm-up picks per assignment, then the timed picks, interleaved round robin across the "
            "assignments (so a busy moment of the machine hits all sizes alike), one `time.perf_counter()` "
            "pair per pick. The picker reserves what it hands out, as in production, and copies each "
            "claim into the other two (overlapping) assignments' reservations with writes whose "
            "replies it reads at its next pick.",
            '- The assignments\' order is "fewest reviews first" (the default): each pick draws from '
            f"the lowest band of the to-do mirror, whose scores hold {THRESHOLD} tiers' worth of "
            f"free places (the bench reviewer's {REVIEWED_BY_BENCH_REVIEWER} reviewed pages need one "
            "review fewer: a second tier).",
            f"- `ORDER BY random()`: `SELECT p.id FROM reviews_page p JOIN reviews_document d ... WHERE "
            f"d.member_id = ANY(...) AND p.review_count < {THRESHOLD} AND NOT EXISTS (the reviewer's review) "
            f"ORDER BY random() LIMIT 1`, the query of the Guardian's first site, over the "
            f"{self.random_size:,}-page assignment on the same table, {RANDOM_RUNS} runs after one warm-up, "
            "with Postgres' parallel workers on (the default) and off, on connections of their own. "
            "The runs are spread evenly among the timed picks, so that both sides of the ratio are "
            "measured under the same conditions of the machine.",
            f"- Fallbacks, on the {self.fallback_size:,}-page assignment: the private redis-server is stopped "
            "(the pool having been filled by the beat task's function just before), then the private "
            "memcached too. Every id served is still checked in Postgres.",
            "- Building the data took " + ", ".join(f"{s:.0f} s" for s in self.build_seconds.values()) + ".",
            "",
            *self.listing_section,
            *self.load_section,
        ]
        return "\n".join(out)


def machine_info() -> dict[str, str]:
    cpu, memory = platform.processor() or "unknown", "unknown"
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        cpu = next(
            (ln.split(":", 1)[1].strip() for ln in cpuinfo.splitlines() if ln.startswith("model name")), cpu
        )
        meminfo = Path("/proc/meminfo").read_text().splitlines()
        kib = next(int(ln.split()[1]) for ln in meminfo if ln.startswith("MemTotal"))
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg_version = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        pg_version += f" (shared_buffers {cursor.fetchone()[0]})"
    try:
        memcached_version = subprocess.run(["memcached", "-V"], capture_output=True, text=True).stdout.strip()
    except OSError:
        memcached_version = "?"
    return {
        "CPU": f"{cpu}, {os.cpu_count()} cores",
        "memory": memory,
        "load average before the run": _LOAD_BEFORE or "?",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "PostgreSQL": pg_version,
        "Redis": _REDIS_VERSION or "?",
        "memcached": memcached_version,
    }


_LOAD_BEFORE = ""
_REDIS_VERSION = ""


# --- data ------------------------------------------------------------------------------------


def _reset(sizes: tuple[int, ...]) -> dict:
    """Empty the bench tables; one member per slice of pages and one assignment per size, the
    assignment of size n covering the members of every slice up to n; the reviewer. Raw SQL:
    no signal builds anything behind the benchmark's back."""
    ids: dict = {"members": [], "assignments": {}}
    with connection.cursor() as c:
        c.execute(
            "TRUNCATE reviews_party, reviews_member, reviews_document, reviews_page, reviews_review, "
            "reviews_skip, assignments_assignment, assignments_pickerstat, auth_user RESTART IDENTITY CASCADE"
        )
        for n, size in enumerate(sizes):
            c.execute(
                "INSERT INTO reviews_member (name, slug, constituency) VALUES (%s, %s, '') RETURNING id",
                [f"Bench MP {n}", f"bench-mp-{n}"],
            )
            ids["members"].append(c.fetchone()[0])
            c.execute(
                'INSERT INTO assignments_assignment (title, slug, description, threshold, "order", featured, '
                "feature_order, status, active, created, page_count, completed_count, review_count) "
                "VALUES (%s, %s, '', %s, 'fewest', 'none', %s, 'published', true, now(), %s, 0, 0) RETURNING id",
                [f"Bench {size:,}", f"bench-{size}", THRESHOLD, n, size],
            )
            aid = c.fetchone()[0]
            ids["assignments"][size] = aid
            c.executemany(
                "INSERT INTO assignments_assignment_members (assignment_id, member_id) VALUES (%s, %s)",
                [(aid, m) for m in ids["members"]],
            )
        c.execute(
            "INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, "
            "is_active, date_joined) VALUES ('!', false, 'bench-reviewer', '', '', '', false, true, now()) "
            "RETURNING id"
        )
        ids["user"] = c.fetchone()[0]
    return ids


def _build(ids: dict, sizes: tuple[int, ...]) -> None:
    """Pages 1..max(sizes) (ids equal to row numbers) in documents of 100, slice n owned by
    member n; their ids in the Redis needed and to-do sets of every assignment covering them."""
    from lib import keys
    from lib.redis_client import get_redis

    r = get_redis()
    start = 0
    for n, end in enumerate(sizes):
        first_doc, last_doc = start // PAGES_PER_DOCUMENT + 1, end // PAGES_PER_DOCUMENT
        with connection.cursor() as c:
            c.execute(
                "INSERT INTO reviews_document (id, title, member_id, source, sha256, page_count, status, error, "
                "created, public) SELECT d, 'Bench document ' || d, %s, 'sources/bench-' || d || '.pdf', "
                "md5(d::text) || md5('x' || d), %s, 'imported', '', now(), true FROM generate_series(%s, %s) AS d",
                [ids["members"][n], PAGES_PER_DOCUMENT, first_doc, last_doc],
            )
            c.execute(
                "INSERT INTO reviews_page (id, document_id, number, image, thumbnail, width, height, review_count, "
                "public) SELECT n, (n - 1) / %(per)s + 1, (n - 1) %% %(per)s + 1, 'pages/bench-' || n || '.png', "
                "'thumbs/bench-' || n || '.png', 1400, 1980, 0, true FROM generate_series(%(start)s, %(end)s) AS n",
                {"per": PAGES_PER_DOCUMENT, "start": start + 1, "end": end},
            )
        covering = [ids["assignments"][s] for s in sizes if s >= end]
        chunk = 20_000
        pipe = r.pipeline(transaction=False)
        for lo in range(start + 1, end + 1, chunk):
            members = range(lo, min(lo + chunk, end + 1))
            for aid in covering:
                pipe.sadd(keys.assignment_needed(aid), *members)
                pipe.sadd(keys.assignment_todo(aid), *members)
            if len(pipe) >= 30:
                pipe.execute()
        pipe.execute()
        start = end
    # The sorted-set mirror the picker draws from by rank: every page needs THRESHOLD reviews
    # and has no reservation, so its score is -THRESHOLD (a set as input: score 1 x weight)
    # (seconds for millions of ids: longer than the shared client's timeout).
    import redis

    slow = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=300)
    for aid in ids["assignments"].values():
        slow.zunionstore(keys.assignment_todo_rank(aid), {keys.assignment_todo(aid): -THRESHOLD})
    slow.close()
    with connection.cursor() as c:
        c.execute("SELECT setval(pg_get_serial_sequence('reviews_page', 'id'), %s)", [sizes[-1]])
        c.execute("SELECT setval(pg_get_serial_sequence('reviews_document', 'id'), %s)", [last_doc])
        # Settle the bulk load before timing: no autovacuum or checkpoint in the middle of it.
        c.execute("VACUUM (ANALYZE) reviews_page")
        c.execute("VACUUM (ANALYZE) reviews_document")
        c.execute("CHECKPOINT")


def _review_some(ids: dict, upto: int) -> None:
    """The bench reviewer's earlier reviews: 500 pages spread over the smallest assignment."""
    from lib import keys
    from lib.redis_client import get_redis

    step = max(1, upto // REVIEWED_BY_BENCH_REVIEWER)
    pages = list(range(1, upto + 1, step))[:REVIEWED_BY_BENCH_REVIEWER]
    with connection.cursor() as c:
        c.execute(
            "INSERT INTO reviews_review (reviewer_id, page_id, assignment_id, created, quarantined) "
            "SELECT %s, unnest(%s::bigint[]), NULL, now(), false",
            [ids["user"], pages],
        )
        c.execute("UPDATE reviews_page SET review_count = 1 WHERE id = ANY(%s)", [pages])
        c.execute("ANALYZE reviews_review")
    r = get_redis()
    r.sadd(keys.reviewer_seen(ids["user"]), *pages)
    # Those pages need one review fewer in every assignment: a second tier in each mirror.
    for aid in ids["assignments"].values():
        r.zadd(keys.assignment_todo_rank(aid), dict.fromkeys(pages, -(THRESHOLD - 1)))
    r.set(keys.built_marker("assignment-todo"), str(int(time.time())))
    r.set(keys.built_marker("assignment-todo-rank"), str(int(time.time())))
    r.set(keys.built_marker("reviewer-seen"), str(int(time.time())))


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
        n = list(ids["assignments"]).index(size) + 1
        self.sql = (
            "SELECT p.id FROM reviews_page p JOIN reviews_document d ON d.id = p.document_id "
            "WHERE d.member_id = ANY(%s) AND p.review_count < %s AND NOT EXISTS "
            "(SELECT 1 FROM reviews_review r WHERE r.reviewer_id = %s AND r.page_id = p.id) "
            "ORDER BY random() LIMIT 1"
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
        pipe.zadd(keys.assignment_todo_rank(aid), dict.fromkeys(chunk, -THRESHOLD))
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
    global _LOAD_BEFORE, _REDIS_VERSION
    from django.contrib.auth import get_user_model
    from django.test.utils import CaptureQueriesContext

    from assignments import picker, picker_stats, pool
    from assignments.models import Assignment
    from lib import services
    from lib.redis_client import get_redis, reset_redis

    started = time.monotonic()
    _LOAD_BEFORE = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print("migrating the bench database ...", flush=True)
    call_command("migrate", verbosity=0, interactive=False)
    r = get_redis()
    r.flushdb()  # the bench's own redis-server: nobody else's data
    _REDIS_VERSION = r.info("server").get("redis_version", "?")
    picker_stats.FLUSH_SECONDS = 10**9  # keep the counters' writes out of the timings
    report = Report(sizes=sizes)
    ids = _reset(sizes)
    print(f"building {sizes[-1]:,} pages and the to-do sets of {len(sizes)} assignments ...", flush=True)
    t0 = time.monotonic()
    _build(ids, sizes)
    _review_some(ids, sizes[0])
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
