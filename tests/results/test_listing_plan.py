"""A deep cursor seeks to its position through the index instead of filtering every earlier row.

Without the redundant bound (``listed_at >= cursor`` beside the ``(listed_at > c) OR (listed_at =
c AND page > p)`` keyset), Postgres keeps the OR as a filter and walks the index from the start
of the tag: a deep page of 4,000,000 rows then reads millions of rows. EXPLAIN tells; seconds
would not (a test must not time things on a shared machine).
"""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from results import cursors, selectors
from results.params import Filters
from results.selectors import Listing, Order, Scope, Viewer
from reviews.models import PageTag
from tests import factories

ROWS = 6000


@pytest.fixture
def many_tagged(db, tags):
    """ROWS pages with the tag, first tagged and listed in a scrambled order (SQL: test setup)."""
    party = factories.make_party()
    doc = factories.make_document(factories.make_member(party), pages=ROWS)
    with connection.cursor() as c:
        c.execute("UPDATE reviews_page SET review_count = 2 WHERE document_id = %s", [doc.pk])
        c.execute(
            "INSERT INTO reviews_pagetag (page_id, tag_id, count, first_tagged_at, listed_at) "
            "SELECT p.id, %s, 1, t.at, t.at + (p.id %% 7) * interval '1 minute' FROM reviews_page p "
            "CROSS JOIN LATERAL (SELECT now() - interval '30 days' "
            "+ ((p.id * 7919) %% %s) * interval '1 minute' AS at) t WHERE p.document_id = %s",
            [tags["receipt"].pk, ROWS, doc.pk],
        )
        c.execute("ANALYZE reviews_pagetag")
        c.execute("ANALYZE reviews_page")
    return party


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _pagetag_scans(listing: Listing, viewer: Viewer, at: str) -> list[dict]:
    """EXPLAIN ANALYZE of the listing's query from a cursor half-way through: the plan nodes
    that read reviews_pagetag (or its index)."""
    qs = PageTag.objects.filter(tag=listing.tag).order_by(at, "page_id").values_list(at, "page_id")
    moment, page_id = qs[ROWS // 2]
    identity = listing.identity + ("" if viewer.is_staff else "|public")
    after = cursors.encode(
        salt=selectors.CURSOR_SALT, identity=identity, key=[cursors.micros(moment), page_id]
    )
    with CaptureQueriesContext(connection) as ctx:
        page = selectors.listing_page(listing, viewer=viewer, filters=Filters(), after=after)
    assert len(page.rows) == selectors.DEFAULT_LIMIT
    with connection.cursor() as c:
        c.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + ctx.captured_queries[-1]["sql"])
        raw = c.fetchone()[0]
    plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
    return [
        n
        for n in _nodes(plan)
        if n.get("Relation Name") == "reviews_pagetag" or "pagetag" in n.get("Index Name", "")
    ]


@pytest.mark.parametrize(
    ("staff", "at"), [(False, "listed_at"), (True, "first_tagged_at")], ids=["public", "staff"]
)
def test_a_deep_in_order_cursor_is_an_index_condition_not_a_filter(many_tagged, tags, staff, at):
    listing = Listing(tags["receipt"], Scope(), Order.IN_ORDER)
    viewer = Viewer(user_id=None, is_staff=staff)
    scans = _pagetag_scans(listing, viewer, at)
    assert scans, "no scan of reviews_pagetag in the plan"
    conds = " ".join(n.get("Index Cond", "") for n in scans)
    assert f"{at} >=" in conds, f"the cursor is not an index condition: {json.dumps(scans, indent=1)[:3000]}"
    removed = sum(
        n.get("Rows Removed by Filter", 0) + n.get("Rows Removed by Index Recheck", 0) for n in scans
    )
    # A handful at most (rows at the cursor's own instant), never the ROWS // 2 rows before it.
    assert removed <= 10, f"{removed} earlier rows read and thrown away"
