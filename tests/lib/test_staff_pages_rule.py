"""One rule for every /staff/ page (lib.web.staff_required): anonymous visitors are sent to the
login page; signed-in reviewers who are not staff get a 403 page in the site's layout, and the
log gets no traceback for it. The URLs are read from the URLconf, so a new staff page is covered."""

from __future__ import annotations

import logging

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests import factories

pytestmark = pytest.mark.django_db


def _staff_routes() -> list[str]:
    found: list[str] = []

    def walk(patterns, prefix: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                route = prefix + str(entry.pattern)
                if route.startswith("staff/"):
                    found.append(route)

    walk(get_resolver().url_patterns, "")
    return sorted(set(found))


STAFF_ROUTES = _staff_routes()


def test_the_staff_pages_are_all_found():
    assert {
        "staff/triage/",
        "staff/suspicious/",
        "staff/activity/",
        "staff/denormalisations/",
        "staff/cache/",
    } <= set(STAFF_ROUTES)
    assert any(r.startswith("staff/sources/") for r in STAFF_ROUTES)


@pytest.fixture
def fill(db):
    page = factories.make_document(pages=1).pages.get()

    def fill_route(route: str) -> str:
        path = "/" + route
        for name, value in (
            ("<id:page_id>", str(page.pk)),
            ("<str:name>", "page-review-counts"),
            ("<path:name>", "sources/doc.pdf"),
        ):
            path = path.replace(name, value)
        assert "<" not in path, path
        return path

    return fill_route


def _answers(client, path):
    return [client.get(path), client.post(path, {})]


@pytest.mark.parametrize("route", STAFF_ROUTES)
def test_anonymous_visitors_are_sent_to_the_login_page(route, fill):
    path = fill(route)
    answers = [r for r in _answers(Client(), path) if r.status_code != 405]
    assert answers, "neither GET nor POST is allowed?"
    for response in answers:
        assert response.status_code == 302 and response["Location"].startswith("/account/login/?next="), (
            route,
            response.status_code,
        )


@pytest.mark.parametrize("route", STAFF_ROUTES)
def test_signed_in_reviewers_get_the_403_page_without_a_traceback(route, fill, caplog):
    path = fill(route)
    client = Client()
    client.force_login(factories.make_user())
    with caplog.at_level(logging.DEBUG):
        answers = [r for r in _answers(client, path) if r.status_code != 405]
    assert answers
    for response in answers:
        assert response.status_code == 403, (route, response.status_code)
        html = response.content.decode()
        assert '<header class="site-header">' in html and "Staff only" in html
    assert [r for r in caplog.records if r.exc_info] == []
