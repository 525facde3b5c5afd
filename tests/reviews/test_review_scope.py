"""A review needs a page in an active assignment, and is filed under an assignment that contains
the page: the visitor's current one when it does, else another active one (the main first)."""

from __future__ import annotations

import pytest

from assignments.models import Assignment
from assignments.selectors import CURRENT_ASSIGNMENT_COOKIE
from catalogue.models import Page
from reviews.actions import ReviewError, skip_page, submit_review
from reviews.models import PageTag, Review, Skip
from tests import factories

pytestmark = pytest.mark.django_db


def post(client, page, action="submit", tags=("receipt",)):
    return client.post(f"/review/{page.pk}/", {"action": action, "tags": list(tags)})


def test_a_page_in_no_assignment_cannot_be_reviewed_or_skipped_by_the_public(client, tags):
    """A just-uploaded document: no assignment yet. Clear 403, nothing written, no account."""
    from django.contrib.auth import get_user_model

    page = factories.make_document(pages=1).pages.get()
    for action in ("submit", "skip"):
        response = post(client, page, action=action)
        assert response.status_code == 403
        assert "not open for review" in response.content.decode()
    assert not Review.objects.exists() and not Skip.objects.exists() and not PageTag.objects.exists()
    assert Page.objects.get(pk=page.pk).review_count == 0
    assert not get_user_model().objects.exists()


def test_a_page_only_in_an_inactive_assignment_is_not_open(client, reviewer, tags):
    document = factories.make_document(pages=1)
    factories.make_assignment(documents=[document], active=False)
    client.force_login(reviewer)
    assert post(client, document.pages.get()).status_code == 403
    assert not Review.objects.exists()


def test_the_actions_refuse_a_page_in_no_assignment_by_default(reviewer, tags):
    """Safe by default: a caller that forgets the flag cannot open a page to review."""
    page = factories.make_document(pages=1).pages.get()
    with pytest.raises(ReviewError) as raised:
        submit_review(reviewer=reviewer, page_id=page.pk, tag_slugs=["receipt"])
    assert raised.value.code == "not_open"
    with pytest.raises(ReviewError) as raised:
        skip_page(reviewer=reviewer, page_id=page.pk)
    assert raised.value.code == "not_open"
    assert Page.objects.get(pk=page.pk).review_count == 0
    assert not Review.objects.exists() and not Skip.objects.exists() and not PageTag.objects.exists()


def test_trusted_callers_may_review_a_page_in_no_assignment_explicitly(reviewer, tags):
    page = factories.make_document(pages=1).pages.get()
    outcome = submit_review(reviewer=reviewer, page_id=page.pk, only_open_pages=False)
    assert outcome.created and outcome.review.assignment_id is None


def test_the_current_assignment_gets_the_credit_when_it_contains_the_page(client, reviewer, tags):
    document = factories.make_document(pages=1)
    factories.make_assignment(documents=[document], featured=Assignment.Featured.MAIN)
    chosen = factories.make_assignment(documents=[document])
    client.force_login(reviewer)
    client.cookies[CURRENT_ASSIGNMENT_COOKIE] = chosen.slug
    assert post(client, document.pages.get()).status_code == 302
    assert Review.objects.get().assignment_id == chosen.pk


def test_a_cookie_naming_an_assignment_without_the_page_does_not_get_the_credit(client, reviewer, tags):
    document = factories.make_document(pages=1)
    other = factories.make_document(pages=1)
    elsewhere = factories.make_assignment(documents=[other], featured=Assignment.Featured.MAIN)
    containing = factories.make_assignment(documents=[document])
    client.force_login(reviewer)
    client.cookies[CURRENT_ASSIGNMENT_COOKIE] = elsewhere.slug
    assert post(client, document.pages.get()).status_code == 302
    assert Review.objects.get().assignment_id == containing.pk


def test_the_main_assignment_is_preferred_among_those_containing_the_page(client, reviewer, tags):
    member = factories.make_member()
    document = factories.make_document(member=member, pages=1)
    factories.make_assignment(documents=[document])
    main = factories.make_assignment(members=[member], featured=Assignment.Featured.MAIN)
    client.force_login(reviewer)
    assert post(client, document.pages.get()).status_code == 302
    assert Review.objects.get().assignment_id == main.pk
