"""``/review/next/`` never leads to a dead end: when every page the reviewer could review is
fully reserved by others, it goes to the featured assignment that most needs help (or says
truthfully that the pages are being looked at right now); reloading holds one page; the done
page still means done."""

from __future__ import annotations

import pytest

from assignments.models import Assignment
from assignments.picker import pick_next_page
from assignments.selectors import CURRENT_ASSIGNMENT_COOKIE
from denorm import operations, registry
from lib import keys
from lib.redis_client import get_redis
from tests import factories
from tests.assignments._picker_support import build_sets

pytestmark = pytest.mark.django_db


def make_assignment(pages: int, **extra):
    doc = factories.make_document(pages=pages)
    return factories.make_assignment(documents=[doc], **extra), list(doc.pages.values_list("pk", flat=True))


def _counters_current():
    # assignments_needing_reviews ranks by the progress counters: bring them up to date.
    operations.rebuild_entries(registry.select(["assignment-page-count", "assignment-progress"]))


def test_every_page_held_by_others_sends_the_reviewer_to_the_featured_assignment_needing_help(
    client, reviewer, reviewer2, settings
):
    settings.PICKER_RESERVATION_SECONDS = 60
    busy, busy_ids = make_assignment(1, threshold=1, featured=Assignment.Featured.MAIN)
    make_assignment(9)  # not featured: has more pages left, but the featured one comes first
    helped, helped_ids = make_assignment(3, featured=Assignment.Featured.ALTERNATIVE)
    build_sets()
    _counters_current()
    assert pick_next_page(assignment=busy, reviewer=reviewer2).page_id == busy_ids[0]
    client.force_login(reviewer)
    response = client.get("/review/next/")
    assert response.status_code == 302
    assert response["Location"] in {f"/review/{i}/" for i in helped_ids}
    assert response.cookies[CURRENT_ASSIGNMENT_COOKIE].value == helped.slug
    message = str(list(response.wsgi_request._messages)[0])
    assert busy.title in message and helped.title in message and "right now" in message


def test_with_no_other_assignment_to_help_it_says_so_honestly(client, reviewer, reviewer2, settings):
    settings.PICKER_RESERVATION_SECONDS = 60
    busy, busy_ids = make_assignment(1, threshold=1, featured=Assignment.Featured.MAIN)
    build_sets()
    _counters_current()
    pick_next_page(assignment=busy, reviewer=reviewer2)
    client.force_login(reviewer)
    response = client.get("/review/next/")
    assert response.status_code == 302 and response["Location"] == f"/assignments/{busy.slug}/busy/"
    page = client.get(response["Location"])
    assert page.status_code == 200
    body = page.content.decode()
    assert "All remaining pages are being looked at right now" in body and "Try again" in body
    assert "no-cache" in page["Cache-Control"] or "no-store" in page["Cache-Control"]


def test_the_done_page_still_means_done(client, reviewer, settings):
    settings.PICKER_RESERVATION_SECONDS = 60
    main, ids = make_assignment(1, threshold=1, featured=Assignment.Featured.MAIN)
    make_assignment(3, featured=Assignment.Featured.ALTERNATIVE)
    from reviews.actions import submit_review

    submit_review(reviewer=factories.make_user(), page_id=ids[0])
    build_sets()
    _counters_current()
    client.force_login(reviewer)
    assert client.get("/review/next/")["Location"] == f"/assignments/{main.slug}/done/"


def test_reloading_holds_one_page(client, reviewer, settings):
    settings.PICKER_RESERVATION_SECONDS = 60
    main, ids = make_assignment(60, threshold=2, featured=Assignment.Featured.MAIN)
    build_sets()
    client.force_login(reviewer)
    locations = {client.get("/review/next/")["Location"] for _ in range(15)}
    assert len(locations) == 1
    assert get_redis().zcard(keys.assignment_holds(main.pk)) == 1


def test_an_anonymous_browser_reloading_holds_one_page_too(client, settings):
    settings.PICKER_RESERVATION_SECONDS = 60
    main, ids = make_assignment(60, threshold=2, featured=Assignment.Featured.MAIN)
    build_sets()
    client.cookies[settings.CSRF_COOKIE_NAME] = "a" * 32
    locations = {client.get("/review/next/")["Location"] for _ in range(15)}
    assert len(locations) == 1
    members = get_redis().zrange(keys.assignment_holds(main.pk), 0, -1)
    assert len(members) == 1 and "a" * 32 not in members[0]  # a digest, never the cookie


def test_the_busy_page_says_the_longest_wait_and_asks_again_by_itself(client, reviewer, reviewer2, settings):
    """Issue 21: busy is honest and short: the soonest reservation expiry bounds the wait, the page
    refreshes itself to /review/next/ (no script needed) and says so."""
    settings.PICKER_RESERVATION_SECONDS = 45
    busy, busy_ids = make_assignment(1, threshold=1, featured=Assignment.Featured.MAIN)
    build_sets()
    assert pick_next_page(assignment=busy, reviewer=reviewer2).page_id == busy_ids[0]
    client.force_login(reviewer)
    response = client.get("/review/next/")
    assert response["Location"] == f"/assignments/{busy.slug}/busy/"
    response = client.get(response["Location"])
    html = response.content.decode()
    assert response.status_code == 200
    assert "within 45 seconds at most" in html or "within 44 seconds at most" in html
    assert '<meta http-equiv="refresh" content="20;url=/review/next/">' in html  # capped
    assert response["Retry-After"] == "20"


def test_a_drafts_busy_page_is_a_404_for_the_public(client):
    draft, _ = make_assignment(1, status=Assignment.Status.DRAFT, active=False)
    assert client.get(f"/assignments/{draft.slug}/busy/").status_code == 404


def test_anonymous_next_requests_are_rate_limited_per_address(client, settings):
    """Each anonymous /review/next/ may reserve a page: RATE_LIMIT_NEXT_PER_ADDRESS_PER_MINUTE."""
    settings.RATE_LIMIT_NEXT_PER_ADDRESS_PER_MINUTE = 3
    make_assignment(20, featured=Assignment.Featured.MAIN)
    build_sets()
    answers = [client.get("/review/next/", REMOTE_ADDR="198.51.100.20").status_code for _ in range(4)]
    assert answers == [302, 302, 302, 429]
    assert client.get("/review/next/", REMOTE_ADDR="198.51.100.21").status_code == 302  # another address
