"""Writes change the cached pages that show them: at once for discoveries, assignments, tags
and deleted pages; within PAGE_CACHE_SOFT_SECONDS for counts that every review changes."""

from __future__ import annotations

import pytest

from assignments.actions import set_assignment_active
from pagecache import generations
from reviews.actions import create_discovery, submit_review
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def site(tags):
    doc = factories.make_document(pages=3, title="Claims of Ann")
    pages = list(doc.pages.order_by("number"))
    assignment = factories.make_assignment(documents=[doc], featured="main", slug="expenses")
    return {"doc": doc, "pages": pages, "assignment": assignment}


def _cached(client, url: str) -> str:
    client.get(url)
    response = client.get(url)
    assert response["X-Page-Cache"] == "hit", url
    return response.content.decode()


def test_a_new_review_shows_on_the_tag_listing_within_the_bound(
    client, site, reviewer, settings, monkeypatch
):
    settings.PAGE_CACHE_SOFT_SECONDS = 5
    with generations.clock.frozen(1000.0) as clock:
        page = site["pages"][0]
        assert f"/pages/{page.pk}/" not in _cached(client, "/tags/receipt/")
        old = generations.read([generations.tag("receipt")])[generations.tag("receipt")]
        submit_review(reviewer=reviewer, page_id=page.pk, tag_slugs=["receipt"])
        # As in another process, which read the tag's generation just before the review:
        generations._local[generations.tag("receipt")] = (old, clock.now())
        clock.advance(4)  # within the bound: the listing may still be the old one
        assert f"/pages/{page.pk}/" not in client.get("/tags/receipt/").content.decode()
        clock.advance(1.5)  # past the bound: the new review is listed
        response = client.get("/tags/receipt/")
        assert response["X-Page-Cache"] == "miss"
        assert f"/pages/{page.pk}/" in response.content.decode()


def test_a_review_in_this_process_shows_at_once_with_no_bound(client, site, reviewer):
    page = site["pages"][0]
    assert f"/pages/{page.pk}/" not in _cached(client, "/tags/receipt/")
    submit_review(reviewer=reviewer, page_id=page.pk, tag_slugs=["receipt"])
    assert f"/pages/{page.pk}/" in client.get("/tags/receipt/").content.decode()
    # and only that tag's listings: another tag's listing is still cached
    _cached(client, "/tags/claim-form/")
    submit_review(reviewer=reviewer, page_id=site["pages"][1].pk, tag_slugs=["receipt"])
    assert client.get("/tags/claim-form/")["X-Page-Cache"] == "hit"


def test_a_new_discovery_shows_at_once(client, site, settings):
    settings.PAGE_CACHE_SOFT_SECONDS = 60
    page = site["pages"][1]
    assert "A first-class sofa" not in _cached(client, "/discoveries/")
    _cached(client, "/discoveries/feed/")
    create_discovery(page_id=page.pk, title="A first-class sofa")
    assert "A first-class sofa" in client.get("/discoveries/").content.decode()
    assert "A first-class sofa" in client.get("/discoveries/feed/").content.decode()


def test_a_changed_assignment_shows_at_once(client, site, settings):
    settings.PAGE_CACHE_SOFT_SECONDS = 60
    other = factories.make_assignment(documents=[site["doc"]], slug="other-one")
    assert other.title in _cached(client, "/assignments/")
    _cached(client, "/")
    set_assignment_active(assignment_id=other.pk, active=False)
    assert other.title not in client.get("/assignments/").content.decode()
    main = site["assignment"]
    main.title = "Renamed assignment"
    main.save()
    assert "Renamed assignment" in client.get("/").content.decode()
    assert "Renamed assignment" in client.get("/assignments/").content.decode()


def test_a_changed_tag_shows_at_once(client, site, tags, settings):
    settings.PAGE_CACHE_SOFT_SECONDS = 60
    assert "Receipt" in _cached(client, "/tags/")
    tag = tags["receipt"]
    tag.name = "Paper receipt"
    tag.save()
    assert "Paper receipt" in client.get("/tags/").content.decode()


def test_a_deleted_page_disappears_at_once(client, site, reviewer, settings):
    settings.PAGE_CACHE_SOFT_SECONDS = 60
    page = site["pages"][2]
    submit_review(reviewer=reviewer, page_id=page.pk, tag_slugs=["receipt"])
    assert f"/pages/{page.pk}/" in _cached(client, "/tags/receipt/")
    _cached(client, f"/pages/{page.pk}/")
    page.delete()
    assert client.get(f"/pages/{page.pk}/").status_code == 404
    assert f"/pages/{page.pk}/" not in client.get("/tags/receipt/").content.decode()


def test_a_bump_outside_a_transaction_waits_for_nothing_and_inside_waits_for_commit(site):
    from django.db import transaction

    before = generations.read([generations.DISCOVERIES])[generations.DISCOVERIES]
    with transaction.atomic():
        create_discovery(page_id=site["pages"][0].pk, title="Pending")
        assert generations.read([generations.DISCOVERIES])[generations.DISCOVERIES] == before
    assert generations.read([generations.DISCOVERIES])[generations.DISCOVERIES] > before
