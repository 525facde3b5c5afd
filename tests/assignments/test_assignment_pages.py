"""Assignment pages: the list, one assignment with its progress and start button, start (sets
the current-assignment cookie and goes to the next page) and done (offers what needs reviews)."""

import pytest

from assignments.models import Assignment
from assignments.selectors import CURRENT_ASSIGNMENT_COOKIE, assignments_needing_reviews
from tests import factories

pytestmark = pytest.mark.django_db


def make(slug, *, page_count=10, completed=0, active=True, **kw):
    a = factories.make_assignment(slug=slug, active=active, **kw)
    Assignment.objects.filter(pk=a.pk).update(page_count=page_count, completed_count=completed)
    a.refresh_from_db()
    return a


def test_the_list_shows_active_assignments_with_progress(client, django_assert_max_num_queries):
    a = make("cabinet", page_count=40, completed=10)
    make("closed", active=False)
    with django_assert_max_num_queries(2):
        html = client.get("/assignments/").content.decode()
    assert f'<progress id="progress-{a.pk}" value="10" max="40"' in html
    assert 'href="/assignments/cabinet/start/"' in html
    assert "/assignments/closed/" not in html


def test_an_assignment_page_shows_description_progress_and_start(client):
    a = make("cabinet", page_count=40, completed=10)
    Assignment.objects.filter(pk=a.pk).update(description="The shadow cabinet's claims.", threshold=3)
    html = client.get("/assignments/cabinet/").content.decode()
    assert "The shadow cabinet&#x27;s claims." in html
    assert f'<progress id="progress-{a.pk}" value="10" max="40"' in html
    assert "10</strong> of 40 pages complete (25%)" in html
    assert "once 3 different people" in html
    assert 'href="/assignments/cabinet/start/"' in html
    assert "Top reviewers" in html


def test_a_closed_assignment_has_no_start_button(client):
    make("closed", active=False)
    html = client.get("/assignments/closed/").content.decode()
    assert "This assignment is closed" in html
    assert "/assignments/closed/start/" not in html


def test_an_assignment_without_pages_says_so_instead_of_an_empty_bar(client):
    make("empty", page_count=0)
    html = client.get("/assignments/empty/").content.decode()
    assert "No pages in this assignment yet." in html
    assert "<progress" not in html


def test_start_sets_the_cookie_and_goes_to_the_next_page(client):
    make("cabinet")
    response = client.get("/assignments/cabinet/start/")
    assert response.status_code == 302 and response.url == "/review/next/"
    cookie = response.cookies[CURRENT_ASSIGNMENT_COOKIE]
    assert cookie.value == "cabinet"
    assert cookie["max-age"] >= 7 * 24 * 3600 and cookie["httponly"] and cookie["samesite"] == "Lax"


@pytest.mark.parametrize("slug", ["closed", "no-such-thing"])
def test_start_refuses_closed_or_unknown_assignments(client, slug):
    make("closed", active=False)
    response = client.get(f"/assignments/{slug}/start/")
    assert response.status_code == 404
    assert CURRENT_ASSIGNMENT_COOKIE not in response.cookies


def test_unknown_assignments_are_404(client):
    assert client.get("/assignments/nope/").status_code == 404
    assert client.get("/assignments/nope/done/").status_code == 404


def test_done_offers_the_assignments_that_most_need_reviews(client):
    make("finished", page_count=5, completed=5)
    make("few-left", page_count=10, completed=8)
    make("many-left", page_count=100, completed=10)
    make("closed", page_count=100, active=False)
    make("other-complete", page_count=3, completed=3)
    response = client.get("/assignments/finished/done/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Nothing left for you here" in html
    assert html.index("/assignments/many-left/start/") < html.index("/assignments/few-left/start/")
    for absent in [
        "/assignments/closed/start/",
        "/assignments/other-complete/start/",
        "/assignments/finished/start/",
    ]:
        assert absent not in html


def test_done_says_so_when_everything_is_complete(client):
    make("finished", page_count=5, completed=5)
    html = client.get("/assignments/finished/done/").content.decode()
    assert "Every open assignment is complete." in html


def test_assignments_needing_reviews_orders_by_pages_left():
    make("a", page_count=10, completed=1)
    make("b", page_count=50, completed=45)
    make("c", page_count=30, completed=0)
    assert [a.slug for a in assignments_needing_reviews()] == ["c", "a", "b"]
    assert [a.slug for a in assignments_needing_reviews(limit=1)] == ["c"]


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_assignment_pages_refuse_writes(client, method):
    make("cabinet")
    response = getattr(client, method)("/assignments/cabinet/start/")
    assert response.status_code == 405
    assert CURRENT_ASSIGNMENT_COOKIE not in response.cookies
