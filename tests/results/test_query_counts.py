"""Every listing (HTML, feed, API, index pages) costs the same number of queries for 2 rows as
for 20."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reviews.actions import skip_page
from tests import factories
from tests.results._support import review


def _count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(url)
        assert r.status_code == 200, (url, r.content[:300])
        if r.streaming:
            b"".join(r.streaming_content)
    return len(ctx.captured_queries)


@pytest.fixture
def world(db, tags):
    party = factories.make_party()
    member = factories.make_member(party)
    doc = factories.make_document(member, pages=20)
    assignment = factories.make_assignment(documents=[doc], slug="counted")
    user = factories.make_user("counted-user")
    pages = list(doc.pages.order_by("number"))
    return {
        "party": party,
        "member": member,
        "doc": doc,
        "assignment": assignment,
        "user": user,
        "pages": pages,
    }


def _urls(w) -> list[str]:
    scopes = [
        "",
        f"parties/{w['party'].slug}/",
        f"members/{w['member'].slug}/",
        f"documents/{w['doc'].pk}/",
        f"assignments/{w['assignment'].slug}/",
        f"users/{w['user'].username}/",
    ]
    urls = []
    for s in scopes:
        urls += [f"/{s}tags/receipt/", f"/in-order/{s}tags/receipt/", f"/in-order/{s}tags/receipt/feed/"]
        urls.append(f"/{s}tags/receipt/?min_agreement=0.5&min_reviews=1")
    urls += [
        f"/parties/{w['party'].slug}/",
        f"/members/{w['member'].slug}/",
        f"/documents/{w['doc'].pk}/",
        "/parties/",
        "/members/",
        "/tags/",
        "/discoveries/",
        "/discoveries/feed/",
        "/exports/all.csv",
        "/exports/tags/receipt.jsonl",
    ]
    return urls


def _tag_pages(w, pages):
    for page in pages:
        review(page, "receipt", "claim-form", user=w["user"])
        review(page, "receipt")


def test_listing_query_counts_do_not_grow_with_rows(client, world):
    _tag_pages(world, world["pages"][:2])
    few = {u: _count(client, u) for u in _urls(world)}
    _tag_pages(world, world["pages"][2:])
    many = {u: _count(client, u) for u in _urls(world)}
    assert many == few
    # And the listings themselves are cheap: threshold, tag, scope, rows.
    assert few["/tags/receipt/"] <= 4


def test_staff_views_query_counts_do_not_grow_with_rows(client, world, editor):
    client.force_login(editor)
    _tag_pages(world, world["pages"][:2])
    skip_page(reviewer=editor, page_id=world["pages"][10].pk)
    urls = ["/staff/activity/", "/tags/receipt/", "/in-order/tags/receipt/"]
    few = {u: _count(client, u) for u in urls}
    _tag_pages(world, world["pages"][2:10])
    for page in world["pages"][11:]:
        skip_page(reviewer=editor, page_id=page.pk)
    assert {u: _count(client, u) for u in urls} == few
