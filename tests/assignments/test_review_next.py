"""``/review/next/`` and ``/staff/cache/``."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from assignments import picker_stats
from assignments.models import Assignment
from assignments.selectors import CURRENT_ASSIGNMENT_COOKIE
from denorm import operations, registry
from reviews.actions import submit_review
from tests import factories
from tests.assignments._picker_support import build_sets

pytestmark = pytest.mark.django_db


def make_assignment(pages: int, **extra):
    doc = factories.make_document(pages=pages)
    return factories.make_assignment(documents=[doc], **extra), list(doc.pages.values_list("pk", flat=True))


def test_it_redirects_to_a_page_of_the_cookie_assignment(client):
    factories.make_assignment(documents=[factories.make_document(pages=2)], featured=Assignment.Featured.MAIN)
    chosen, ids = make_assignment(3)
    build_sets()
    client.cookies[CURRENT_ASSIGNMENT_COOKIE] = chosen.slug
    response = client.get("/review/next/")
    assert response.status_code == 302
    assert response["Location"] in {f"/review/{i}/" for i in ids}
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]


def test_it_uses_the_main_featured_assignment_without_a_cookie(client):
    main, ids = make_assignment(2, featured=Assignment.Featured.MAIN)
    make_assignment(2)
    build_sets()
    response = client.get("/review/next/")
    assert response["Location"] in {f"/review/{i}/" for i in ids}


def test_it_never_creates_an_account_for_an_anonymous_visitor(client):
    make_assignment(2, featured=Assignment.Featured.MAIN)
    build_sets()
    users = get_user_model().objects.count()
    for _ in range(3):
        assert client.get("/review/next/").status_code == 302
    assert get_user_model().objects.count() == users


def test_it_sends_a_reviewer_with_nothing_left_to_the_done_page(client, reviewer):
    main, ids = make_assignment(2, featured=Assignment.Featured.MAIN, threshold=2)
    other, _ = make_assignment(4)
    for page_id in ids:
        submit_review(reviewer=reviewer, page_id=page_id)
    build_sets()
    # The done page ranks assignments by their progress counters: bring them up to date.
    operations.rebuild_entries(registry.select(["assignment-page-count", "assignment-progress"]))
    client.force_login(reviewer)
    response = client.get("/review/next/")
    assert response.status_code == 302
    assert response["Location"] == f"/assignments/{main.slug}/done/"
    done = client.get(response["Location"])
    assert done.status_code == 200
    assert other.title in done.content.decode()


def test_it_goes_to_the_done_page_when_the_assignment_is_finished_for_everyone(client):
    main, ids = make_assignment(1, featured=Assignment.Featured.MAIN)
    submit_review(reviewer=factories.make_user(), page_id=ids[0])
    build_sets()
    assert client.get("/review/next/")["Location"] == f"/assignments/{main.slug}/done/"


def test_it_asks_to_choose_an_assignment_when_there_is_none(client):
    response = client.get("/review/next/")
    assert response.status_code == 302 and response["Location"] == "/assignments/"


def test_it_refuses_other_methods_and_changes_nothing(client):
    make_assignment(2, featured=Assignment.Featured.MAIN)
    response = client.post("/review/next/")
    assert response.status_code == 405
    assert get_user_model().objects.count() == 0


def test_the_staff_cache_page_is_for_staff_only(client, reviewer):
    response = client.get("/staff/cache/")
    assert response.status_code == 302 and "/account/login/" in response["Location"]
    client.force_login(reviewer)
    assert client.get("/staff/cache/").status_code == 403


def test_the_staff_cache_page_shows_the_picker_sources(client, editor):
    main, _ = make_assignment(3, featured=Assignment.Featured.MAIN)
    build_sets()
    picker_stats.reset_pending()
    for _ in range(3):
        client.get("/review/next/")
    picker_stats.count(picker_stats.POSTGRES, 2)
    client.force_login(editor)
    response = client.get("/staff/cache/")
    assert response.status_code == 200
    rows = {row["name"]: row for row in response.context["picker_counts"]}
    assert rows["redis"]["ever"] == 3 and rows["postgres"]["ever"] == 2
    assert rows["redis"]["hour"] == 3
    body = response.content.decode()
    assert main.title in body and 'data-source="pool"' in body
