"""A withdrawn page, or every page of a withdrawn document, is gone from every public surface
from the moment the withdrawal commits, with the page cache on and every surface cached first:
listings (all scopes, both orders), feeds, exports, the API, tag counts, index pages,
discoveries, profiles, ``/pages/<id>/`` (410) and its image and thumbnail (410). Staff still see
it; reinstating puts everything back."""

from __future__ import annotations

import re

import pytest

from moderation.actions.takedown import reinstate_document, reinstate_page, withdraw_document, withdraw_page

pytestmark = pytest.mark.django_db(transaction=True)


def _surfaces(r) -> list[str]:
    """Public URLs that show page 1 of the document before any takedown."""
    party, member, doc = r["party"].slug, r["member"].slug, r["doc"].pk
    listings = [
        "/tags/receipt/",
        f"/parties/{party}/tags/receipt/",
        f"/members/{member}/tags/receipt/",
        f"/documents/{doc}/tags/receipt/",
        "/assignments/expenses/tags/receipt/",
        "/users/alice/tags/receipt/",
    ]
    return [
        "/",
        "/discoveries/",
        "/discoveries/feed/",
        *listings,
        *(f"/in-order{url}" for url in listings),
        *(f"/in-order{url}feed/" for url in listings),
        f"/parties/{party}/",
        f"/members/{member}/",
        f"/documents/{doc}/",
        "/users/alice/",
        "/exports/all.csv",
        "/exports/tags/receipt.jsonl",
        "/api/pages/",
        "/api/listings/receipt/",
        f"/api/listings/receipt/?member={member}",
    ]


def _get(client, url: str):
    response = client.get(url)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response.status_code, body.decode()


def _warm(client, urls) -> None:
    """Every surface rendered (and, where the route is cached, stored) before the takedown."""
    for url in urls:
        client.get(url)
        client.get(url)


def _shows(body: str, page) -> bool:
    return f"/pages/{page.pk}/" in body or page.thumbnail.name in body


def _tag_count(body: str, slug: str) -> int:
    """The count of pages with the tag, on /tags/ or in an index page's table."""
    found = re.search(rf'<td>(\d+)</td>\s*<td><a href="[^"]*/{slug}/">most-tagged', body) or re.search(
        rf'<a href="/tags/{slug}/">[^<]*</a> <span class="count">(\d+) page', body
    )
    assert found, f"no count for {slug}"
    return int(found.group(1))


def _media(page) -> list[str]:
    return [f"/media/{page.image.name}", f"/media/{page.thumbnail.name}"]


def test_a_withdrawn_page_is_gone_from_every_public_surface_at_once(client, release, editor):
    page, kept = release["pages"][0], release["pages"][1]
    urls = _surfaces(release)
    _warm(client, [*urls, f"/pages/{page.pk}/", "/tags/", f"/api/pages/{page.pk}/"])
    assert client.get("/tags/receipt/")["X-Page-Cache"] == "hit"
    for url in urls:
        status, body = _get(client, url)
        assert status == 200 and _shows(body, page), url
    assert _tag_count(_get(client, "/tags/")[1], "receipt") == 3
    assert "3 pages" in _get(client, f"/documents/{release['doc'].pk}/")[1]
    for url in _media(page):
        assert client.get(url).status_code == 200

    withdraw_page(page, by=editor, reason="A home address that should have been redacted")

    for url in urls:
        status, body = _get(client, url)
        assert status == 200 and not _shows(body, page), url
    assert _shows(_get(client, "/tags/receipt/")[1], kept)  # the rest is still there
    status, body = _get(client, f"/pages/{page.pk}/")
    assert status == 410 and "withdrawn" in body and "redacted" not in body
    assert client.get(f"/pages/{page.pk}/")["Cache-Control"] == "no-store"
    assert client.get(f"/api/pages/{page.pk}/").status_code == 410  # as the HTML page (issue 22)
    assert _tag_count(_get(client, "/tags/")[1], "receipt") == 2
    document_page = _get(client, f"/documents/{release['doc'].pk}/")[1]
    assert "2 pages" in document_page and _tag_count(document_page, "receipt") == 1
    assert "2 pages" in _get(client, f"/members/{release['member'].slug}/")[1]
    assert client.get(f"/api/documents/{release['doc'].pk}/").json()["page_count"] == 2
    for url in _media(page):
        response = client.get(url)
        assert response.status_code == 410 and response["Cache-Control"] == "no-store", url
    assert client.get(_media(kept)[0]).status_code == 200

    client.force_login(editor)
    status, body = _get(client, f"/pages/{page.pk}/")
    assert status == 200 and "Withdrawn" in body and "A home address that should have been redacted" in body
    assert "Reinstate this page" in body
    for url in _media(page):
        response = client.get(url)
        assert response.status_code == 200 and "no-store" in response["Cache-Control"], url
    client.logout()

    reinstate_page(page, by=editor, reason="The address was the constituency office")

    for url in urls:
        status, body = _get(client, url)
        assert status == 200 and _shows(body, page), url
    assert _get(client, f"/pages/{page.pk}/")[0] == 200
    assert client.get(f"/api/pages/{page.pk}/").status_code == 200
    assert _tag_count(_get(client, "/tags/")[1], "receipt") == 3
    for url in _media(page):
        assert client.get(url).status_code == 200


def test_a_withdrawn_document_is_gone_with_all_its_pages(client, release, editor):
    doc, member = release["doc"], release["member"]
    pages = release["pages"]
    urls = [u for u in _surfaces(release) if f"/documents/{doc.pk}/" not in u]
    _warm(client, [*urls, f"/documents/{doc.pk}/", f"/members/{member.slug}/", "/api/documents/"])
    assert "Claims of Ann" in _get(client, f"/members/{member.slug}/")[1]
    assert "Claims of Ann" in _get(client, "/api/documents/")[1]

    withdraw_document(doc, by=editor, reason="Medical letters throughout")

    for url in urls:
        status, body = _get(client, url)
        assert status == 200 and not any(_shows(body, p) for p in pages), url
        assert _shows(_get(client, "/tags/receipt/")[1], release["other_pages"][0])
    for page in pages:
        assert _get(client, f"/pages/{page.pk}/")[0] == 410
        assert all(client.get(url).status_code == 410 for url in _media(page))
    status, body = _get(client, f"/documents/{doc.pk}/")
    assert status == 410 and "withdrawn" in body
    assert client.get(f"/documents/{doc.pk}/tags/receipt/").status_code == 404
    assert client.get(f"/api/documents/{doc.pk}/").status_code == 410  # as the HTML page (issue 22)
    assert "Claims of Ann" not in _get(client, "/api/documents/")[1]
    member_page = _get(client, f"/members/{member.slug}/")[1]
    assert "Claims of Ann" not in member_page and "Receipts of Ann" in member_page

    client.force_login(editor)
    status, body = _get(client, f"/documents/{doc.pk}/")
    assert status == 200 and "Withdrawn" in body
    assert "Medical letters throughout" in _get(client, f"/pages/{pages[2].pk}/")[1]
    client.logout()

    reinstate_document(doc, by=editor)

    for url in urls:
        assert _shows(_get(client, url)[1], pages[0]), url
    assert _get(client, f"/documents/{doc.pk}/")[0] == 200
    assert "Claims of Ann" in _get(client, f"/members/{member.slug}/")[1]
    for page in pages:
        assert _get(client, f"/pages/{page.pk}/")[0] == 200


def test_reinstating_a_document_keeps_a_page_withdrawn_on_its_own(client, release, editor):
    first, second = release["pages"][0], release["pages"][1]
    withdraw_page(first, by=editor, reason="Home address")
    withdraw_document(release["doc"], by=editor, reason="Whole file under review")
    reinstate_document(release["doc"], by=editor, reason="Cleared")
    assert _get(client, f"/pages/{first.pk}/")[0] == 410
    assert _get(client, f"/pages/{second.pk}/")[0] == 200
    assert not _shows(_get(client, "/tags/receipt/")[1], first)
    assert _shows(_get(client, "/tags/receipt/")[1], second)
