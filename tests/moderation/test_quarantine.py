"""Quarantine: from the commit on, a quarantined reviewer's reviews count for nothing anywhere
(thresholds and the picker, page tags, listings, leaderboards, the 48-hour table, assignment
progress, discoveries' credit, public profiles), they keep reviewing without noticing, and a
release makes everything count again. Nothing is deleted, and no copy drifts."""

from __future__ import annotations

import pytest
from django.test import Client

from assignments import picker
from assignments.models import Assignment
from catalogue.models import Page
from contributors import leaderboards
from contributors import selectors as credit
from denorm import operations, registry
from lib import keys
from lib.redis_client import get_redis
from moderation.actions.quarantine import (
    QuarantineError,
    quarantine_reviewer,
    quarantine_reviewers,
    release_reviewer,
)
from moderation.models import Quarantine
from reviews.actions import create_discovery
from reviews.models import PageTag, Review, Reviewer
from reviews.selectors import reviewer_status
from tests import factories
from tests.contributors._support import board, committed, review
from tests.denorm_support import drift, maintained_on_commit

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(tags, editor):
    party = factories.make_party()
    member = factories.make_member(party=party)
    doc = factories.make_document(member=member, pages=3)
    assignment = factories.make_assignment(members=[member], threshold=2)
    operations.rebuild_entries(registry.all_entries())
    users = {name: factories.make_user(name) for name in ("honest", "mallory", "carol", "dave")}
    return {
        "party": party,
        "member": member,
        "pages": list(doc.pages.order_by("number")),
        "assignment": assignment,
        "editor": editor,
        **users,
    }


def members(key: str) -> set[int]:
    return {int(m) for m in get_redis().smembers(key)}


def quarantine(world, *users, reason="bought accounts"):
    return committed(quarantine_reviewers, list(users), by=world["editor"], reason=reason)


def release(world, user, reason="cleared"):
    return committed(release_reviewer, user, by=world["editor"], reason=reason)


def no_drift():
    assert drift(maintained_on_commit()) == {}


def test_a_page_pushed_over_the_threshold_by_a_quarantined_reviewer_returns_to_the_picker(world):
    page, a = world["pages"][0], world["assignment"]
    for other in world["pages"][1:]:  # only the first page is left to do
        review(world["honest"], other, assignment=a)
        review(world["carol"], other, assignment=a)
    review(world["honest"], page, assignment=a)
    review(world["mallory"], page, assignment=a)
    a.refresh_from_db()
    assert (a.completed_count, a.review_count) == (3, 6)
    assert page.pk in members(keys.assignment_done(a.pk))
    assert picker.pick_next_page(assignment=a, reviewer=world["carol"]).page_id is None

    quarantine(world, world["mallory"])

    page.refresh_from_db()
    a.refresh_from_db()
    assert page.review_count == 1
    assert (a.completed_count, a.review_count) == (2, 5)
    assert page.pk in members(keys.assignment_todo(a.pk))
    assert page.pk not in members(keys.assignment_done(a.pk))
    assert picker.pick_next_page(assignment=a, reviewer=world["carol"]).page_id == page.pk
    assert Review.objects.filter(reviewer=world["mallory"]).count() == 1  # nothing deleted
    no_drift()

    release(world, world["mallory"])

    page.refresh_from_db()
    a.refresh_from_db()
    assert page.review_count == 2 and (a.completed_count, a.review_count) == (3, 6)
    assert page.pk not in members(keys.assignment_todo(a.pk))
    assert picker.pick_next_page(assignment=a, reviewer=world["dave"]).page_id is None
    no_drift()


def test_page_tags_and_public_listings_leave_the_quarantined_reviewer_out(world, client, settings):
    settings.RESULTS_IN_ORDER_SETTLE_SECONDS = 0  # the in-order feed at once
    page, a = world["pages"][0], world["assignment"]
    review(world["honest"], page, "receipt", assignment=a)
    review(world["mallory"], page, "receipt", "investigate-this", assignment=a)
    counts = dict(PageTag.objects.filter(page=page).values_list("tag__slug", "count"))
    assert counts == {"receipt": 2, "investigate-this": 1}
    assert f'href="/pages/{page.pk}/"' in client.get("/tags/investigate-this/").content.decode()
    shown = public_surfaces_show(client, page)
    assert shown == dict.fromkeys(("export", "api", "feed", "user-listing"), True)

    quarantine(world, world["mallory"])

    counts = dict(PageTag.objects.filter(page=page).values_list("tag__slug", "count"))
    assert counts == {"receipt": 1}
    assert PageTag.objects.get(page=page).listed_at is None  # below the public threshold again
    for url in ("/tags/investigate-this/", "/tags/receipt/", "/in-order/tags/receipt/"):
        assert f'href="/pages/{page.pk}/"' not in client.get(url).content.decode(), url
    assert public_surfaces_show(client, page) == {}
    # The page itself shows no tags to the public any more (one counted review of two needed).
    assert "investigate" not in client.get(f"/pages/{page.pk}/").content.decode().lower()
    no_drift()

    release(world, world["mallory"])

    counts = dict(PageTag.objects.filter(page=page).values_list("tag__slug", "count"))
    assert counts == {"receipt": 2, "investigate-this": 1}
    assert f'href="/pages/{page.pk}/"' in client.get("/tags/investigate-this/").content.decode()
    assert public_surfaces_show(client, page) == shown
    no_drift()


def public_surfaces_show(client, page) -> dict[str, bool]:
    """Which public surfaces show the page with mallory's "investigate this" (those that do)."""
    export = b"".join(client.get("/exports/tags/investigate-this.jsonl").streaming_content).decode()
    api = [row["page"]["id"] for row in client.get("/api/listings/investigate-this/").json()["results"]]
    feed = client.get("/in-order/tags/investigate-this/feed/").content.decode()
    user = client.get("/users/mallory/tags/investigate-this/").content.decode()
    found = {
        "export": f'"page_id": {page.pk},' in export,
        "api": page.pk in api,
        "feed": f"/pages/{page.pk}/" in feed,
        "user-listing": f'href="/pages/{page.pk}/"' in user,
    }
    return {k: v for k, v in found.items() if v}


def test_leaderboards_the_48_hour_table_and_reviewer_counts(world):
    a, m, p = world["assignment"], world["member"], world["party"]
    for page in world["pages"]:
        review(world["mallory"], page, assignment=a)
    review(world["honest"], world["pages"][0], assignment=a)
    assert board(leaderboards.ALL) == {world["mallory"].pk: 3, world["honest"].pk: 1}

    quarantine(world, world["mallory"])

    for kind, owner in (
        (leaderboards.ALL, None),
        (leaderboards.ASSIGNMENT, a.pk),
        (leaderboards.MEMBER, m.pk),
    ):
        assert board(kind, owner) == {world["honest"].pk: 1}, kind
    assert board(leaderboards.PARTY, p.pk) == {world["honest"].pk: 1}
    recent = credit.recent_table()
    assert [row.username for row in recent.rows] == ["honest"]
    assert [row.username for row in credit.board_table(leaderboards.OVERALL).rows] == ["honest"]
    assert Reviewer.objects.get(user=world["mallory"]).review_count == 0
    no_drift()

    release(world, world["mallory"])

    assert board(leaderboards.ALL) == {world["mallory"].pk: 3, world["honest"].pk: 1}
    assert [row.username for row in credit.recent_table().rows] == ["mallory", "honest"]
    assert Reviewer.objects.get(user=world["mallory"]).review_count == 3
    no_drift()


def test_the_quarantined_reviewer_keeps_reviewing_without_noticing(world):
    a = world["assignment"]
    first, second, third = world["pages"]
    review(world["mallory"], first, "receipt", assignment=a)
    quarantine(world, world["mallory"])

    outcome_review = review(world["mallory"], second, "investigate-this", assignment=a)

    assert outcome_review.quarantined is True
    second.refresh_from_db()
    assert second.review_count == 0
    assert not PageTag.objects.filter(page=second).exists()
    assert board(leaderboards.ALL) == {}
    # Their own view: every review counted, the pages they reviewed never offered again.
    assert reviewer_status(user=world["mallory"], page_id=third.pk) == (2, False)
    assert members(keys.reviewer_seen(world["mallory"].pk)) == {first.pk, second.pk}
    for _ in range(5):
        assert picker.pick_next_page(assignment=a, reviewer=world["mallory"]).page_id == third.pk
    own = credit.profile("mallory", viewer=world["mallory"])
    public = credit.profile("mallory", viewer=None)
    assert own.review_count == 2 and sum(b.count for b in own.buckets) == 2
    assert public.review_count == 0 and public.buckets == [] and public.hidden == 0
    # The page's counts stay open to them as to any reviewer of it.
    client = Client()
    client.force_login(world["mallory"])
    assert "Investigate this" in client.get(f"/pages/{second.pk}/").content.decode()
    no_drift()

    release(world, world["mallory"])

    second.refresh_from_db()
    assert second.review_count == 1
    assert PageTag.objects.get(page=second).count == 1
    assert board(leaderboards.ALL) == {world["mallory"].pk: 2}
    no_drift()


def test_a_review_submitted_through_the_site_while_quarantined_is_recorded_quarantined(world):
    quarantine(world, world["mallory"])
    client = Client()
    client.force_login(world["mallory"])
    page = world["pages"][0]
    response = client.post(f"/review/{page.pk}/", {"action": "submit", "tags": ["receipt"]})
    assert response.status_code == 302
    assert Review.objects.get(reviewer=world["mallory"], page=page).quarantined is True
    page.refresh_from_db()
    assert page.review_count == 0


def test_assignment_progress_follows_quarantine_and_release(world):
    a = world["assignment"]
    for page in world["pages"]:
        review(world["honest"], page, assignment=a)
        review(world["mallory"], page, assignment=a)
    a.refresh_from_db()
    assert a.completed_count == 3
    quarantine(world, world["mallory"])
    a.refresh_from_db()
    assert (a.completed_count, a.review_count) == (0, 3)
    assert members(keys.assignment_todo(a.pk)) == {p.pk for p in world["pages"]}
    review(world["mallory"], Page.objects.get(pk=world["pages"][0].pk), assignment=a)  # no-op: reviewed
    review(world["carol"], world["pages"][0], assignment=a)
    a.refresh_from_db()
    assert (a.completed_count, a.review_count) == (1, 4)
    release(world, world["mallory"])
    a.refresh_from_db()
    assert (a.completed_count, a.review_count) == (3, 7)
    assert Assignment.objects.get(pk=a.pk).completed_count == 3
    no_drift()


def test_discoveries_credit_skips_a_quarantined_reviewer(world, client):
    page, a = world["pages"][0], world["assignment"]
    review(world["mallory"], page, "investigate-this", assignment=a)
    review(world["honest"], page, "investigate-this", assignment=a)
    discovery = committed(create_discovery, page_id=page.pk, title="Moat", created_by=world["editor"])
    assert discovery.credited_id == world["mallory"].pk
    assert "mallory" in client.get("/discoveries/").content.decode()

    quarantine(world, world["mallory"])

    assert "first highlighted by" not in client.get("/discoveries/").content.decode()
    other = world["pages"][1]
    review(world["mallory"], other, "investigate-this", assignment=a)
    review(world["honest"], other, "investigate-this", assignment=a)
    second = committed(create_discovery, page_id=other.pk, title="Duck house", created_by=world["editor"])
    assert second.credited_id == world["honest"].pk  # the first highlighter who counts
    assert credit.profile("mallory", viewer=None).discoveries == []

    release(world, world["mallory"])
    assert "mallory" in client.get("/discoveries/").content.decode()


def test_a_burst_is_quarantined_at_once_and_recorded(world):
    users = [world["mallory"], world["carol"], world["dave"]]
    for user in users:
        review(user, world["pages"][0], "receipt", assignment=world["assignment"])
    records = quarantine(world, *users, reason="burst from 203.0.113.0/24")
    assert len(records) == 3
    assert Quarantine.objects.filter(reason="burst from 203.0.113.0/24", released_at=None).count() == 3
    assert set(Review.objects.filter(quarantined=True).values_list("reviewer_id", flat=True)) == {
        u.pk for u in users
    }
    page = Page.objects.get(pk=world["pages"][0].pk)
    assert page.review_count == 0
    # Quarantining again changes nothing and records nothing.
    assert quarantine(world, *users) == []
    assert Quarantine.objects.count() == 3
    no_drift()
    record = release(world, world["carol"], reason="a real person")
    assert (record.released_by, record.release_reason) == (world["editor"], "a real person")
    assert Page.objects.get(pk=page.pk).review_count == 1
    no_drift()


@pytest.mark.parametrize(
    "users, reason, code",
    [
        ([987654321], "spam", "no_such_reviewer"),
        (["mallory", 987654321], "spam", "no_such_reviewer"),
        (["mallory"], "   ", "no_reason"),
        (["mallory"], "x" * 2001, "bad_reason"),
        (["editor"], "spam", "staff"),
        ([], "spam", "no_reviewer"),
        ([-3], "spam", "no_such_reviewer"),
    ],
)
def test_bad_input_changes_nothing(world, users, reason, code):
    review(world["mallory"], world["pages"][0], assignment=world["assignment"])
    resolved = [world[u] if isinstance(u, str) else u for u in users]
    with pytest.raises(QuarantineError) as raised:
        committed(quarantine_reviewers, resolved, by=world["editor"], reason=reason)
    assert raised.value.code == code
    assert not Reviewer.objects.filter(quarantined_at__isnull=False).exists()
    assert not Review.objects.filter(quarantined=True).exists()
    assert not Quarantine.objects.exists()


def test_releasing_someone_not_quarantined_and_quarantining_twice_are_no_ops(world):
    assert committed(release_reviewer, world["honest"], by=world["editor"], reason="x") is None
    assert committed(quarantine_reviewer, world["honest"], by=world["editor"], reason="x") is not None
    assert committed(quarantine_reviewer, world["honest"], by=world["editor"], reason="x") is None
    assert Quarantine.objects.count() == 1


def test_a_review_copy_flipped_by_hand_is_found_and_repaired(world):
    a = world["assignment"]
    review(world["mallory"], world["pages"][0], "receipt", assignment=a)
    quarantine(world, world["mallory"])
    Review.objects.filter(reviewer=world["mallory"]).update(quarantined=False)  # a hand-made "fix"
    assert "review-quarantined" in drift()
    found = committed(registry.get("review-quarantined").repair)
    assert found.wrong == 1
    assert Review.objects.get(reviewer=world["mallory"]).quarantined is True
    no_drift()


def test_the_triage_inbox_and_credit_choices_leave_the_quarantined_reviewer_out(world):
    page, a = world["pages"][0], world["assignment"]
    review(world["mallory"], page, "investigate-this", assignment=a)
    assert [item.page.pk for item in credit.triage_inbox()] == [page.pk]
    assert [pk for pk, _ in credit.credit_choices(page.pk)] == [world["mallory"].pk]
    quarantine(world, world["mallory"])
    assert credit.triage_inbox() == []
    assert credit.credit_choices(page.pk) == []
