"""The assignments admin: its featuring actions and list edits go through ``assignments.actions``,
so the registry hears about every change and the Redis copies stay right."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from assignments.models import Assignment
from lib import keys
from lib.redis_client import get_redis
from tests import factories
from tests.denorm_support import drift, imported, members

pytestmark = pytest.mark.django_db(transaction=True)

# The copies an active assignment has and an inactive one has not.
ACTIVE_ONLY = [
    "active-assignments",
    "assignment-needed",
    "assignment-done",
    "assignment-todo",
    "assignment-todo-rank",
]


def page_ids(*documents) -> set[int]:
    return {pk for doc in documents for pk in doc.pages.values_list("id", flat=True)}


def run_action(client, action: str, *assignments: Assignment):
    return client.post(
        reverse("admin:assignments_assignment_changelist"),
        {"action": action, ACTION_CHECKBOX_NAME: [a.pk for a in assignments]},
    )


@pytest.fixture
def inactive(db):
    member = factories.make_member()
    doc = imported(member, 3)
    assignment = factories.make_assignment(members=[member], active=False)
    return assignment, doc


def test_making_an_inactive_assignment_main_builds_its_redis_sets(client, editor, inactive):
    """The bug: the action used ``QuerySet.update(active=True)``, which no signal reports, so an
    inactive assignment made main kept no sets in Redis, and nothing ever flagged them stale."""
    assignment, doc = inactive
    current_main = factories.make_assignment(featured=Assignment.Featured.MAIN)
    assert not get_redis().exists(keys.assignment_todo(assignment.pk))
    client.force_login(editor)

    response = run_action(client, "make_main", assignment)

    assert response.status_code == 302
    assignment.refresh_from_db()
    current_main.refresh_from_db()
    assert assignment.active and assignment.featured == Assignment.Featured.MAIN
    assert current_main.featured == Assignment.Featured.ALTERNATIVE
    assert assignment.pk in members(keys.active_assignments())
    assert members(keys.assignment_needed(assignment.pk)) == page_ids(doc)
    assert members(keys.assignment_todo(assignment.pk)) == page_ids(doc)
    assert drift(ACTIVE_ONLY) == {}


def test_featuring_as_alternatives_and_unfeaturing_go_through_the_actions(client, editor, inactive):
    assignment, _ = inactive
    other = factories.make_assignment()
    client.force_login(editor)

    run_action(client, "make_alternative", assignment, other)
    assert set(Assignment.objects.values_list("featured", flat=True)) == {Assignment.Featured.ALTERNATIVE}
    run_action(client, "unfeature", assignment)
    assignment.refresh_from_db()
    assert assignment.featured == Assignment.Featured.NONE
    assert drift(ACTIVE_ONLY) == {}


def test_activating_in_the_changelist_list_edit_builds_the_sets(client, editor, inactive):
    """``list_editable`` saves each changed row with ``save()``: the signals see it."""
    assignment, doc = inactive
    client.force_login(editor)
    data = {
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "1",
        "form-0-id": str(assignment.pk),
        "form-0-featured": Assignment.Featured.NONE,
        "form-0-feature_order": "0",
        "form-0-active": "on",
        "_save": "Save",
    }
    response = client.post(reverse("admin:assignments_assignment_changelist"), data)

    assert response.status_code == 302
    assignment.refresh_from_db()
    assert assignment.active
    assert members(keys.assignment_todo(assignment.pk)) == page_ids(doc)
    assert drift(ACTIVE_ONLY) == {}
