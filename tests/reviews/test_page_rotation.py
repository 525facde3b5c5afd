"""A page's rotation (Page.rotation): reviewers turn a sideways scan on their own screen; an
editor keeps a turn for everyone (reviews.actions.rotation.set_page_rotation, through
/staff/pages/<id>/rotation/), and from then on every review screen shows it turned, the fast
path's next screen included. Bad input is a 400 that changes nothing."""

from __future__ import annotations

import pytest
from django.test import Client

from assignments.models import Assignment
from catalogue.models import Page
from reviews.actions.rotation import RotationError, set_page_rotation
from tests import factories
from tests.assignments._picker_support import build_sets
from tests.reviews._review_client import first_page, post, screen

pytestmark = pytest.mark.django_db


@pytest.fixture
def pages(tags):
    doc = factories.make_document(pages=3, title="Sideways scans")
    factories.make_assignment(documents=[doc], featured=Assignment.Featured.MAIN, threshold=1)
    build_sets()
    return list(doc.pages.order_by("number"))


def _rotation(page) -> int:
    return Page.objects.values_list("rotation", flat=True).get(pk=page.pk)


def test_the_action_turns_a_page_by_quarters_only(pages):
    assert set_page_rotation(page_id=pages[0].pk, degrees=270).rotation == 270
    for bad in (45, 360, -90, 1):
        with pytest.raises(RotationError):
            set_page_rotation(page_id=pages[0].pk, degrees=bad)
    assert _rotation(pages[0]) == 270
    with pytest.raises(RotationError):
        set_page_rotation(page_id=10**12, degrees=90)


def test_an_editor_keeps_a_turn_for_everyone(client, editor, pages):
    client.force_login(editor)
    url = f"/staff/pages/{pages[0].pk}/rotation/"
    response = client.post(url, {"degrees": "90"})
    assert response.status_code == 302 and response.url == f"/review/{pages[0].pk}/"
    assert _rotation(pages[0]) == 90
    answer = client.post(url, {"degrees": "180"}, HTTP_ACCEPT="application/json")
    assert answer.status_code == 200 and answer.json() == {"rotation": 180}
    assert _rotation(pages[0]) == 180
    # Every reviewer's screen shows it turned, from the server (no script needed).
    visitor = Client()
    html = visitor.get(f"/review/{pages[0].pk}/").content.decode()
    assert 'class="page-frame rot-180"' in html and 'data-rotation="180"' in html
    assert 'id="rotation-form"' not in html  # the "keep for everyone" form is for editors


@pytest.mark.parametrize("degrees", ["45", "abc", "", "9000", "-90", "90\x00"])
def test_bad_input_is_a_400_that_changes_nothing(client, editor, pages, degrees):
    client.force_login(editor)
    response = client.post(f"/staff/pages/{pages[0].pk}/rotation/", {"degrees": degrees})
    assert response.status_code == 400
    assert _rotation(pages[0]) == 0
    assert client.post("/staff/pages/999999999/rotation/", {"degrees": "90"}).status_code == 400


def test_only_editors_may_turn_a_page_for_everyone(client, reviewer, pages):
    url = f"/staff/pages/{pages[0].pk}/rotation/"
    assert client.post(url, {"degrees": "90"}).status_code == 302  # to the login page
    client.force_login(reviewer)
    assert client.post(url, {"degrees": "90"}).status_code == 403
    assert _rotation(pages[0]) == 0


def test_the_fast_path_s_next_screen_carries_the_rotation(pages):
    for page in pages:
        set_page_rotation(page_id=page.pk, degrees=90)
    client = Client(enforce_csrf_checks=True)
    current = first_page(client)
    form = screen(client, current)
    answer = post(client, current, form["csrf"], first_write=form["first_write"], tags=["receipt"]).json()
    # A first review loads the whole next screen; the second answers with the page's data.
    current = answer["page"]["id"] if answer["page"] else int(answer["url"].strip("/").split("/")[-1])
    form = screen(client, current)
    answer = post(client, current, form["csrf"], tags=["receipt"]).json()
    assert answer["page"]["rotation"] == 90


def test_the_rotate_key_is_offered_and_kept_clear_of_tag_keys(client, pages):
    html = client.get(f"/review/{pages[0].pk}/").content.decode()
    assert 'data-rotate-key="q"' in html and "<kbd>Q</kbd> turn the page a quarter" in html
    factories.make_tag("quotes", key="q", order=20)
    html = client.get(f"/review/{pages[0].pk}/").content.decode()
    assert 'data-rotate-key="]"' in html
