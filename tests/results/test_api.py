"""The read-only API: every endpoint answers with its documented shape, cursor pagination,
visibility of tag counts, no source paths, and query counts that do not grow with rows."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from consensus.actions import refresh_confidence
from tests import factories
from tests.results._support import pages_of, review


def test_list_endpoints_are_cursor_paginated(client, release, tags):
    r = client.get("/api/pages/", {"page_size": 5})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"next", "previous", "results"}
    assert len(body["results"]) == 5
    seen = [p["id"] for p in body["results"]]
    while body["next"]:
        body = client.get(body["next"]).json()
        seen += [p["id"] for p in body["results"]]
    assert seen == sorted(seen) and len(seen) == 16


@pytest.mark.parametrize(
    ("url", "keys"),
    [
        ("/api/parties/", {"id", "name", "slug", "url"}),
        ("/api/members/", {"id", "name", "slug", "party", "constituency", "url"}),
        ("/api/documents/", {"id", "title", "member", "page_count", "status", "created", "url"}),
        ("/api/tags/", {"slug", "name", "description", "order", "highlights", "url"}),
        (
            "/api/assignments/",
            {
                "slug",
                "title",
                "description",
                "threshold",
                "page_count",
                "completed_count",
                "progress_percent",
                "featured",
                "url",
            },
        ),
        (
            "/api/pages/",
            {
                "id",
                "document",
                "number",
                "image",
                "thumbnail",
                "width",
                "height",
                "review_count",
                "tags_visible",
                "tags",
                "url",
            },
        ),
    ],
)
def test_each_endpoint_has_its_shape(client, release, tags, url, keys):
    factories.make_assignment(documents=[release["docs"]["ann"]], slug="the-one")
    results = client.get(url).json()["results"]
    assert results and all(set(item) == keys for item in results)


def test_detail_endpoints(client, release, tags):
    doc = release["docs"]["ann"]
    a = factories.make_assignment(documents=[doc], slug="ann-only", threshold=2)
    assert client.get(f"/api/documents/{doc.pk}/").json()["title"] == "Ann's claims"
    assert client.get(f"/api/parties/{release['parties']['red'].slug}/").json()["name"] == "Red"
    assert (
        client.get(f"/api/members/{release['members']['ann'].slug}/").json()["party"]
        == release["parties"]["red"].slug
    )
    assert client.get("/api/tags/receipt/").json()["name"] == "Receipt"
    assert client.get("/api/tags/retired/").status_code == 404
    assert client.get(f"/api/assignments/{a.slug}/").json()["page_count"] == a.page_count
    assert client.get("/api/documents/99999999999999999999999/").status_code == 404
    assert client.get("/api/pages/abc/").status_code == 404


def test_no_source_paths_or_hashes_are_exposed(client, release, tags):
    body = json.dumps([client.get(u).json() for u in ["/api/documents/", "/api/pages/"]])
    assert "sources/" not in body and "sha256" not in body and "source" not in body


def test_page_tags_are_null_until_visible(client, release, tags, editor):
    factories.make_assignment(documents=[release["docs"]["ann"]], threshold=2)
    page = pages_of(release["docs"]["ann"])[0]
    review(page, "receipt")
    body = client.get(f"/api/pages/{page.pk}/").json()
    assert body["tags_visible"] is False and body["tags"] is None
    review(page, "receipt")
    # The after-commit refresh of the confidence (this test's transaction never commits).
    refresh_confidence([page.pk])
    body = client.get(f"/api/pages/{page.pk}/").json()
    # Two newcomers (odds 1.5 each, even prior): 2.25:1.
    assert body["tags"] == [{"tag": "receipt", "count": 2, "confidence": round(2.25 / 3.25, 6)}]


def test_assignments_report_progress_and_hide_drafts(client, release, tags):
    live = factories.make_assignment(documents=[release["docs"]["ann"]], slug="live")
    factories.make_assignment(documents=[release["docs"]["bob"]], slug="draft", active=False)
    review(pages_of(release["docs"]["ann"])[0])
    live.refresh_from_db()
    items = client.get("/api/assignments/").json()["results"]
    assert [a["slug"] for a in items] == ["live"]
    assert items[0]["completed_count"] == live.completed_count
    assert items[0]["progress_percent"] == pytest.approx(live.progress_percent)


def test_listing_endpoint_filters_and_paginates_like_the_html(client, release, tags, monkeypatch):
    monkeypatch.setattr("results.selectors.DEFAULT_LIMIT", 2)
    red = release["parties"]["red"]
    ann, bob = pages_of(release["docs"]["ann"]), pages_of(release["docs"]["bob"])
    for page in ann + bob[:1]:
        review(page, "receipt")
    review(pages_of(release["docs"]["cat"])[0], "receipt")
    body = client.get("/api/listings/receipt/", {"order": "in-order", "party": red.slug}).json()
    assert set(body) == {"next", "results"}
    row = body["results"][0]
    assert set(row) == {"page", "member", "tag", "count", "reviews", "agreement", "confidence", "at"}
    assert set(row["page"]) == {"id", "document", "document_title", "number", "thumbnail", "url"}
    seen = [r["page"]["id"] for r in body["results"]]
    while body["next"]:
        body = client.get(body["next"]).json()
        seen += [r["page"]["id"] for r in body["results"]]
    assert seen == [p.pk for p in ann + bob[:1]]


@pytest.mark.parametrize(
    "params",
    [
        {"party": "a", "member": "b"},
        {"order": "sideways"},
        {"document": "1e9"},
        {"document": "99999999999999999999"},
        {"after": "junk"},
        {"min_agreement": "2"},
    ],
)
def test_listing_endpoint_bad_input_is_400(client, release, tags, params):
    r = client.get("/api/listings/receipt/", params)
    assert r.status_code == 400, r.content
    assert "detail" in r.json()


def test_listing_endpoint_unknown_things_are_404(client, tags):
    assert client.get("/api/listings/nope/").status_code == 404
    assert client.get("/api/listings/receipt/", {"party": "nope"}).status_code == 404


@pytest.mark.parametrize(
    "raw",
    [b"o=abc", b"p=abc", b"o=-5", b"r=x&p=\x00"],
)
def test_a_malformed_api_cursor_is_400(client, release, raw):
    import base64

    r = client.get("/api/pages/", {"cursor": base64.b64encode(raw).decode()})
    assert r.status_code == 400, r.content


def test_an_api_cursor_past_the_largest_id_is_an_empty_page(client, release):
    import base64

    r = client.get("/api/pages/", {"cursor": base64.b64encode(b"p=99999999999999999999999999").decode()})
    assert r.status_code == 200 and r.json()["results"] == []


def _queries(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(url, params or {})
        assert r.status_code == 200, r.content
    return len(ctx.captured_queries)


def test_list_endpoint_query_counts_do_not_grow_with_rows(client, tags):
    party = factories.make_party()
    member = factories.make_member(party)
    doc = factories.make_document(member, pages=2)
    factories.make_assignment(documents=[doc])
    for page in doc.pages.all():
        review(page, "receipt", "claim-form")
    urls = [
        "/api/pages/",
        "/api/documents/",
        "/api/members/",
        "/api/parties/",
        "/api/tags/",
        "/api/assignments/",
    ]
    few = {u: _queries(client, u) for u in urls}
    few_listing = _queries(client, "/api/listings/receipt/", {"party": party.slug})
    for _ in range(9):
        p = factories.make_party()
        m = factories.make_member(p)
        d = factories.make_document(m, pages=2)
        factories.make_assignment(documents=[d])
        factories.make_tag(f"t-{p.pk}")
        for page in d.pages.all():
            review(page, "receipt", "claim-form")
        factories.add_pages(doc, 2, start=doc.pages.count() + 1)
    for page in doc.pages.all():
        review(page, "receipt")
    assert {u: _queries(client, u) for u in urls} == few
    assert _queries(client, "/api/listings/receipt/", {"party": party.slug}) == few_listing
    assert few["/api/pages/"] <= 3
