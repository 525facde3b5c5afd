"""One strict assignment must not hide everything (issue 16): a page's tag counts are public once
it has as many reviews as the LOWEST threshold of the open assignments containing it (1 when it
is in none). Every public surface follows that one rule and agrees with the page itself:
/pages/<id>/, the tag listings (most-tagged and in order), their feeds, the index counts, the
API's pages and listings, the exports and a reviewer's profile buckets."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client

from assignments.actions import set_assignment_active
from contributors.selectors import profile
from denorm.registry import get
from reviews.models import PageTag
from tests import factories
from tests.results._support import listed_page_ids, pages_of, review

pytestmark = pytest.mark.django_db


@pytest.fixture
def strict_and_lenient(release, tags):
    """A strict assignment (threshold 5) over Ann's and Bob's documents and a lenient one
    (threshold 1) over Ann's only. Ann's page is in both, Bob's in the strict one alone. One
    reviewer, ``shared``, reviewed both with "receipt" (their profile is checked too)."""
    docs = release["docs"]
    strict = factories.make_assignment(documents=[docs["ann"], docs["bob"]], threshold=5)
    lenient = factories.make_assignment(documents=[docs["ann"]], threshold=1)
    shared = factories.make_user("shared-reviewer")
    in_both = pages_of(docs["ann"])[0]
    strict_only = pages_of(docs["bob"])[0]
    for page in (in_both, strict_only):
        review(page, "receipt", user=shared)
    return {"strict": strict, "lenient": lenient, "in_both": in_both, "strict_only": strict_only}


def _page_view_shows_counts(client, page) -> bool:
    return "tag-counts" in client.get(f"/pages/{page.pk}/").content.decode()


def public_surfaces(pages) -> dict[str, set[int]]:
    """For each public surface, which of ``pages`` it shows with their tags (an anonymous reader)."""
    client = Client()
    wanted = {p.pk for p in pages}
    api_pages = {p.pk for p in pages if client.get(f"/api/pages/{p.pk}/").json()["tags"] is not None}
    api_list = {
        row["id"]
        for row in client.get("/api/pages/", {"page_size": 200}).json()["results"]
        if row["tags_visible"] and row["tags"] is not None
    }
    api_listing = {
        row["page"]["id"]
        for order in ("most-tagged", "in-order")
        for row in client.get("/api/listings/receipt/", {"order": order}).json()["results"]
    }
    export = client.get("/exports/all.csv")
    rows = csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode()))
    feed = client.get("/in-order/tags/receipt/feed/").content.decode()
    buckets = profile("shared-reviewer", viewer=AnonymousUser()).buckets
    return {
        "page view": {p.pk for p in pages if _page_view_shows_counts(client, p)},
        "listing": set(listed_page_ids(client.get("/tags/receipt/").content.decode())) & wanted,
        "in-order listing": set(listed_page_ids(client.get("/in-order/tags/receipt/").content.decode()))
        & wanted,
        "user listing": set(
            listed_page_ids(client.get("/users/shared-reviewer/tags/receipt/").content.decode())
        )
        & wanted,
        "feed": {p.pk for p in pages if f"/pages/{p.pk}/" in feed},
        "api page": api_pages,
        "api page list": api_list & wanted,
        "api listing": api_listing & wanted,
        "export": {int(r["page_id"]) for r in rows} & wanted,
        "profile buckets": {pg.pk for b in buckets for pg in b.pages} & wanted,
        "listed_at": set(
            PageTag.objects.filter(page__in=pages, listed_at__isnull=False).values_list("page_id", flat=True)
        ),
    }


def tag_index_count() -> int:
    """The number of pages /tags/ gives for "receipt" (only the fixture's pages carry it)."""
    html = Client().get("/tags/").content.decode()
    return int(re.search(r'href="/tags/receipt/">Receipt</a> <span class="count">(\d+) page', html).group(1))


def _agree(pages, expected) -> None:
    ids = {p.pk for p in expected}
    surfaces = public_surfaces(pages)
    assert surfaces == dict.fromkeys(surfaces, ids)
    assert tag_index_count() == len(ids)


def test_a_page_shared_with_a_lenient_assignment_is_public_after_one_review(strict_and_lenient):
    """Ann's page is public after its one review (the lenient 1), Bob's waits for the strict 5:
    every surface agrees with the page view, at each step."""
    in_both, strict_only = strict_and_lenient["in_both"], strict_and_lenient["strict_only"]
    pages = [in_both, strict_only]
    _agree(pages, [in_both])
    hidden = Client().get(f"/pages/{strict_only.pk}/").content.decode()
    assert "1 of 5 reviews so far" in hidden
    assert "once 5 people have reviewed this page (the lowest threshold of the open assignments" in hidden
    shown = Client().get(f"/pages/{in_both.pk}/").content.decode()
    assert "once 1 person has reviewed this page (the lowest threshold of the open assignments" in shown
    for _ in range(3):
        review(strict_only)
    _agree(pages, [in_both])  # 4 of 5
    assert "4 of 5 reviews so far" in Client().get(f"/pages/{strict_only.pk}/").content.decode()
    review(strict_only)
    _agree(pages, [in_both, strict_only])
    assert get("page-tag-listed-at").check().ok


@pytest.mark.django_db(transaction=True)
def test_closing_the_lenient_assignment_hides_the_shared_page_until_the_strict_threshold(strict_and_lenient):
    """The editor closes the lenient assignment: Ann's page now answers to the strict 5 alone,
    everywhere at once (listed_at re-derived after commit: real commits here); reopening it lists
    the page again."""
    in_both, strict_only = strict_and_lenient["in_both"], strict_and_lenient["strict_only"]
    lenient = strict_and_lenient["lenient"]
    set_assignment_active(assignment_id=lenient.pk, active=False)
    _agree([in_both, strict_only], [])
    assert get("page-tag-listed-at").check().ok
    set_assignment_active(assignment_id=lenient.pk, active=True)
    _agree([in_both, strict_only], [in_both])
    assert get("page-tag-listed-at").check().ok
