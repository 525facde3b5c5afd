"""Which routes anonymous readers get from the cache, and which always reach their view."""

from __future__ import annotations

import pytest

from reviews.actions import submit_review
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def site(tags):
    doc = factories.make_document(pages=2)
    assignment = factories.make_assignment(documents=[doc], featured="main", slug="expenses")
    return {"doc": doc, "page": doc.pages.order_by("number").first(), "assignment": assignment}


def _public_urls(site) -> list[str]:
    page, doc = site["page"], site["doc"]
    return [
        "/",
        "/assignments/",
        "/tags/",
        "/tags/receipt/",
        "/in-order/tags/receipt/",
        "/in-order/tags/receipt/feed/",
        f"/documents/{doc.pk}/tags/receipt/",
        "/assignments/expenses/tags/receipt/",
        "/parties/",
        "/members/",
        f"/documents/{doc.pk}/",
        f"/pages/{page.pk}/",
        "/discoveries/",
        "/discoveries/feed/",
        "/tags/receipt/?page=2",
    ]


def test_public_pages_are_served_from_the_cache_the_second_time(client, site):
    for url in _public_urls(site):
        first = client.get(url)
        assert first.status_code == 200, url
        assert first["X-Page-Cache"] == "miss", url
        second = client.get(url)
        assert second["X-Page-Cache"] == "hit", url
        assert second.content == first.content, url
        assert second["Content-Type"] == first["Content-Type"], url
        assert second.get("X-Frame-Options") == first.get("X-Frame-Options"), url


def test_a_query_string_is_a_different_page(client, site):
    client.get("/tags/receipt/")
    assert client.get("/tags/receipt/?agreement=2")["X-Page-Cache"] == "miss"


def test_personal_and_staff_routes_and_posts_are_never_cached(client, site, editor, reviewer):
    page = site["page"]
    never = [
        f"/review/{page.pk}/",
        "/review/next/",
        "/account/login/",
        "/users/alice/",
        "/api/tags/",
        "/assignments/expenses/",  # shows the reader's own progress (never_cache)
    ]
    for url in never:
        for _ in range(2):
            assert "X-Page-Cache" not in client.get(url), url
    client.cookies.clear()
    response = client.post(f"/review/{page.pk}/", {"action": "submit", "tags": ["receipt"]})
    assert "X-Page-Cache" not in response
    client.force_login(editor)
    for _ in range(2):
        assert "X-Page-Cache" not in client.get("/staff/cache/")
        assert "X-Page-Cache" not in client.get("/staff/denormalisations/")


def test_a_signed_in_reviewer_always_gets_their_own_rendering(client, site, reviewer, reviewer2):
    anonymous = client.get("/")  # stored for anonymous readers
    assert anonymous["X-Page-Cache"] == "miss"
    client.force_login(reviewer)
    for _ in range(2):
        mine = client.get("/")
        assert "X-Page-Cache" not in mine
        assert "alice" in mine.content.decode()
    client.force_login(reviewer2)
    theirs = client.get("/")
    assert "bob" in theirs.content.decode() and "alice" not in theirs.content.decode()
    client.logout()
    client.cookies.clear()
    again = client.get("/")
    assert again["X-Page-Cache"] == "hit"
    assert "alice" not in again.content.decode() and "bob" not in again.content.decode()


def test_an_anonymous_reviewer_with_a_session_is_not_served_cached_pages(client, site, tags):
    client.get("/tags/receipt/")
    response = client.post(f"/review/{site['page'].pk}/", {"action": "submit", "tags": ["receipt"]})
    assert response.status_code == 302
    assert "sessionid" in client.cookies  # the first write made an account
    for _ in range(2):
        assert "X-Page-Cache" not in client.get("/tags/receipt/")


def test_a_response_that_sets_a_cookie_or_holds_a_csrf_token_is_not_stored(rf, site):
    from django.http import HttpResponse

    from pagecache.middleware import PageCacheMiddleware

    def sets_cookie(request):
        response = HttpResponse("<p>personal</p>")
        response.set_cookie("csrftoken", "secret")
        return response

    def uses_token(request):
        request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True  # what django.middleware.csrf.get_token does
        return HttpResponse("<p>token</p>")

    for view, url in ((sets_cookie, "/tags/"), (uses_token, "/parties/")):
        middleware = PageCacheMiddleware(view)
        for _ in range(2):
            assert middleware(rf.get(url))["X-Page-Cache"] == "miss"


def test_reviews_recorded_while_pages_are_cached_still_count(client, site, reviewer):
    client.get("/tags/receipt/")
    submit_review(reviewer=reviewer, page_id=site["page"].pk, tag_slugs=["receipt"])
    assert client.get("/tags/receipt/")["X-Page-Cache"] == "miss"
