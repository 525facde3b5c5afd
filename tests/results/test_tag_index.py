"""/tags/ shows each tag's page count: publicly visible pages for the public, all for staff."""

from __future__ import annotations

import re

from tests import factories
from tests.results._support import pages_of, review


def _counts(html: str) -> dict[str, str]:
    return dict(
        re.findall(r'<a href="/tags/([\w-]+)/">[^<]+</a> <span class="count">([\d,]+) pages?</span>', html)
    )


def test_it_counts_visible_pages_per_tag(client, editor, release, tags, django_assert_max_num_queries):
    factories.make_assignment(parties=list(release["parties"].values()), threshold=2)
    p = pages_of(release["docs"]["ann"])
    for page in p[:3]:
        review(page, "receipt")
    review(p[0], "claim-form")  # p[0] now at the threshold, with both tags
    with django_assert_max_num_queries(6):
        html = client.get("/tags/").content.decode()
    counts = _counts(html)
    assert counts["receipt"] == "1" and counts["claim-form"] == "1" and counts["hand-written"] == "0"
    assert "lowest threshold of the open assignments it is in" in html
    client.force_login(editor)
    counts = _counts(client.get("/tags/").content.decode())
    assert counts["receipt"] == "3" and counts["claim-form"] == "1"
