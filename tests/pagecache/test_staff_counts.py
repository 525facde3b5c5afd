"""Hits, misses and bumps are counted in memory (no write per request) and shown on
/staff/cache/ beside the picker's counts."""

from __future__ import annotations

import re

import pytest

from pagecache import stats
from reviews.actions import create_discovery
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def _count(html: str, name: str) -> int:
    row = re.search(rf'<tr data-name="{name}">.*?</tr>', html, re.S).group(0)
    return int(re.findall(r"<td>([\d,]+)</td>", row)[0].replace(",", ""))


def test_hits_misses_and_bumps_are_counted_and_shown(client, editor, tags, django_assert_num_queries):
    doc = factories.make_document(pages=1)
    client.get("/tags/")
    with django_assert_num_queries(0):  # counting writes nothing
        for _ in range(3):
            client.get("/tags/")
    create_discovery(page_id=doc.pages.first().pk, title="Moat")
    pending = stats.pending()
    assert pending[stats.HIT] == 3 and pending[stats.MISS] == 1 and pending[stats.BUMP] >= 2
    client.force_login(editor)
    html = client.get("/staff/cache/").content.decode()
    assert 'id="picker-counts"' in html and 'id="page-cache-counts"' in html
    assert _count(html, "hit") == 3 and _count(html, "miss") == 1 and _count(html, "bump") >= 2
    assert stats.pending() == {}
