"""The priority pages admin: editors mark pages, or every page of a document, as priority within
an assignment, and unmark them; both go through ``assignments.actions`` (prioritise_pages,
deprioritise_pages), so the Redis priority set follows after commit. Bad input changes nothing."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from assignments.models import PriorityPage
from lib import keys
from tests import factories
from tests.denorm_support import drift, members

pytestmark = pytest.mark.django_db(transaction=True)

ADD = "admin:assignments_prioritypage_add"
CHANGELIST = "admin:assignments_prioritypage_changelist"


def marked(assignment) -> set[int]:
    return set(PriorityPage.objects.filter(assignment=assignment).values_list("page_id", flat=True))


def test_an_editor_marks_page_ids_and_a_whole_document_as_priority(client, editor):
    inside, also_inside = factories.make_document(pages=3), factories.make_document(pages=2)
    outside = factories.make_document(pages=2)
    assignment = factories.make_assignment(documents=[inside, also_inside], threshold=2)
    first = inside.pages.order_by("pk").first().pk
    stranger = outside.pages.first().pk
    client.force_login(editor)

    response = client.post(
        reverse(ADD), {"assignment": assignment.pk, "pages": f"{first}, {stranger}", "document": ""}
    )
    assert response.status_code == 302 and response["Location"] == reverse(CHANGELIST)
    assert marked(assignment) == {first}  # the page outside the assignment is ignored
    response = client.post(
        reverse(ADD), {"assignment": assignment.pk, "pages": "", "document": also_inside.pk}
    )
    assert response.status_code == 302
    expected = {first} | set(also_inside.pages.values_list("pk", flat=True))
    assert marked(assignment) == expected
    assert PriorityPage.objects.filter(assignment=assignment, created_by=editor).count() == 3
    assert members(keys.assignment_priority(assignment.pk)) == expected
    assert drift(["assignment-priority", "assignment-todo-rank"]) == {}


@pytest.mark.parametrize(
    ("pages", "error"), [("12, x", "Page ids are whole numbers."), ("", "Give page ids or a document.")]
)
def test_bad_input_is_refused_and_changes_nothing(client, editor, pages, error):
    assignment = factories.make_assignment(documents=[factories.make_document(pages=2)])
    client.force_login(editor)
    response = client.post(reverse(ADD), {"assignment": assignment.pk, "pages": pages, "document": ""})
    assert response.status_code == 200 and error in response.content.decode()
    assert not PriorityPage.objects.exists()


def test_deleting_priority_pages_unmarks_them_through_the_action(client, editor):
    doc = factories.make_document(pages=3)
    assignment = factories.make_assignment(documents=[doc])
    client.force_login(editor)
    client.post(reverse(ADD), {"assignment": assignment.pk, "pages": "", "document": doc.pk})
    rows = list(PriorityPage.objects.filter(assignment=assignment).order_by("page_id"))
    assert len(rows) == 3

    response = client.post(
        reverse(CHANGELIST),
        {"action": "delete_selected", ACTION_CHECKBOX_NAME: [r.pk for r in rows[:2]], "post": "yes"},
    )
    assert response.status_code == 302
    assert marked(assignment) == {rows[2].page_id}
    assert members(keys.assignment_priority(assignment.pk)) == {rows[2].page_id}
    assert drift(["assignment-priority", "assignment-todo-rank"]) == {}
