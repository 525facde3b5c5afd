"""Atom feeds of in-order listings and of discoveries: they parse as Atom and link back."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from reviews.models import Discovery
from tests import factories
from tests.results._support import pages_of, review

ATOM = "{http://www.w3.org/2005/Atom}"


def _parse(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{ATOM}feed"
    return root


def _links(element) -> dict[str, str]:
    return {link.get("rel"): link.get("href") for link in element.findall(f"{ATOM}link")}


def test_a_tag_feed_is_atom_newest_first_and_links_back(client, release, tags):
    p = pages_of(release["docs"]["ann"])
    for page in p[:3]:
        review(page, "receipt")
    root = _parse(client.get("/in-order/tags/receipt/feed/"))
    assert _links(root)["alternate"] == "http://testserver/in-order/tags/receipt/"
    assert _links(root)["self"] == "http://testserver/in-order/tags/receipt/feed/"
    entries = root.findall(f"{ATOM}entry")
    assert [_links(e)["alternate"] for e in entries] == [
        f"http://testserver/pages/{pg.pk}/" for pg in reversed(p[:3])
    ]
    assert all(e.find(f"{ATOM}id").text.startswith("urn:crowd-review:page:") for e in entries)


def test_combination_feeds_narrow_and_keep_filters(client, release, tags):
    red = release["parties"]["red"]
    ann_page = pages_of(release["docs"]["ann"])[0]
    review(ann_page, "receipt")
    review(pages_of(release["docs"]["cat"])[0], "receipt")
    root = _parse(client.get(f"/in-order/parties/{red.slug}/tags/receipt/feed/", {"min_reviews": "1"}))
    assert [_links(e)["alternate"] for e in root.findall(f"{ATOM}entry")] == [
        f"http://testserver/pages/{ann_page.pk}/"
    ]
    assert _links(root)["alternate"].endswith(f"/in-order/parties/{red.slug}/tags/receipt/?min_reviews=1")
    alice = factories.make_user("alice-f")
    review(ann_page, "receipt", user=alice)
    assert len(_parse(client.get("/in-order/users/alice-f/tags/receipt/feed/")).findall(f"{ATOM}entry")) == 1


def test_feeds_hide_pages_below_threshold(client, release, tags):
    factories.make_assignment(documents=[release["docs"]["ann"]], threshold=2)
    review(pages_of(release["docs"]["ann"])[0], "investigate-this")
    assert _parse(client.get("/in-order/tags/investigate-this/feed/")).findall(f"{ATOM}entry") == []


def test_every_listing_links_its_feed(client, release, tags):
    red = release["parties"]["red"]
    review(pages_of(release["docs"]["ann"])[0], "receipt")
    for url, feed in [
        ("/tags/receipt/", "/in-order/tags/receipt/feed/"),
        ("/in-order/tags/receipt/", "/in-order/tags/receipt/feed/"),
        (f"/parties/{red.slug}/tags/receipt/", f"/in-order/parties/{red.slug}/tags/receipt/feed/"),
    ]:
        html = client.get(url).content.decode()
        assert '<link rel="alternate" type="application/atom+xml" title="Pages tagged Receipt' in html
        assert f'href="{feed}"' in html
        assert client.get(feed).status_code == 200


def test_feeds_of_unknown_things_are_404(client, tags):
    assert client.get("/in-order/tags/nope/feed/").status_code == 404
    assert client.get("/in-order/members/nope/tags/receipt/feed/").status_code == 404


def test_discoveries_page_and_feed(client, release, tags, editor):
    p = pages_of(release["docs"]["ann"])
    alice = factories.make_user("finder")
    older = Discovery.objects.create(page=p[0], title="Moat cleaning", note="<b>odd</b>", credited=alice)
    newer = Discovery.objects.create(page=p[1], title="Duck house", created_by=editor)
    html = client.get("/discoveries/").content.decode()
    assert html.index("Duck house") < html.index("Moat cleaning")
    assert "&lt;b&gt;odd&lt;/b&gt;" in html
    assert (
        '<link rel="alternate" type="application/atom+xml" title="Discoveries (Atom)" href="/discoveries/feed/">'
        in html
    )
    root = _parse(client.get("/discoveries/feed/"))
    assert _links(root)["alternate"] == "http://testserver/discoveries/"
    ids = [e.find(f"{ATOM}id").text for e in root.findall(f"{ATOM}entry")]
    assert ids == [f"urn:crowd-review:discovery:{newer.pk}", f"urn:crowd-review:discovery:{older.pk}"]
