"""Public /in-order/ listings follow the time a page+tag became publicly visible (``listed_at``).

With a public threshold T > 1 a page tagged early but reviewed a T-th time later becomes visible
late; ordered by ``first_tagged_at`` it would land behind a reader who already paged past that
point, and they would never see it. Ordered by ``listed_at`` it lands at the end.
"""

from __future__ import annotations

import pytest
from django.db import connection

from assignments.actions import set_assignment_threshold
from denorm.registry import get
from reviews.models import PageTag
from tests import factories
from tests.results._support import listed_page_ids, pages_of, read_to_end, review


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr("results.selectors.DEFAULT_LIMIT", 2)


def _bring_to(page, threshold: int, *tags: str) -> None:
    """More reviews of ``page`` until it has ``threshold`` of them (the first carries ``tags``)."""
    page.refresh_from_db()
    for i in range(page.review_count, threshold):
        review(page, *(tags if i == 0 else ()))


@pytest.mark.parametrize("threshold", [2, 3])
@pytest.mark.parametrize(
    "url",
    ["/in-order/tags/receipt/", "/in-order/parties/{red}/tags/receipt/"],
    ids=["tag", "party+tag"],
)
def test_pages_reaching_the_threshold_late_come_after_the_reader_not_behind(
    client, release, tags, small_pages, threshold, url
):
    """Page to the end as the public, bring older-tagged pages over the threshold, continue:
    the union is every visible page, nothing read twice."""
    factories.make_assignment(parties=list(release["parties"].values()), threshold=threshold)
    url = url.format(red=release["parties"]["red"].slug)
    red = pages_of(release["docs"]["ann"]) + pages_of(release["docs"]["bob"])
    early, late = red[:4], red[4:]
    # Tagged first, but only one review each: not public yet.
    for page in early:
        review(page, "receipt")
    # Tagged later and brought over the threshold at once: public.
    for page in late[:3]:
        _bring_to(page, threshold, "receipt")
    seen, resume = read_to_end(client, url)
    assert seen == [p.pk for p in late[:3]]
    assert resume is not None

    # The early pages reach the threshold now; a visible page gains the tag; a new page arrives.
    for page in early[:3]:
        _bring_to(page, threshold)
    review(late[3], "claim-form")
    _bring_to(late[3], threshold)
    review(late[3], "receipt")  # a page already at the threshold gets the tag
    more, resume = read_to_end(client, resume)
    seen += more

    assert len(seen) == len(set(seen)), "a page was read twice"
    visible = set(
        PageTag.objects.filter(tag=tags["receipt"], page__review_count__gte=threshold).values_list(
            "page_id", flat=True
        )
    )
    assert set(seen) == visible == {p.pk for p in early[:3] + late}
    # And they came in the order they became visible.
    assert more == [p.pk for p in early[:3]] + [late[3].pk]


def test_staff_listing_keeps_first_tagged_order(client, editor, release, tags):
    """Staff see every page, in the order it first got the tag (stated on the page)."""
    factories.make_assignment(parties=list(release["parties"].values()), threshold=2)
    p = pages_of(release["docs"]["ann"])
    review(p[0], "receipt")
    review(p[1], "receipt")
    _bring_to(p[1], 2)
    _bring_to(p[0], 2)
    assert listed_page_ids(client.get("/in-order/tags/receipt/").content.decode()) == [p[1].pk, p[0].pk]
    client.force_login(editor)
    assert listed_page_ids(client.get("/in-order/tags/receipt/").content.decode()) == [p[0].pk, p[1].pk]


def test_it_stamps_listed_at_in_the_review_transaction(release, tags):
    factories.make_assignment(parties=list(release["parties"].values()), threshold=2)
    page = pages_of(release["docs"]["ann"])[0]
    review(page, "receipt")
    assert PageTag.objects.get(page=page).listed_at is None
    review(page, "claim-form")
    rows = {pt.tag.slug: pt for pt in PageTag.objects.filter(page=page).select_related("tag")}
    second = page.reviews.order_by("created").last().created
    assert rows["receipt"].listed_at == second == rows["claim-form"].listed_at
    review(page, "hand-written")  # already public: the new tag is listed from its own review
    third = page.reviews.order_by("created").last().created
    assert PageTag.objects.get(page=page, tag=tags["hand-written"]).listed_at == third
    assert get("page-tag-listed-at").check().ok


def test_check_finds_corrupted_listed_at_and_rebuild_repairs_it(release, tags):
    factories.make_assignment(parties=list(release["parties"].values()), threshold=2)
    p = pages_of(release["docs"]["ann"])
    for page in p[:3]:
        _bring_to(page, 2, "receipt")
    review(p[3], "receipt")  # below the threshold: not listed
    entry = get("page-tag-listed-at")
    assert entry.check().ok
    with connection.cursor() as c:  # corruption from outside the app
        c.execute("UPDATE reviews_pagetag SET listed_at = NULL WHERE page_id = %s", [p[0].pk])
        c.execute(
            "UPDATE reviews_pagetag SET listed_at = now() - interval '9 days' WHERE page_id = %s", [p[1].pk]
        )
        c.execute("UPDATE reviews_pagetag SET listed_at = now() WHERE page_id = %s", [p[3].pk])
    drift = entry.check()
    assert (drift.missing, drift.wrong, drift.extra) == (1, 1, 1)
    assert entry.repair() is not None and entry.check().ok  # the periodic repair: drifted pages only
    with connection.cursor() as c:
        c.execute("UPDATE reviews_pagetag SET listed_at = NULL")
    assert entry.check().missing == 3
    entry.rebuild()
    assert entry.check().ok


@pytest.mark.django_db(transaction=True)
def test_deleting_a_review_and_changing_the_threshold_relist_pages(release, tags):
    """A deleted review re-derives its page; an editor's threshold change re-derives every row
    (both after commit: real commits here)."""
    assignment = factories.make_assignment(parties=list(release["parties"].values()), threshold=2)
    p = pages_of(release["docs"]["ann"])
    _bring_to(p[0], 2, "receipt")
    review(p[1], "receipt")
    p[0].reviews.order_by("created").last().delete()
    assert PageTag.objects.get(page=p[0]).listed_at is None  # back below the threshold
    set_assignment_threshold(assignment_id=assignment.pk, threshold=1)
    assert PageTag.objects.get(page=p[0]).listed_at is not None
    assert PageTag.objects.get(page=p[1]).listed_at == PageTag.objects.get(page=p[1]).first_tagged_at
    set_assignment_threshold(assignment_id=assignment.pk, threshold=3)
    assert not PageTag.objects.filter(listed_at__isnull=False).exists()
    assert get("page-tag-listed-at").check().ok
