"""?min_agreement= and ?min_reviews=: exact at the boundaries, 400 for nonsense."""

from __future__ import annotations

import pytest

from tests.results._support import listed_page_ids, pages_of, review


@pytest.fixture
def agreement(release, tags):
    """Pages with 1 of 1, 2 of 3, 1 of 2 and 1 of 3 reviewers agreeing on "receipt"."""
    p = pages_of(release["docs"]["ann"])
    review(p[0], "receipt")
    review(p[1], "receipt"), review(p[1], "receipt"), review(p[1])
    review(p[2], "receipt"), review(p[2])
    review(p[3], "receipt"), review(p[3]), review(p[3])
    return {"1/1": p[0].pk, "2/3": p[1].pk, "1/2": p[2].pk, "1/3": p[3].pk}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2/3", {"1/1", "2/3"}),
        ("0.6667", {"1/1"}),  # just above two thirds
        ("0.6666", {"1/1", "2/3"}),
        ("0.5", {"1/1", "2/3", "1/2"}),
        ("1", {"1/1"}),
        ("0", {"1/1", "2/3", "1/2", "1/3"}),
        ("1/3", {"1/1", "2/3", "1/2", "1/3"}),
    ],
)
def test_min_agreement_boundaries(client, agreement, value, expected):
    for url in ["/tags/receipt/", "/in-order/tags/receipt/"]:
        ids = listed_page_ids(client.get(url, {"min_agreement": value}).content.decode())
        assert set(ids) == {agreement[k] for k in expected}, (url, value)


def test_min_reviews(client, agreement):
    ids = listed_page_ids(client.get("/tags/receipt/", {"min_reviews": "3"}).content.decode())
    assert set(ids) == {agreement["2/3"], agreement["1/3"]}
    both = client.get("/tags/receipt/", {"min_reviews": "2", "min_agreement": "0.5"}).content.decode()
    assert set(listed_page_ids(both)) == {agreement["2/3"], agreement["1/2"]}


@pytest.mark.parametrize(
    "params",
    [
        {"min_agreement": "1.5"},
        {"min_agreement": "-0.1"},
        {"min_agreement": "nan"},
        {"min_agreement": "inf"},
        {"min_agreement": "1/0"},
        {"min_agreement": "abc"},
        {"min_agreement": "0.5\x00"},
        {"min_reviews": "-1"},
        {"min_reviews": "2.5"},
        {"min_reviews": "99999999999999999999999"},
        {"min_reviews": "<script>"},
    ],
)
def test_bad_filter_values_are_400(client, agreement, params):
    for url in [
        "/tags/receipt/",
        "/in-order/tags/receipt/feed/",
        "/exports/all.csv",
        "/api/listings/receipt/",
    ]:
        r = client.get(url, params)
        assert r.status_code == 400, (url, params)
        assert b"<script>" not in r.content


def test_filters_are_kept_in_the_next_link(client, agreement, monkeypatch):
    monkeypatch.setattr("results.selectors.DEFAULT_LIMIT", 1)
    html = client.get("/in-order/tags/receipt/", {"min_agreement": "2/3"}).content.decode()
    assert "min_agreement=2%2F3" in html
