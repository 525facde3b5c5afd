"""Property-based fuzzing of the query parameters of every listing (cursors included): every
answer is a 2xx, 3xx or a clear 4xx, and nothing changes."""

from __future__ import annotations

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from tests.faults._fuzz import FUZZ, TEXT, assert_clear_answer, row_counts
from tests.results._support import pages_of, review

pytestmark = pytest.mark.django_db

URLS = [
    "/tags/receipt/",
    "/tags/nope/",
    "/in-order/tags/receipt/",
    "/in-order/tags/receipt/feed/",
    "/exports/all.csv",
    "/exports/tags/receipt.jsonl",
    "/api/listings/receipt/",
    "/discoveries/",
    "/discoveries/feed/",
    "/tags/",
    "/parties/",
    "/members/",
    "/users/alice/",
    "/",
]
PARAMS = ["after", "min_agreement", "min_reviews", "since", "page", "cursor", "format", "tag"]


@pytest.fixture
def reviewed(release, tags, reviewer):
    for page in pages_of(release["docs"]["ann"])[:3]:
        review(page, "receipt")


@FUZZ
@given(
    url=st.sampled_from(URLS),
    params=st.dictionaries(st.sampled_from(PARAMS), st.one_of(TEXT, st.integers().map(str)), max_size=4),
)
def test_listing_parameters(reviewed, url, params):
    before = row_counts()
    response = Client().get(url, params)
    assert_clear_answer(response, before)
    assert row_counts() == before  # a read never writes
