"""The retiring options' limits, as an editor meets them in the admin's form: a plain sentence
for a value out of range (not a constraint's name), and nothing saved."""

import pytest
from django.contrib import admin
from django.test import RequestFactory

from assignments.models import Assignment
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("confidence_target", "1.5", "The confidence target is at least 0.5 and below 1."),
        ("confidence_target", "0.2", "The confidence target is at least 0.5 and below 1."),
        ("min_reviews", "0", "The minimum is at least 1 review."),
        ("threshold", "0", "The threshold is at least 1 review."),
    ],
)
def test_an_out_of_range_option_gets_a_sentence_and_changes_nothing(editor, field, value, message):
    assignment = factories.make_assignment(documents=[factories.make_document(pages=2)], threshold=3)
    request = RequestFactory().post("/")
    request.user = editor
    model_admin = admin.site._registry[Assignment]
    form_class = model_admin.get_form(
        request, assignment, fields=["threshold", "confidence_target", "min_reviews"]
    )
    data = {"threshold": "3", "confidence_target": "0.95", "min_reviews": "2", field: value}
    form = form_class(data, instance=assignment)
    assert not form.is_valid()
    assert message in str(form.errors)
    assignment.refresh_from_db()
    assert (assignment.threshold, assignment.confidence_target, assignment.min_reviews) == (3, 0.95, 2)
