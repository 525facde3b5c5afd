"""End to end, in the production shape: nginx (deploy/nginx.conf.template) in front of a live
Django, the page cache on, every public surface served once from nginx's own copies. An editor
withdraws a page in the admin; the very next request to every public surface, through nginx,
no longer shows it (HTML copies, feeds, exports, the API, ``/pages/<id>/`` and the image files),
while staff still get its image; reinstating brings everything back the same way.

What is asserted is behaviour: no request made after the editor's POST returned shows the page.
The time from the click to the last surface checked is printed (``-s``) as a figure, never
asserted."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from tests.pagecache._front_support import _get

pytestmark = pytest.mark.django_db(transaction=True)


def _cached_html(r) -> list[str]:
    party, member, doc = r["party"].slug, r["member"].slug, r["doc"].pk
    return [
        "/",
        "/discoveries/",
        "/tags/receipt/",
        f"/parties/{party}/tags/receipt/",
        f"/members/{member}/tags/receipt/",
        f"/documents/{doc}/tags/receipt/",
        "/assignments/expenses/tags/receipt/",
        "/in-order/tags/receipt/",
        f"/members/{member}/",
        f"/parties/{party}/",
        f"/documents/{doc}/",
    ]


def _other_public(r) -> list[str]:
    return [
        "/discoveries/feed/",
        "/in-order/tags/receipt/feed/",
        "/users/alice/",
        "/users/alice/tags/receipt/",
        "/exports/all.csv",
        "/exports/tags/receipt.jsonl",
        "/api/pages/",
        "/api/listings/receipt/",
    ]


def _shows(body: bytes, page) -> bool:
    return f"/pages/{page.pk}/".encode() in body or page.thumbnail.name.encode() in body


def _surfaces_count(r) -> int:
    return len(_cached_html(r)) + len(_other_public(r)) + 4  # + /pages/, /api/pages/, 2 files


def _still_showing(base: str, r, page) -> list[str]:
    """Every public surface that still shows the page, fetched through nginx at ``base``."""
    showing = []
    for url in [*_cached_html(r), *_other_public(r)]:
        status, _, body = _get(base + url)
        if status != 200 or _shows(body, page):
            showing.append(f"{url} ({status})")
    for url in (f"/pages/{page.pk}/", f"/api/pages/{page.pk}/"):
        status, _, _ = _get(base + url)
        if status == 200:
            showing.append(url)
    for name in (page.image.name, page.thumbnail.name):
        status, headers, _ = _get(base + f"/media/{name}")
        if status != 410 or headers.get("Cache-Control") != "no-store":
            showing.append(f"/media/{name} ({status})")
    return showing


def test_every_public_surface_stops_showing_a_withdrawn_page_once_the_click_returns(
    front,  # noqa: F811
    release,
    editor,
):
    page = release["pages"][0]
    for url in _cached_html(release):
        _get(front + url)
        status, headers, body = _get(front + url)
        assert status == 200 and headers.get("X-Page-Cache") == "nginx" and _shows(body, page), url
    for name in (page.image.name, page.thumbnail.name):
        status, headers, _ = _get(front + f"/media/{name}")
        assert status == 200 and headers["Cache-Control"] == "private, max-age=3600"

    staff = Client()
    staff.force_login(editor)
    cookie = f"sessionid={staff.cookies['sessionid'].value}"
    clicked = time.perf_counter()
    response = staff.post(
        "/admin/catalogue/page/",
        {
            "action": "withdraw_pages",
            "_selected_action": [str(page.pk)],
            "confirm": "yes",
            "reason": "A home address",
        },
    )
    assert response.status_code == 302
    committed = time.perf_counter()
    assert _still_showing(front, release, page) == []
    done = time.perf_counter()
    print(
        f"\ntakedown: admin POST (commit and after-commit refresh) {committed - clicked:.3f} s; "
        f"then {_surfaces_count(release)} public surfaces fetched through nginx, none showing it, "
        f"in {done - committed:.3f} s; click to last surface {done - clicked:.3f} s"
    )
    assert _shows(_get(front + "/tags/receipt/")[2], release["pages"][1])  # the rest stays
    status, _, _ = _get(front + f"/media/{page.image.name}", cookie=cookie)
    assert status == 200  # staff still see the image
    status, _, body = _get(front + f"/pages/{page.pk}/", cookie=cookie)
    assert status == 200 and b"Withdrawn" in body

    staff.post(
        "/admin/catalogue/page/",
        {"action": "reinstate_pages", "_selected_action": [str(page.pk)], "confirm": "yes", "reason": ""},
    )
    for url in _cached_html(release):
        status, _, body = _get(front + url)
        assert status == 200 and _shows(body, page), url
    assert _get(front + f"/media/{page.image.name}")[0] == 200
    assert _get(front + f"/pages/{page.pk}/")[0] == 200
