"""The following page (issue 13, "A faster review cycle"): the review screen of page P reserves
the reviewer's next page Q and asks the browser to prefetch Q's image; submitting P lands on Q
while Q is still valid for the reviewer, else on a fresh pick. See assignments.picker.following."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from assignments.models import Assignment
from assignments.picker.following import MIN_FREE_PAGES
from catalogue.models import Page
from lib import keys
from lib.redis_client import get_redis
from moderation.actions.takedown import withdraw_page
from reviews.actions import skip_page, submit_review
from reviews.models import Review
from tests import factories
from tests.assignments._picker_support import build_sets

pytestmark = pytest.mark.django_db

PREFETCH = re.compile(r'<link rel="prefetch" as="image" href="/media/([^"]+)">')


@pytest.fixture
def pages(tags):
    """The main assignment: one document of ten pages, one review each."""
    doc = factories.make_document(pages=10)
    factories.make_assignment(documents=[doc], featured=Assignment.Featured.MAIN, threshold=1)
    ids = list(doc.pages.order_by("number").values_list("pk", flat=True))
    build_sets()
    return ids


def prefetched(client, page_id: int) -> int | None:
    """The page whose image the review screen of ``page_id`` prefetches (None: no link)."""
    response = client.get(f"/review/{page_id}/")
    assert response.status_code == 200
    found = PREFETCH.findall(response.content.decode())
    assert len(found) <= 1
    return Page.objects.get(image=found[0]).pk if found else None


def first_page(client) -> int:
    response = client.get("/review/next/")
    assert response.status_code == 302
    return int(response.url.strip("/").split("/")[-1])


def submit(client, page_id: int, action: str = "submit") -> str:
    response = client.post(f"/review/{page_id}/", {"action": action})
    assert response.status_code == 302
    return response.url


def visitor_id(client) -> str:
    """The visitor the picker holds pages for (lib.visitor's signed cookie)."""
    from lib import visitor

    return visitor.signing.get_cookie_signer(salt=visitor._SALT).unsign(client.cookies[visitor.COOKIE].value)


def holders_of(page_id: int, aid: int) -> set[str]:
    members = [
        m if isinstance(m, str) else m.decode() for m in get_redis().zrange(keys.assignment_holds(aid), 0, -1)
    ]
    return {m.split(":", 1)[1] for m in members if m.split(":", 1)[0] == str(page_id)}


def test_the_screen_prefetches_a_page_reserved_for_the_reviewer_and_the_submit_lands_on_it(
    client, pages, reviewer
):
    client.force_login(reviewer)
    current = first_page(client)
    following = prefetched(client, current)
    assert following in pages and following != current
    aid = Assignment.objects.get().pk
    vid = visitor_id(client)
    assert holders_of(following, aid) == {f"nv{vid}"}  # held by the visitor's next slot
    assert prefetched(client, current) == following  # a reload prefetches the same page again
    assert submit(client, current) == f"/review/{following}/"
    assert holders_of(following, aid) == {f"v{vid}"}  # now the visitor's own page


def test_a_keyboard_run_never_repeats_a_page_and_always_lands_on_the_prefetched_one(
    client, pages, reviewer, django_capture_on_commit_callbacks
):
    client.force_login(reviewer)
    current, seen = first_page(client), []
    while True:
        following = prefetched(client, current)
        if following is None:
            break
        assert following != current and following not in seen
        with django_capture_on_commit_callbacks(execute=True):
            assert submit(client, current, "skip" if len(seen) == 2 else "submit") == f"/review/{following}/"
        seen.append(current)
        current = following
    # Prefetched while at least MIN_FREE_PAGES pages had a free place: not the one on screen
    # (held), nor the reviewed ones (at the threshold); the skipped one still has its place (for
    # others). The last pages are picked on submit as before.
    assert len(seen) == len(pages) - MIN_FREE_PAGES + 1
    while True:
        with django_capture_on_commit_callbacks(execute=True):
            landed = submit(client, current)
        seen.append(current)
        if landed.endswith("/done/"):
            break
        current = int(landed.strip("/").split("/")[-1])
        assert current not in seen
    assert sorted(seen) == sorted(pages)
    assert Review.objects.filter(reviewer=reviewer).count() == len(pages) - 1  # one skipped


def test_a_following_page_reviewed_elsewhere_meanwhile_is_not_served(client, pages, reviewer):
    client.force_login(reviewer)
    current = first_page(client)
    following = prefetched(client, current)
    submit_review(reviewer=reviewer, page_id=following, only_open_pages=False)  # another tab
    landed = submit(client, current)
    assert landed.startswith("/review/") and landed not in {f"/review/{following}/", f"/review/{current}/"}


def test_a_following_page_skipped_elsewhere_meanwhile_is_not_served(client, pages, reviewer):
    client.force_login(reviewer)
    current = first_page(client)
    following = prefetched(client, current)
    skip_page(reviewer=reviewer, page_id=following)
    landed = submit(client, current)
    assert landed.startswith("/review/") and landed not in {f"/review/{following}/", f"/review/{current}/"}


def test_a_following_page_completed_by_another_reviewer_falls_back_to_a_fresh_pick(
    client, pages, reviewer, reviewer2
):
    client.force_login(reviewer)
    current = first_page(client)
    following = prefetched(client, current)
    submit_review(reviewer=reviewer2, page_id=following, only_open_pages=False)  # at the threshold now
    landed = submit(client, current)
    assert landed.startswith("/review/") and landed not in {f"/review/{following}/", f"/review/{current}/"}


def test_a_withdrawn_page_is_never_prefetched_nor_served(
    client, pages, reviewer, django_capture_on_commit_callbacks
):
    editor = factories.make_user(is_staff=True)
    client.force_login(reviewer)
    current = first_page(client)
    following = prefetched(client, current)
    with django_capture_on_commit_callbacks(execute=True):
        withdraw_page(following, by=editor, reason="Home address")
    landed = submit(client, current)
    assert landed not in {f"/review/{following}/", f"/review/{current}/"}
    # From now on no screen prefetches it.
    for page_id in pages:
        if page_id != following:
            assert prefetched(client, page_id) != following


def test_the_following_page_takes_a_place_but_never_one_of_the_last_ones(client, tags, reviewer, reviewer2):
    doc = factories.make_document(pages=MIN_FREE_PAGES + 1)
    factories.make_assignment(documents=[doc], featured=Assignment.Featured.MAIN, threshold=1)
    build_sets()
    client.force_login(reviewer)
    current = first_page(client)
    following = prefetched(client, current)
    assert following not in {None, current}
    # Another reviewer is never given either page the first one holds.
    other = Client()
    other.force_login(reviewer2)
    given = first_page(other)
    assert given not in {current, following}
    # Fewer than MIN_FREE_PAGES pages with a free place now (two held by the first reviewer,
    # one by the second): the second takes no following page, and the last free page still
    # goes to whoever asks next.
    assert prefetched(other, given) is None
    third = Client()
    third.force_login(factories.make_user())
    last = first_page(third)
    assert last not in {current, following, given}


def test_an_anonymous_first_time_visitor_gets_the_prefetched_page_too(pages):
    visitor = Client()
    current = first_page(visitor)
    following = prefetched(visitor, current)  # no cookie came in: the one this screen sets counts
    assert following is not None and following != current
    assert submit(visitor, current) == f"/review/{following}/"  # the submit that made the account
    assert Review.objects.filter(page_id=current).count() == 1
    after = prefetched(visitor, following)  # now a signed-in anon-<n> reviewer
    assert after not in {None, current, following}
    assert submit(visitor, following) == f"/review/{after}/"


def test_a_screen_reached_without_a_prefetch_still_submits_to_a_fresh_page(client, pages, reviewer):
    client.force_login(reviewer)
    current = first_page(client)
    landed = submit(client, current)  # the screen was never shown: no following page reserved
    assert landed.startswith("/review/") and landed != f"/review/{current}/"


def test_the_screen_and_the_submit_stay_within_their_query_bounds(
    client, pages, reviewer, django_assert_max_num_queries
):
    client.force_login(reviewer)
    current = first_page(client)
    client.get(f"/review/{current}/")  # warm the session cache
    # The screen's 4 (tests/reviews/test_review_screen.py) + 2: the following page's check in
    # Postgres and its image name; + 1: prefetched() looks up the image's page.
    with django_assert_max_num_queries(7):
        following = prefetched(client, current)
    # 14 (20 allowed for a submit that picks afresh through the Postgres fallback): the check
    # of the following page replaces the pick's.
    with django_assert_max_num_queries(14):
        assert submit(client, current) == f"/review/{following}/"
