"""The synthetic release the measurement scripts (``tests/*/_measure_*.py``, not collected) load
with raw SQL: documents of 100 pages spread over 20 members of one party, one party-wide
assignment (threshold 2) and one of two members (threshold 1), 1,000 reviewers and one tag.
Each script then adds the reviews it needs."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection

from tests import factories

FIRST_ID = 1_000_000  # page and document ids start here, clear of the factories' rows


@dataclass(frozen=True)
class SeededRelease:
    pages: int
    tag: object
    user_ids: list[int]


def seed_release(pages: int) -> SeededRelease:
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
            " SELECT %(first)s + d, 'd' || d, (%(m)s::bigint[])[1 + d %% 20], 's' || d, md5(d::text) || md5('x' || d),"
            " 100, 'imported', '', now() FROM generate_series(1, %(docs)s) d",
            {"first": FIRST_ID, "m": [m.pk for m in members], "docs": docs},
        )
        c.execute(
            "INSERT INTO reviews_page (id, document_id, number, image, thumbnail, width, height, review_count)"
            " SELECT %(first)s + n, %(first)s + (n - 1) / 100 + 1, (n - 1) %% 100 + 1, 'p', 't', 1, 1, 0"
            " FROM generate_series(1, %(pages)s) n",
            {"first": FIRST_ID, "pages": docs * 100},
        )
    return SeededRelease(pages=docs * 100, tag=tag, user_ids=[u.pk for u in users])
