"""Leaderboards read right: one rank per row, ours, with ties as "=2" (the list numbers nothing
itself, or rows read "2. =1. name"), on the party, assignment and reviewers pages alike."""

import re

import pytest

from tests import factories
from tests.contributors._support import build, review

pytestmark = pytest.mark.django_db


def _rows(body: str) -> list[tuple[str, str]]:
    board = re.search(r'<ol class="leaderboard">(.*?)</ol>', body, re.S)
    assert board, "no leaderboard"
    return re.findall(
        r"<li[^>]*><span class=\"leaderboard__rank\" data-rank>([^<]*)</span>.*?>([^<>]+)</a>", board.group(1)
    )


def test_each_row_has_one_rank_and_ties_read_equals(client, tags):
    party = factories.make_party(name="Purple")
    doc = factories.make_document(member=factories.make_member(party=party), pages=3)
    assignment = factories.make_assignment(parties=[party])
    build()
    pages = list(doc.pages.order_by("number"))
    for name, n in (("zed", 3), ("amy", 2), ("bea", 2), ("cat", 1)):
        user = factories.make_user(name)
        for page in pages[:n]:
            review(user, page, assignment=assignment)
    expected = [("1", "zed"), ("=2", "amy"), ("=2", "bea"), ("4", "cat")]
    for url in (f"/parties/{party.slug}/", assignment.get_absolute_url()):
        body = client.get(url).content.decode()
        assert _rows(body) == expected, url
        # The list itself draws no numbers: the rank above is the only one a reader sees.
        assert '<ol class="plain-list leaderboard">' not in body
