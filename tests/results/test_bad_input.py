"""Bad input anywhere in the results surfaces: a clear 4xx, never a 500, nothing echoed raw."""

from __future__ import annotations

import pytest

from tests.results._support import pages_of, review

URLS = [
    "/tags/receipt/",
    "/in-order/tags/receipt/",
    "/in-order/tags/receipt/feed/",
    "/exports/all.csv",
    "/exports/tags/receipt.jsonl",
    "/api/listings/receipt/",
]


@pytest.fixture
def some(release, tags):
    review(pages_of(release["docs"]["ann"])[0], "receipt")


BAD_PARAMS = [
    {"after": "\x00"},
    {"since": "\x00\x00"},
    {"min_reviews": "9" * 400},
    {"min_agreement": "<script>alert(1)</script>"},
    {"after": "<script>alert(1)</script>"},
    {"since": "<img src=x onerror=alert(1)>"},
]


def _uses(url: str, params: dict) -> bool:
    """Exports take ``since``, listings ``after``; feeds take neither (ignored, like any unknown)."""
    if "since" in params:
        return url.startswith("/exports/")
    if "after" in params:
        return not url.startswith("/exports/") and "/feed/" not in url
    return True


@pytest.mark.parametrize(("url", "params"), [(u, p) for u in URLS for p in BAD_PARAMS if _uses(u, p)])
def test_bad_query_strings_are_4xx_and_not_echoed(client, some, url, params):
    r = client.get(url, params)
    assert 400 <= r.status_code < 500, (url, params, r.status_code)
    assert b"<script>alert" not in r.content and b"<img src=x" not in r.content


@pytest.mark.parametrize(
    "url",
    [
        "/documents/99999999999999999999999999/tags/receipt/",
        "/in-order/documents/99999999999999999999999999/tags/receipt/",
        "/documents/9223372036854775808/",
        "/tags/%3Cscript%3E/",
        "/users/%3Cscript%3Ealert(1)%3C%2Fscript%3E/tags/receipt/",
        "/in-order/users/a%00b/tags/receipt/",
        "/parties/a%00b/tags/receipt/",
        "/api/listings/receipt/?user=a%00b",
        "/api/listings/receipt/?document=-1",
    ],
)
def test_bad_paths_are_4xx(client, some, url):
    r = client.get(url)
    assert 400 <= r.status_code < 500, (url, r.status_code)
    assert b"<script>alert" not in r.content


def test_listings_refuse_writes(client, some):
    assert client.post("/tags/receipt/").status_code == 405
    assert client.post("/api/tags/").status_code in (403, 405)
