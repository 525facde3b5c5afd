"""Editors mark priority pages within an assignment (assignments.actions.prioritise_pages)."""

from assignments.actions import deprioritise_pages, prioritise_pages
from assignments.models import PriorityPage
from tests import factories


def test_it_marks_only_pages_of_the_assignment_once(db, editor):
    inside = factories.make_document(pages=3)
    outside = factories.make_document(pages=1)
    assignment = factories.make_assignment(documents=[inside])
    ids = list(inside.pages.values_list("pk", flat=True))
    stranger = outside.pages.get().pk

    assert prioritise_pages(assignment_id=assignment.pk, page_ids=[ids[0], ids[1], stranger], by=editor) == 2
    assert prioritise_pages(assignment_id=assignment.pk, page_ids=[ids[0]]) == 0
    marked = set(PriorityPage.objects.filter(assignment=assignment).values_list("page_id", flat=True))
    assert marked == {ids[0], ids[1]}
    assert PriorityPage.objects.get(page_id=ids[0]).created_by == editor

    assert deprioritise_pages(assignment_id=assignment.pk, page_ids=[ids[0], stranger]) == 1
    assert set(PriorityPage.objects.values_list("page_id", flat=True)) == {ids[1]}
