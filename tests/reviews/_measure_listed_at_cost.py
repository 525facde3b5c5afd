"""Measures what the per-page public threshold costs ``page-tag-listed-at`` (issue 16): the full
check (every row's truth) with the per-page rule against the former global one, a re-derivation
of one chunk of pages, and the stamp a submit runs. Not collected by default (leading underscore):

    CROWD_TESTING=1 MEASURE_PAGES=200000 .venv/bin/python -m pytest \
        tests/reviews/_measure_listed_at_cost.py -q -s -p no:randomly

Loads MEASURE_PAGES pages with raw SQL (documents of 100 pages, 20 members of one party, every
page tagged by one review and every other page reviewed a second time), one party-wide
assignment (threshold 2) and one of two members (threshold 1). Prints the medians of 5 runs."""

from __future__ import annotations

import os
import statistics
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone

from assignments.denormalisations import listed_at
from catalogue.denormalisations import _common
from reviews import denormalisations as d
from tests.measure_support import seed_release

pytestmark = pytest.mark.django_db(transaction=True)

# The truth query before issue 16: one global threshold, the highest of the active assignments.
_GLOBAL_TRUTH_SQL = (
    "SELECT pt.id, pt.page_id, pt.tag_id, pt.listed_at,"
    " CASE WHEN tth.created IS NULL THEN NULL ELSE greatest(pt.first_tagged_at, tth.created) END AS want"
    " FROM reviews_pagetag pt LEFT JOIN ("
    "  SELECT page_id, created FROM ("
    "   SELECT page_id, created, row_number() OVER (PARTITION BY page_id ORDER BY created, id) AS n"
    "   FROM reviews_review WHERE {pages}) r"
    "  WHERE n = (SELECT coalesce(max(threshold), 1) FROM assignments_assignment WHERE active)"
    " ) tth ON tth.page_id = pt.page_id WHERE {pt_pages}"
)


def _median_ms(fn, runs: int = 5) -> float:
    fn()  # warm up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _drift_rows(sql: str):
    def run():
        with connection.cursor() as c:
            c.execute(f"SELECT count(*) FROM ({sql}) t WHERE t.listed_at IS DISTINCT FROM t.want")
            return c.fetchone()[0]

    return run


def test_measure_listed_at_cost():
    pages = int(os.environ.get("MEASURE_PAGES", "200000"))
    seeded = seed_release(pages)
    tag, docs = seeded.tag, seeded.pages // 100
    users = seeded.user_ids
    with connection.cursor() as c:
        for step, every in ((0, 1), (1, 2)):  # every page once, every other page twice
            c.execute(
                "INSERT INTO reviews_review (reviewer_id, page_id, assignment_id, quarantined, created)"
                " SELECT (%(u)s::bigint[])[1 + (n + %(step)s) %% 1000], 1000000 + n, NULL, false,"
                " now() - interval '1 hour' + %(step)s * interval '1 minute'"
                " FROM generate_series(1, %(pages)s, %(every)s) n",
                {"u": users, "pages": docs * 100, "step": step, "every": every},
            )
        c.execute(
            "INSERT INTO reviews_review_tags (review_id, tag_id) SELECT min(id), %s FROM reviews_review"
            " GROUP BY page_id",
            [tag.pk],
        )
        c.execute("ANALYZE")
    d.rebuild_page_review_count()
    d.rebuild_page_tags()
    started = time.monotonic()
    listed_at.rebuild_page_tag_listed_at()
    rebuild = time.monotonic() - started
    assert listed_at.check_page_tag_listed_at().ok

    per_page = _median_ms(_drift_rows(listed_at._listed_truth_sql(listed_at.every_page)))
    global_rule = _median_ms(_drift_rows(_GLOBAL_TRUTH_SQL.format(pages="true", pt_pages="true")))
    chunk = list(range(1000001, 1000001 + _common.CHUNK))
    relist = _median_ms(lambda: listed_at.relist_pages(chunk))
    pages = listed_at.pages_in("pages")
    chunk_sql = {
        "per-page": listed_at._listed_truth_sql(pages),
        "global": _GLOBAL_TRUTH_SQL.format(pages=pages("page_id"), pt_pages=pages("pt.page_id")),
    }

    def truth_of_chunk(sql):
        def run():
            with connection.cursor() as c:
                c.execute(f"SELECT count(*) FROM ({sql}) t", {"pages": chunk})

        return run

    chunk_ms = {rule: _median_ms(truth_of_chunk(sql)) for rule, sql in chunk_sql.items()}

    def stamp():
        with transaction.atomic():
            statement = listed_at.stamp_listed_at_statement(
                page_id=1000001, document_id=1000001, review_count=1, at=timezone.now()
            )
            with connection.cursor() as c:
                c.execute(statement.sql, statement.params)
            transaction.set_rollback(True)

    stamp_ms = _median_ms(stamp, runs=50)
    print(
        f"\n{docs * 100:,} pages, {docs:,} documents; full rebuild of listed_at {rebuild:.1f} s\n"
        f"full check, per-page rule   {per_page:8.0f} ms\n"
        f"full check, global rule     {global_rule:8.0f} ms (before issue 16)\n"
        f"relist of {_common.CHUNK:,} pages      {relist:8.0f} ms\n"
        f"truth of {_common.CHUNK:,} pages, per-page rule {chunk_ms['per-page']:6.0f} ms,"
        f" global rule {chunk_ms['global']:6.0f} ms\n"
        f"stamp (one UPDATE)          {stamp_ms:8.2f} ms"
    )
    import redis
    from django.conf import settings

    redis.Redis.from_url(settings.REDIS_URL, socket_timeout=60).flushdb()
