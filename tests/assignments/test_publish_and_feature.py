"""Publishing offers "publish and feature as main/alternative" in one step, and the message says
where the assignment now shows (and, when it is not featured, that the home page needs one more
step)."""

import pytest
from django.contrib.messages import get_messages
from django.test import TestCase

from assignments import actions
from assignments.models import Assignment
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(db):
    doc = factories.make_document(pages=3, title="Secret receipts")
    return factories.make_assignment(
        documents=[doc], slug="draft-one", active=False, status=Assignment.Status.DRAFT
    )


def _publish(client, draft, **data):
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(f"/admin/assignments/assignment/{draft.pk}/publish/", data)
    assert response.status_code == 302
    (message,) = [str(m) for m in get_messages(response.wsgi_request)]
    draft.refresh_from_db()
    return message


def test_publish_and_feature_as_main_puts_it_first_on_the_home_page(client, editor, draft):
    old_main = factories.make_assignment(featured=Assignment.Featured.MAIN, slug="old-main")
    client.force_login(editor)
    change = client.get(f"/admin/assignments/assignment/{draft.pk}/change/").content.decode()
    assert 'name="featured" value="main"' in change and 'name="featured" value="alternative"' in change
    message = _publish(client, draft, featured="main")
    assert not draft.is_draft and draft.active and draft.featured == Assignment.Featured.MAIN
    old_main.refresh_from_db()
    assert old_main.featured == Assignment.Featured.ALTERNATIVE
    assert 'the main assignment on <a href="/">the home page</a>' in message
    client.logout()
    home = client.get("/").content.decode()
    assert 'href="/assignments/draft-one/start/"' in home


def test_publish_and_feature_as_alternative(client, editor, draft):
    client.force_login(editor)
    message = _publish(client, draft, featured="alternative")
    assert draft.featured == Assignment.Featured.ALTERNATIVE and draft.active
    assert "among the alternatives on" in message


def test_publishing_alone_says_the_home_page_needs_a_feature(client, editor, draft):
    client.force_login(editor)
    message = _publish(client, draft)
    assert draft.featured == Assignment.Featured.NONE and not draft.is_draft
    assert 'listed on <a href="/assignments/">Assignments</a> but not on' in message
    assert "feature it (main or alternative) to put it there" in message


def test_a_bad_featured_value_changes_nothing(client, editor, draft):
    client.force_login(editor)
    response = client.post(f"/admin/assignments/assignment/{draft.pk}/publish/", {"featured": "top"})
    assert response.status_code == 400
    draft.refresh_from_db()
    assert draft.is_draft and draft.featured == Assignment.Featured.NONE
    with pytest.raises(ValueError):
        actions.publish_assignment(assignment_id=draft.pk, featured="top")
    draft.refresh_from_db()
    assert draft.is_draft
