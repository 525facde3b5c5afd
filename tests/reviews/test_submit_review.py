import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assignments.models import Assignment
from reviews.actions import MAX_TAGS_PER_REVIEW, ReviewError, skip_page, submit_review
from reviews.models import Page, PageTag, Review, Reviewer, Skip
from tests import factories

pytestmark = pytest.mark.django_db


def test_it_records_a_review_and_its_counters(reviewer, tags):
    doc = factories.make_document(pages=2)
    page = doc.pages.first()
    a = factories.make_assignment(documents=[doc], threshold=1)
    outcome = submit_review(reviewer=reviewer, page_id=page.pk, tag_slugs=["receipt", "hand-written"])
    assert outcome.created
    assert outcome.review_count == 1
    assert outcome.completed_assignment_ids == [a.pk]
    assert set(outcome.review.tags.values_list("slug", flat=True)) == {"receipt", "hand-written"}
    page.refresh_from_db()
    assert page.review_count == 1
    assert PageTag.objects.filter(page=page).count() == 2
    assert Reviewer.objects.get(user=reviewer).review_count == 1
    a.refresh_from_db()
    assert a.completed_count == 1


def test_it_keeps_the_first_review_on_a_double_submit(reviewer, tags):
    page = factories.make_document(pages=1).pages.get()
    submit_review(reviewer=reviewer, page_id=page.pk, tag_slugs=["receipt"])
    second = submit_review(reviewer=reviewer, page_id=page.pk, tag_slugs=["claim-form"])
    assert not second.created
    assert list(second.review.tags.values_list("slug", flat=True)) == ["receipt"]
    page.refresh_from_db()
    assert page.review_count == 1
    assert Review.objects.count() == 1


@pytest.mark.parametrize("slugs", [["nope"], ["retired"], ["receipt", "nope"]])
def test_it_refuses_unknown_or_inactive_tags_and_changes_nothing(reviewer, tags, slugs):
    page = factories.make_document(pages=1).pages.get()
    with pytest.raises(ReviewError) as err:
        submit_review(reviewer=reviewer, page_id=page.pk, tag_slugs=slugs)
    assert err.value.code == "unknown_tag"
    assert Review.objects.count() == 0
    assert Page.objects.get().review_count == 0


def test_it_refuses_more_tags_than_the_limit_and_changes_nothing(reviewer, tags):
    """MAX_TAGS_PER_REVIEW distinct slugs pass the count (then fail as unknown); one more is
    refused as too many, before any lookup; repeats of one slug count once."""
    page = factories.make_document(pages=1).pages.get()
    at_limit = ["receipt"] + [f"made-up-{i}" for i in range(MAX_TAGS_PER_REVIEW - 1)]
    with pytest.raises(ReviewError) as err:
        submit_review(reviewer=reviewer, page_id=page.pk, tag_slugs=at_limit)
    assert err.value.code == "unknown_tag"
    with pytest.raises(ReviewError) as err:
        submit_review(reviewer=reviewer, page_id=page.pk, tag_slugs=[*at_limit, "claim-form"])
    assert err.value.code == "too_many_tags"
    assert err.value.message == "Too many tags."
    assert Review.objects.count() == 0 and PageTag.objects.count() == 0
    assert Reviewer.objects.count() == 0
    assert Page.objects.get().review_count == 0
    outcome = submit_review(reviewer=reviewer, page_id=page.pk, tag_slugs=["receipt"] * 60)
    assert outcome.created and list(outcome.review.tags.values_list("slug", flat=True)) == ["receipt"]


def test_it_refuses_a_forged_page_id(reviewer, tags):
    with pytest.raises(ReviewError) as err:
        submit_review(reviewer=reviewer, page_id=987654, tag_slugs=[])
    assert err.value.code == "no_such_page"
    assert Review.objects.count() == 0 and Reviewer.objects.count() == 0


def test_threshold_counts_reviews_from_any_assignment(reviewer, reviewer2, tags):
    party = factories.make_party()
    member = factories.make_member(party=party)
    doc = factories.make_document(member=member, pages=1)
    page = doc.pages.get()
    by_party = factories.make_assignment(parties=[party], threshold=2)
    by_member = factories.make_assignment(members=[member], threshold=1)
    submit_review(reviewer=reviewer, page_id=page.pk, assignment_id=by_member.pk)
    assert Assignment.objects.get(pk=by_member.pk).completed_count == 1
    assert Assignment.objects.get(pk=by_party.pk).completed_count == 0
    submit_review(reviewer=reviewer2, page_id=page.pk, assignment_id=by_member.pk)
    assert Assignment.objects.get(pk=by_party.pk).completed_count == 1
    assert Assignment.objects.get(pk=by_member.pk).completed_count == 1


def test_skip_counts_for_nothing(reviewer, tags):
    page = factories.make_document(pages=1).pages.get()
    assert skip_page(reviewer=reviewer, page_id=page.pk)
    assert not skip_page(reviewer=reviewer, page_id=page.pk)
    assert Skip.objects.count() == 1
    assert Page.objects.get().review_count == 0


def test_submit_uses_a_bounded_number_of_queries(reviewer, tags):
    pages = list(factories.make_document(pages=2).pages.all())
    submit_review(reviewer=reviewer, page_id=pages[0].pk, tag_slugs=["receipt"])
    with CaptureQueriesContext(connection) as ctx:
        submit_review(reviewer=reviewer, page_id=pages[1].pk, tag_slugs=["receipt", "claim-form"])
    assert len(ctx.captured_queries) <= 14
