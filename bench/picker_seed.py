"""The picker benchmark's data, in its own throwaway database: members, assignments of each size
and the reviewer (raw SQL: no signal builds anything behind the benchmark's back), millions of
pages with set-based ``INSERT ... SELECT generate_series``, their Redis sets as the registry's
rebuild would make them, and the reviewer's earlier reviews."""

from __future__ import annotations

import time

from django.conf import settings
from django.db import connection

from bench.picker_config import PAGES_PER_DOCUMENT, REVIEWED_BY_BENCH_REVIEWER, THRESHOLD


def reset(sizes: tuple[int, ...]) -> dict:
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
                "feature_order, status, active, created, page_count, completed_count, review_count, "
                "retire_when_confident, confidence_target, min_reviews) "
                "VALUES (%s, %s, '', %s, 'fewest', 'none', %s, 'published', true, now(), %s, 0, 0, "
                "false, 0.95, 2) RETURNING id",
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


def build(ids: dict, sizes: tuple[int, ...]) -> None:
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


def review_some(ids: dict, upto: int) -> None:
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
        r.zadd(keys.assignment_todo_rank(aid), dict.fromkeys(map(str, pages), -(THRESHOLD - 1)))
    r.set(keys.built_marker("assignment-todo"), str(int(time.time())))
    r.set(keys.built_marker("assignment-todo-rank"), str(int(time.time())))
    r.set(keys.built_marker("reviewer-seen"), str(int(time.time())))
