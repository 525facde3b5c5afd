"""Draft assignments: staff only (previewed at their address, 404 for everyone else), never on a
public list, never served by the picker, never featured; publishing opens them."""

import re

import pytest

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


def test_the_public_gets_404_for_a_draft_everywhere(client, reviewer, draft):
    for url in ["/assignments/draft-one/", "/assignments/draft-one/start/", "/assignments/draft-one/done/"]:
        assert client.get(url).status_code == 404, url
    client.force_login(reviewer)
    assert client.get("/assignments/draft-one/").status_code == 404
    assert "draft-one" not in client.get("/assignments/").content.decode()
    assert "draft-one" not in client.get("/").content.decode()
    assert client.get("/api/assignments/draft-one/").status_code == 404


def test_staff_preview_a_draft_with_its_pages(client, editor, draft):
    client.force_login(editor)
    response = client.get("/assignments/draft-one/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Draft preview" in html and "Secret receipts, p.&nbsp;1" in html
    assert 'href="/assignments/draft-one/start/"' not in html  # nothing to start until published
    assert response["Cache-Control"].startswith("max-age=0") or "no-cache" in response["Cache-Control"]


def test_a_draft_can_be_neither_open_nor_featured(draft):
    with pytest.raises(ValueError, match="draft"):
        actions.set_assignment_active(assignment_id=draft.pk, active=True)
    with pytest.raises(ValueError, match="draft"):
        actions.feature_assignment_as_main(assignment_id=draft.pk)
    with pytest.raises(ValueError, match="Drafts cannot be featured"):
        actions.feature_assignments(assignment_ids=[draft.pk], featured=Assignment.Featured.ALTERNATIVE)
    draft.refresh_from_db()
    assert draft.is_draft and not draft.active and draft.featured == Assignment.Featured.NONE


def test_the_database_refuses_an_open_draft(draft):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Assignment.objects.filter(pk=draft.pk).update(active=True)


def test_publishing_opens_it_for_the_public_and_the_picker(client, draft):
    actions.publish_assignment(assignment_id=draft.pk)
    draft.refresh_from_db()
    assert not draft.is_draft and draft.active
    assert client.get("/assignments/draft-one/").status_code == 200
    response = client.get("/assignments/draft-one/start/")
    assert response.status_code == 302 and response["Location"] == "/review/next/"


def test_unpublishing_takes_it_off_every_public_surface(client, draft):
    actions.publish_assignment(assignment_id=draft.pk)
    actions.feature_assignments(assignment_ids=[draft.pk], featured=Assignment.Featured.ALTERNATIVE)
    actions.unpublish_assignment(assignment_id=draft.pk)
    draft.refresh_from_db()
    assert draft.is_draft and not draft.active and draft.featured == Assignment.Featured.NONE
    assert client.get("/assignments/draft-one/").status_code == 404


def test_the_admin_form_explains_the_draft_rule_in_words(client, editor):
    client.force_login(editor)
    response = client.post(
        "/admin/assignments/assignment/add/",
        {"title": "X", "slug": "x", "threshold": "1", "status": "draft", "active": "on", "featured": "main",
         "feature_order": "0"},
    )  # fmt: skip
    assert response.status_code == 200
    html = response.content.decode()
    assert "A draft cannot be open for reviews" in html
    assert "A draft cannot be featured on the home page" in html
    assert not Assignment.objects.filter(slug="x").exists()


def test_new_assignments_start_as_drafts_in_the_admin(client, editor):
    client.force_login(editor)
    html = client.get("/admin/assignments/assignment/add/").content.decode()
    assert '<option value="draft" selected>' in html
    checkbox = re.search(r'<input type="checkbox" name="active"[^>]*>', html).group(0)
    assert "checked" not in checkbox


def test_the_publish_button_publishes_and_needs_a_post(client, editor, draft):
    client.force_login(editor)
    url = f"/admin/assignments/assignment/{draft.pk}/publish/"
    assert client.get(url).status_code == 405
    draft.refresh_from_db()
    assert draft.is_draft
    response = client.post(url)
    assert response.status_code == 302
    draft.refresh_from_db()
    assert not draft.is_draft and draft.active


def test_the_selection_size_is_counted_before_saving(client, editor, reviewer):
    member = factories.make_member()
    factories.make_document(member=member, pages=4)
    other = factories.make_document(pages=2)
    client.force_login(editor)
    url = "/admin/assignments/assignment/scope-size/"
    assert client.get(url, {"members": [member.pk], "documents": [other.pk, "junk"]}).json() == {
        "pages": 6,
        "documents": 2,
    }
    assert client.get(url).json() == {"pages": 0, "documents": 0}
    client.force_login(reviewer)
    assert client.get(url).status_code == 302  # the admin's login, never the numbers
