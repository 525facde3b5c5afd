"""Confidence on every public surface: listings, the page, exports and the API carry it;
``?min_confidence=`` filters and ``?order=confidence`` sorts (cursor pagination included); bad
values are a 400 that echoes nothing, never a 500."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from consensus import model
from consensus.models import Reliability
from reviews.models import PageTag
from tests import factories
from tests.consensus._support import review

pytestmark = pytest.mark.django_db(transaction=True)

_PAGE_LINK = re.compile(r'href="/pages/(\d+)/"')


@pytest.fixture
def crowd(tags, settings):
    """Four pages with receipt confidences 0.9, 0.6, 0.6 and 0.1, all public (threshold 1).

    ``expert`` is at 0.9 on receipt; the others are newcomers (0.6)."""
    settings.RESULTS_IN_ORDER_SETTLE_SECONDS = 0
    doc = factories.make_document(pages=4)
    factories.make_assignment(documents=[doc], threshold=1)
    expert, newcomer, other = (factories.make_user(n) for n in ("expert", "newbie", "other"))
    Reliability.objects.create(
        user=expert, tag=tags["receipt"], accuracy=0.9, weight=model.weight(0.9), updated="2026-12-06T00:00Z"
    )
    pages = list(doc.pages.order_by("number"))
    review(reviewer=expert, page_id=pages[0].pk, tag_slugs=["receipt"])  # 0.9
    review(reviewer=newcomer, page_id=pages[1].pk, tag_slugs=["receipt"])  # 0.6
    review(reviewer=other, page_id=pages[2].pk, tag_slugs=["receipt"])  # 0.6
    review(reviewer=newcomer, page_id=pages[3].pk, tag_slugs=["receipt"])
    review(reviewer=expert, page_id=pages[3].pk, tag_slugs=[])  # 1.5 / 9: 1/7
    return pages


def listed(html: str) -> list[int]:
    seen: list[int] = []
    for m in _PAGE_LINK.finditer(html):
        if not seen or seen[-1] != int(m.group(1)):
            seen.append(int(m.group(1)))
    return seen


def test_the_fixture_confidences_are_the_hand_computed_ones(crowd):
    got = [PageTag.objects.get(page=p, tag__slug="receipt").confidence for p in crowd]
    assert got == [0.9, 0.6, 0.6, round(1 / 7, 6)]


def test_listing_orders_by_confidence_across_pages_of_results(client, crowd, monkeypatch):
    monkeypatch.setattr("results.selectors.DEFAULT_LIMIT", 2)
    first = client.get("/tags/receipt/", {"order": "confidence"})
    assert first.status_code == 200
    html = first.content.decode()
    assert listed(html) == [crowd[0].pk, crowd[1].pk]
    assert "90% confident" in html
    next_url = re.search(r'<a href="([^"]+)" rel="next"', html).group(1).replace("&amp;", "&")
    assert "order=confidence" in next_url
    second = client.get(next_url).content.decode()
    assert listed(second) == [crowd[2].pk, crowd[3].pk]  # the tie at 0.6 broken by page id, once each


def test_min_confidence_filters_listings_the_api_and_exports(client, crowd):
    html = client.get("/tags/receipt/", {"min_confidence": "0.6"}).content.decode()
    assert sorted(listed(html)) == [p.pk for p in crowd[:3]]
    body = client.get("/api/listings/receipt/", {"min_confidence": "0.9", "order": "confidence"}).json()
    assert [(r["page"]["id"], r["confidence"]) for r in body["results"]] == [(crowd[0].pk, 0.9)]
    lines = (
        client.get("/exports/tags/receipt.jsonl", {"min_confidence": "0.61"}).getvalue().decode().splitlines()
    )
    rows = [json.loads(line) for line in lines[:-1]]
    assert [(r["page_id"], r["confidence"]) for r in rows] == [(crowd[0].pk, 0.9)]


def test_exports_write_a_confidence_column_next_to_the_counts(client, crowd):
    text = client.get("/exports/all.csv").getvalue().decode()
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames
    assert header[header.index("count") : header.index("confidence") + 1] == [
        "count",
        "reviews",
        "agreement",
        "confidence",
    ]
    by_page = {int(r["page_id"]): r for r in reader}
    assert by_page[crowd[3].pk]["confidence"] == str(round(1 / 7, 6))
    assert by_page[crowd[3].pk]["agreement"] == "0.5"


def test_the_page_shows_confidence_beside_the_counts(client, crowd):
    html = client.get(f"/pages/{crowd[0].pk}/").content.decode()
    assert 'data-confidence="0.9"' in html


@pytest.mark.parametrize("value", ["2", "-0.1", "abc", "nan", "inf", "1e-3", "0.5.5", "1/2", "x" * 40, "."])
@pytest.mark.parametrize("url", ["/tags/receipt/", "/api/listings/receipt/", "/exports/all.csv"])
def test_bad_min_confidence_is_a_400(client, crowd, url, value):
    response = client.get(url, {"min_confidence": value})
    assert response.status_code == 400
    if value not in ("2", "."):
        assert value.encode() not in response.content


@pytest.mark.parametrize("url", ["/tags/receipt/", "/api/listings/receipt/"])
def test_bad_order_is_a_400(client, crowd, url):
    assert client.get(url, {"order": "confidences"}).status_code == 400
