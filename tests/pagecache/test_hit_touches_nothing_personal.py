"""A cached page is served without the session, the user or the database, and carries no
cookie, CSRF token or personal data."""

from __future__ import annotations

import pytest

from reviews.actions import submit_review
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def site(tags, reviewer):
    doc = factories.make_document(pages=2)
    factories.make_assignment(documents=[doc], featured="main", slug="expenses")
    submit_review(reviewer=reviewer, page_id=doc.pages.first().pk, tag_slugs=["receipt"])
    return doc


URLS = ["/", "/tags/", "/tags/receipt/", "/assignments/", "/discoveries/"]


def test_a_hit_runs_no_query_and_never_loads_the_session(
    client, site, django_assert_num_queries, monkeypatch
):
    for url in URLS:
        client.get(url)
    from django.contrib.sessions.backends import base

    def no_session(*args, **kwargs):
        raise AssertionError("a cached page loaded the session")

    # The property, not _get_session: ``_session = property(_get_session)`` holds the function it
    # was made with, so patching the method alone caught nothing (the control below shows it).
    monkeypatch.setattr(base.SessionBase, "_session", property(no_session))
    for url in URLS:
        with django_assert_num_queries(0):
            response = client.get(url)
        assert response["X-Page-Cache"] == "hit", url
    # Positive control: a page the cache never serves (staff) does read the session, and the
    # patch above catches it; so the hits above really did not.
    with pytest.raises(AssertionError, match="loaded the session"):
        client.get("/staff/cache/")


def test_cached_pages_set_no_cookie_and_hold_no_token_or_username(client, site):
    for url in URLS:
        client.cookies.clear()
        client.get(url)
        client.cookies.clear()
        response = client.get(url)
        assert response["X-Page-Cache"] == "hit"
        assert not response.cookies, url
        body = response.content.decode()
        # No form token and no signed-in rendering (reviewers' names may appear: the top-reviewer
        # tables are public).
        assert "csrfmiddlewaretoken" not in body and "/account/logout/" not in body, url
        assert "Log in" in body  # the anonymous rendering
