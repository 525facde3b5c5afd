"""Who sees a page's tag counts (``reviews.selectors.page_tags_for_viewer``) and the threshold
that decides it when the page is in several assignments (``public_threshold_for_page``): the
public once the page has as many reviews as the LOWEST threshold of its *active* assignments (1
in none); staff always; a reviewer once they reviewed it (a skip reveals nothing)."""

import pytest
from django.contrib.auth.models import AnonymousUser

from assignments.actions import set_assignment_active, set_assignment_threshold
from catalogue.models import Page
from reviews.actions import skip_page, submit_review
from reviews.selectors import page_tags_for_viewer, public_threshold_for_page, public_thresholds
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def overlapping(tags):
    """One page in two active assignments, by document (threshold 2) and by member (threshold
    5), and in an inactive one by party (threshold 9)."""
    party = factories.make_party()
    member = factories.make_member(party=party)
    doc = factories.make_document(member=member, pages=2)
    by_document = factories.make_assignment(documents=[doc], threshold=2)
    by_member = factories.make_assignment(members=[member], threshold=5)
    by_party = factories.make_assignment(parties=[party], threshold=9, active=False)
    page = doc.pages.order_by("number").first()
    return page, by_document, by_member, by_party


def review_by_others(page: Page, n: int, tag_slugs=("receipt",)) -> None:
    """``n`` more reviews of the page, each by a new reviewer; ``page`` is refreshed."""
    before = page.review_count
    for _ in range(n):
        submit_review(reviewer=factories.make_user(), page_id=page.pk, tag_slugs=list(tag_slugs))
    page.refresh_from_db()
    assert page.review_count == before + n


def test_the_threshold_is_the_lowest_of_the_active_assignments_with_the_page(overlapping):
    page, by_document, by_member, by_party = overlapping
    assert public_threshold_for_page(page) == 2
    set_assignment_active(assignment_id=by_document.pk, active=False)
    assert public_threshold_for_page(page) == 5
    set_assignment_active(assignment_id=by_party.pk, active=True)
    assert public_threshold_for_page(page) == 5  # 9 is not lower
    set_assignment_active(assignment_id=by_member.pk, active=False)
    assert public_threshold_for_page(page) == 9  # by party alone
    set_assignment_active(assignment_id=by_party.pk, active=False)
    assert public_threshold_for_page(page) == 1  # in no active assignment


def test_thresholds_are_read_for_many_documents_in_one_query(overlapping, django_assert_num_queries):
    page = overlapping[0]
    elsewhere = factories.make_document(pages=1)  # in no assignment
    with django_assert_num_queries(1):
        found = public_thresholds([page.document_id, elsewhere.pk, 987654321])
    assert found == {page.document_id: 2, elsewhere.pk: 1}  # an unknown document is left out


def test_the_public_sees_the_counts_at_the_lowest_threshold(overlapping):
    page = overlapping[0]
    anonymous = AnonymousUser()
    review_by_others(page, 1)  # short of the document assignment's 2
    shown = page_tags_for_viewer(page=page, user=anonymous)
    assert (shown.visible, shown.threshold, shown.counts) == (False, 2, [])
    review_by_others(page, 1)  # 2: enough for the document assignment, though the member's wants 5
    shown = page_tags_for_viewer(page=page, user=anonymous)
    assert shown.visible and shown.threshold == 2
    assert [(pt.tag.slug, pt.count) for pt in shown.counts] == [("receipt", 2)]


def test_an_inactive_assignments_threshold_is_ignored(overlapping):
    page, by_document, _by_member, by_party = overlapping
    set_assignment_threshold(assignment_id=by_party.pk, threshold=1)  # lower, but closed
    review_by_others(page, 1)
    assert not page_tags_for_viewer(page=page, user=AnonymousUser()).visible
    set_assignment_active(assignment_id=by_document.pk, active=False)  # leaves the member's 5
    review_by_others(page, 3)
    shown = page_tags_for_viewer(page=page, user=AnonymousUser())
    assert not shown.visible and shown.threshold == 5
    set_assignment_active(assignment_id=by_party.pk, active=True)  # the party's 1 now counts
    shown = page_tags_for_viewer(page=page, user=AnonymousUser())
    assert shown.visible and shown.threshold == 1


def test_staff_always_see_the_counts(overlapping, editor):
    page = overlapping[0]
    assert page_tags_for_viewer(page=page, user=editor).visible
    review_by_others(page, 1, tag_slugs=["hand-written"])
    shown = page_tags_for_viewer(page=page, user=editor)
    assert shown.visible and not shown.reviewed_by_viewer
    assert [(pt.tag.slug, pt.count) for pt in shown.counts] == [("hand-written", 1)]


def test_a_reviewer_sees_the_counts_once_they_reviewed_the_page(overlapping, reviewer):
    page = overlapping[0]
    review_by_others(page, 1)
    assert not page_tags_for_viewer(page=page, user=reviewer).visible
    submit_review(reviewer=reviewer, page_id=page.pk, tag_slugs=["claim-form"])
    page.refresh_from_db()
    shown = page_tags_for_viewer(page=page, user=reviewer)
    assert shown.visible and shown.reviewed_by_viewer
    assert sorted((pt.tag.slug, pt.count) for pt in shown.counts) == [("claim-form", 1), ("receipt", 1)]
    # Only the page they reviewed: its neighbour stays hidden.
    other = Page.objects.exclude(pk=page.pk).get()
    review_by_others(other, 1)
    assert not page_tags_for_viewer(page=other, user=reviewer).visible


def test_a_skip_does_not_reveal_the_counts(overlapping, reviewer):
    page = overlapping[0]
    review_by_others(page, 1)
    assert skip_page(reviewer=reviewer, page_id=page.pk)
    shown = page_tags_for_viewer(page=page, user=reviewer)
    assert not shown.visible and not shown.reviewed_by_viewer and shown.counts == []
