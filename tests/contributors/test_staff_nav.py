"""One staff navigation (contributors/templatetags/staff_nav.py) on every staff page and in the
admin header: Admin, Activity, Triage with the number of pages waiting, Suspicious,
Denormalisations, Cache and the OCR status; the site header links staff to the triage inbox."""

import re

import pytest

from tests import factories
from tests.contributors._support import review

pytestmark = pytest.mark.django_db

STAFF_PAGES = {
    "/staff/activity/": "Activity",
    "/staff/triage/": "Triage",
    "/staff/suspicious/": "Suspicious",
    "/staff/denormalisations/": "Denormalisations",
    "/staff/cache/": "Cache and picker",
    "/admin/": "Admin",
}
LINKS = [
    "/admin/",
    "/staff/activity/",
    "/staff/triage/",
    "/staff/suspicious/",
    "/staff/denormalisations/",
    "/staff/cache/",
    "/admin/search/pagetext/",
]


def _nav(body: str) -> str:
    found = re.search(r'<nav class="staff-nav" aria-label="Staff pages">.*?</nav>', body, re.S)
    assert found, "no staff navigation"
    return found.group(0)


@pytest.mark.parametrize("url", list(STAFF_PAGES))
def test_it_links_every_staff_tool_from_every_staff_page(client, editor, url):
    client.force_login(editor)
    response = client.get(url)
    assert response.status_code == 200
    nav = _nav(response.content.decode())
    assert re.findall(r'href="([^"]+)"', nav) == LINKS
    current = re.findall(r'<a href="[^"]+" aria-current="page"[^>]*>([^<]+)', nav)
    assert [c.strip() for c in current] == [STAFF_PAGES[url]]


def test_it_counts_the_pages_waiting_in_triage(client, editor, reviewer, reviewer2, tags):
    pages = list(factories.make_document(pages=3).pages.order_by("number"))
    client.force_login(editor)
    assert "Triage <span" in _nav(client.get("/staff/cache/").content.decode())
    assert 'aria-label="0 waiting">(0)' in _nav(client.get("/staff/cache/").content.decode())
    review(reviewer, pages[0], "investigate-this")
    review(reviewer2, pages[1], "investigate-this")
    review(reviewer, pages[2], "receipt")
    assert 'aria-label="2 waiting">(2)' in _nav(client.get("/staff/cache/").content.decode())


def test_the_site_header_links_staff_to_triage_and_nobody_else(client, editor, reviewer):
    client.force_login(reviewer)
    assert 'href="/staff/triage/"' not in client.get("/assignments/").content.decode()
    client.force_login(editor)
    assert 'href="/staff/triage/"' in client.get("/assignments/").content.decode()
