"""The discovery credit rule: a discovery credits the reviewer who FIRST tagged its page with a
highlighting tag; nobody when no review of the page used one; never a later highlighter, nor a
reviewer who used only other tags. Through the action and through the admin."""

import pytest
from django.urls import reverse

from reviews.actions import create_discovery, submit_review
from reviews.models import Discovery, Review
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def page(db):
    return factories.make_document(pages=1).pages.get()


@pytest.fixture
def carol(db):
    return factories.make_user("carol")


def review(user, page, *tags):
    return submit_review(only_open_pages=False, reviewer=user, page_id=page.pk, tag_slugs=tags).review


def test_the_first_reviewer_to_highlight_the_page_gets_the_credit(page, tags, reviewer, reviewer2, carol):
    review(reviewer, page, "receipt")  # first review, but no highlighting tag
    review(reviewer2, page, "receipt", "investigate-this")  # first highlighter
    review(carol, page, "investigate-this")  # a later highlighter
    discovery = create_discovery(page_id=page.pk, title="A moat")
    assert discovery.credited == reviewer2


def test_the_order_is_by_review_time_not_by_user(page, tags, reviewer, reviewer2):
    later = review(reviewer, page, "investigate-this")
    earlier = review(reviewer2, page, "investigate-this")
    Review.objects.filter(pk=earlier.pk).update(created=later.created.replace(year=later.created.year - 1))
    assert create_discovery(page_id=page.pk, title="A duck house").credited == reviewer2


def test_nobody_is_credited_when_no_review_highlighted_the_page(page, tags, reviewer, reviewer2):
    review(reviewer, page, "receipt", "claim-form")
    review(reviewer2, page)  # nothing of note
    assert create_discovery(page_id=page.pk, title="Nothing flagged").credited is None


def test_an_editor_may_credit_someone_else(page, tags, reviewer, reviewer2):
    review(reviewer, page, "investigate-this")
    discovery = create_discovery(page_id=page.pk, title="A tip-off", credited_id=reviewer2.pk)
    assert discovery.credited == reviewer2


def test_the_admin_credits_the_first_highlighter_and_records_the_editor(
    client, editor, page, tags, reviewer, reviewer2
):
    review(reviewer, page, "hand-written")
    review(reviewer2, page, "investigate-this")
    client.force_login(editor)
    response = client.post(
        reverse("admin:reviews_discovery_add"),
        {"page": page.pk, "title": "Second home flipping", "note": "", "credited": ""},
    )
    assert response.status_code == 302, response.content[:2000]
    discovery = Discovery.objects.get()
    assert discovery.credited == reviewer2 and discovery.created_by == editor

    # An edit keeps whatever credit the editor chose, including none.
    response = client.post(
        reverse("admin:reviews_discovery_change", args=[discovery.pk]),
        {"page": page.pk, "title": "Second home flipping", "note": "Checked.", "credited": ""},
    )
    assert response.status_code == 302
    discovery.refresh_from_db()
    assert discovery.credited is None and discovery.note == "Checked."
