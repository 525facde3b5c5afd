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
from tests.measure_support import seed_release

pytestmark = pytest.mark.django_db(transaction=True)


def test_measure_check_cost():
    pages = int(os.environ.get("MEASURE_PAGES", "200000"))
    seeded = seed_release(pages)
    tag, docs = seeded.tag, seeded.pages // 100
    users = seeded.user_ids
    with connection.cursor() as c:
        c.execute(
            "INSERT INTO reviews_review (reviewer_id, page_id, assignment_id, created)"
            " SELECT (%(u)s::bigint[])[1 + n %% 1000], 1000000 + n, NULL, now()"
            " FROM generate_series(1, %(pages)s, 2) n",
            {"u": users, "pages": docs * 100},
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
