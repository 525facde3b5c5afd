"""Measures what one periodic check-and-repair costs per entry (the figures in
docs/denormalisations.md). Not collected by default (leading underscore); run it explicitly:

    CROWD_TESTING=1 MEASURE_PAGES=200000 .venv/bin/python -m pytest \
        tests/denorm/_measure_check_cost.py -q -s -p no:randomly

Loads MEASURE_PAGES pages with raw SQL (documents of 100 pages, 20 members of one party, half the
pages reviewed once with one tag by 1,000 reviewers, one party-wide and one member assignment),
rebuilds every copy, then prints each entry's check-and-repair time with nothing drifted (the
cost of every run) and the total."""

from __future__ import annotations

import os
import time

import pytest
from django.db import connection

from denorm import operations, registry
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def test_measure_check_cost():
    pages = int(os.environ.get("MEASURE_PAGES", "200000"))
    party = factories.make_party()
    members = [factories.make_member(party=party) for _ in range(20)]
    tag = factories.make_tag("receipt", key="r")
    users = [factories.make_user() for _ in range(1000)]
    docs = pages // 100
    # Before the pages: their on-commit set rebuild stays small.
    factories.make_assignment(parties=[party], threshold=2)
    factories.make_assignment(members=members[:2], threshold=1)
    with connection.cursor() as c:
        c.execute(
            "INSERT INTO reviews_document (id, title, member_id, source, sha256, page_count, status, error, created)"
            " SELECT 1000000 + d, 'd' || d, (%(m)s::bigint[])[1 + d %% 20], 's' || d, md5(d::text) || md5('x' || d),"
            " 100, 'imported', '', now() FROM generate_series(1, %(docs)s) d",
            {"m": [m.pk for m in members], "docs": docs},
        )
        c.execute(
            "INSERT INTO reviews_page (id, document_id, number, image, thumbnail, width, height, review_count)"
            " SELECT 1000000 + n, 1000000 + (n - 1) / 100 + 1, (n - 1) %% 100 + 1, 'p', 't', 1, 1, 0"
            " FROM generate_series(1, %(pages)s) n",
            {"pages": docs * 100},
        )
        c.execute(
            "INSERT INTO reviews_review (reviewer_id, page_id, assignment_id, created)"
            " SELECT (%(u)s::bigint[])[1 + n %% 1000], 1000000 + n, NULL, now()"
            " FROM generate_series(1, %(pages)s, 2) n",
            {"u": [u.pk for u in users], "pages": docs * 100},
        )
        c.execute(
            "INSERT INTO reviews_review_tags (review_id, tag_id) SELECT id, %s FROM reviews_review", [tag.pk]
        )
        c.execute("ANALYZE")
    started = time.monotonic()
    operations.rebuild_entries(registry.all_entries())
    print(f"\n{docs * 100:,} pages; full rebuild {time.monotonic() - started:.1f} s")
    operations.check_and_repair(budget_seconds=10_000)  # warm up
    outcomes = operations.check_and_repair(budget_seconds=10_000)
    for o in outcomes:
        print(f"{o.name:24} {o.seconds * 1000:8.0f} ms  {o.drift}")
    print(f"total {sum(o.seconds for o in outcomes):.2f} s")
    assert all(o.drift.ok for o in outcomes)
    # The next test's flush would outlast the shared client's short timeout.
    import redis
    from django.conf import settings

    redis.Redis.from_url(settings.REDIS_URL, socket_timeout=60).flushdb()
