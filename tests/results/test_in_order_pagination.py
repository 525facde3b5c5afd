"""/in-order/ listings: ordered by first-tagged time, keyset cursors, and a reader who pages to
the end, waits while new tags arrive and continues misses nothing and reads nothing twice."""

from __future__ import annotations

import pytest

from reviews.models import PageTag
from tests import factories
from tests.results._support import listed_page_ids, next_link, pages_of, read_to_end, review


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr("results.selectors.DEFAULT_LIMIT", 3)


def test_it_orders_by_first_tagged_time_not_by_count(client, release, tags):
    p = pages_of(release["docs"]["ann"])
    review(p[2], "receipt")
    review(p[0], "receipt")
    for _ in range(3):
        review(p[0], "receipt")  # more tags later do not move it
    review(p[1], "receipt")
    ids = listed_page_ids(client.get("/in-order/tags/receipt/").content.decode())
    assert ids == [p[2].pk, p[0].pk, p[1].pk]


def test_it_breaks_ties_of_first_tagged_time_by_page_id(client, release, tags, small_pages):
    p = pages_of(release["docs"]["ann"]) + pages_of(release["docs"]["bob"])
    for page in p:
        review(page, "receipt")
    same = PageTag.objects.get(page=p[0]).first_tagged_at
    for page in p:
        PageTag.objects.filter(page=page).update(first_tagged_at=same)  # test setup, not app code
    ids, _ = read_to_end(client, "/in-order/tags/receipt/")
    assert ids == sorted(pg.pk for pg in p)


def test_it_links_the_next_page_with_rel_next(client, release, tags, small_pages):
    for page in pages_of(release["docs"]["ann"]):
        review(page, "receipt")
    html = client.get("/in-order/tags/receipt/").content.decode()
    assert '<link rel="next" href="/in-order/tags/receipt/?after=' in html
    assert next_link(html).startswith("/in-order/tags/receipt/?after=")


def _new_tags_arrive(release, already_tagged):
    """More reviews: new pages get the tag, tagged pages get more of it, others get other tags."""
    fresh = pages_of(release["docs"]["cat"]) + pages_of(release["docs"]["orphan"])
    for page in fresh[:5]:
        review(page, "receipt")
    for page in already_tagged[:3]:
        review(page, "receipt")
        review(page, "claim-form")
    review(fresh[6], "claim-form")


@pytest.mark.parametrize(
    ("url", "scope"),
    [("/in-order/tags/receipt/", None), ("/in-order/parties/{red}/tags/receipt/", "red")],
    ids=["tag", "party+tag"],
)
def test_paging_to_the_end_then_continuing_misses_and_repeats_nothing(
    client, release, tags, small_pages, url, scope
):
    red = release["parties"]["red"]
    url = url.format(red=red.slug)
    first = pages_of(release["docs"]["ann"]) + pages_of(release["docs"]["bob"])[:3]
    for page in first:
        review(page, "receipt")
    review(pages_of(release["docs"]["cat"])[0], "receipt")  # other party
    seen, resume = read_to_end(client, url)
    assert resume is not None

    _new_tags_arrive(release, first)
    # Red gets more too, interleaved with blue's.
    review(pages_of(release["docs"]["bob"])[3], "receipt")
    more, resume = read_to_end(client, resume)
    seen += more

    assert len(seen) == len(set(seen)), "a page was read twice"
    final = PageTag.objects.filter(tag=tags["receipt"])
    if scope:
        final = final.filter(page__document__member__party=red)
    assert set(seen) == set(final.values_list("page_id", flat=True))

    # Nothing new: resuming again reads nothing and keeps offering the same place.
    again, resume_again = read_to_end(client, resume)
    assert again == [] and resume_again == resume


def test_user_listing_continues_without_misses_or_repeats(client, release, tags, small_pages):
    alice = factories.make_user("alice-io")
    p = pages_of(release["docs"]["ann"]) + pages_of(release["docs"]["bob"])
    for page in p[:4]:
        review(page, "receipt", user=alice)
    seen, resume = read_to_end(client, "/in-order/users/alice-io/tags/receipt/")
    for page in p[4:]:
        review(page, "receipt", user=alice)
    more, _ = read_to_end(client, resume)
    assert seen + more == [page.pk for page in p]


def test_tags_younger_than_the_settle_delay_wait(client, settings, release, tags):
    """A review is stamped a moment before it commits: an in-order reader must never pass a
    position an in-flight review can still land at, so fresh tags wait a few seconds."""
    settings.RESULTS_IN_ORDER_SETTLE_SECONDS = 60
    page = pages_of(release["docs"]["ann"])[0]
    review(page, "receipt")
    assert listed_page_ids(client.get("/in-order/tags/receipt/").content.decode()) == []
    assert listed_page_ids(client.get("/tags/receipt/").content.decode()) == [page.pk]
    settings.RESULTS_IN_ORDER_SETTLE_SECONDS = 0
    assert listed_page_ids(client.get("/in-order/tags/receipt/").content.decode()) == [page.pk]


def test_most_tagged_listings_paginate_with_a_cursor_too(client, release, tags, small_pages):
    p = pages_of(release["docs"]["ann"]) + pages_of(release["docs"]["bob"])
    for i, page in enumerate(p):
        for _ in range(1 + i % 3):
            review(page, "receipt")
    ids, resume = read_to_end(client, "/tags/receipt/")
    assert resume is None  # only in-order listings promise a place to resume from
    expected = sorted(p, key=lambda pg: (-(1 + p.index(pg) % 3), pg.pk))
    assert ids == [pg.pk for pg in expected]
