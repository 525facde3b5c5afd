"""The signed-in user is loaded with their Reviewer row, in one query (``reviews.auth``): the
review screen and the submit read the row from there, not with queries of their own. The row is
loaded afresh at each request, as the user is, so any change to the account shows at the next
request: deactivation, a new password, the staff flag, quarantine, claiming. Sessions logged in
before, which name Django's ModelBackend, keep working."""

import re

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, base_user, get_user_model
from django.contrib.auth.signals import user_login_failed
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assignments.models import Assignment
from moderation.actions.quarantine import quarantine_reviewer
from reviews import auth, selectors
from reviews.actions import submit_review
from reviews.models import Page, Review, Reviewer
from tests import factories

pytestmark = pytest.mark.django_db
User = get_user_model()
LEGACY_BACKEND = "django.contrib.auth.backends.ModelBackend"


@pytest.fixture
def pages(tags):
    doc = factories.make_document(pages=4)
    factories.make_assignment(documents=[doc], featured=Assignment.Featured.MAIN)
    return list(doc.pages.order_by("number"))


def screen(client, page):
    response = client.get(f"/review/{page.pk}/")
    assert response.status_code == 200
    return response


def user_of(response):
    return response.wsgi_request.user


def reads_of(queries, table: str) -> list[str]:
    """The reads naming ``table`` (a batch of statements that writes it is not a read of it:
    lib.sql_batch)."""
    return [
        q["sql"]
        for q in queries
        if q["sql"].startswith("SELECT")
        and re.search(rf"\b{table}\b", q["sql"])
        and not re.search(r"\b(INSERT|UPDATE)\b", q["sql"])
    ]


def test_the_review_screen_reads_the_user_with_their_row_and_nothing_more_about_them(
    client, pages, reviewer, settings
):
    """Four queries: the user with their Reviewer row, the page with whether they reviewed it,
    the tag set, the current assignment (the prefetch's two: tests/reviews/test_review_prefetch.py)."""
    settings.REVIEW_PREFETCH_NEXT = False
    submit_review(reviewer=reviewer, page_id=pages[0].pk, tag_slugs=[], only_open_pages=False)
    client.force_login(reviewer)
    screen(client, pages[1])  # warm the session cache
    with CaptureQueriesContext(connection) as ctx:
        html = screen(client, pages[0]).content.decode()
    assert len(ctx.captured_queries) == 4
    assert "already reviewed" in html and '<strong id="own-count">1</strong>' in html
    assert len(reads_of(ctx.captured_queries, "reviews_reviewer")) == 1  # joined to auth_user
    assert reads_of(ctx.captured_queries, "reviews_reviewer") == reads_of(ctx.captured_queries, "auth_user")


def test_a_submit_reads_the_reviewer_only_with_the_user(pages):
    client = Client()
    client.post(f"/review/{pages[0].pk}/", {"action": "submit"})  # creates anon-<n> and logs in
    with CaptureQueriesContext(connection) as ctx:
        response = client.post(f"/review/{pages[1].pk}/", {"action": "submit", "tags": ["receipt"]})
    assert response.status_code == 302
    assert Review.objects.filter(page=pages[1]).count() == 1 and User.objects.count() == 1
    # The anonymous reviewer's rate limit applied (is_anonymous_reviewer) from the joined row.
    assert len(reads_of(ctx.captured_queries, "reviews_reviewer")) == 1
    assert reads_of(ctx.captured_queries, "reviews_reviewer") == reads_of(ctx.captured_queries, "auth_user")


def test_a_first_review_and_a_login_name_the_reviewer_backend(pages):
    anon = Client()
    anon.post(f"/review/{pages[0].pk}/", {"action": "submit"})
    assert anon.session[BACKEND_SESSION_KEY] == auth.BACKEND
    factories.make_user("jo")
    client = Client()
    assert client.post("/account/login/", {"username": "jo", "password": "pw-123456!"}).status_code == 302
    assert client.session[BACKEND_SESSION_KEY] == auth.BACKEND
    assert user_of(screen(client, pages[0])).username == "jo"


@pytest.mark.parametrize("username", ["jo", "nobody"])
def test_a_failed_login_hashes_the_password_once(pages, monkeypatch, username):
    """ModelBackend stays listed for old sessions: it must not check the password again."""
    factories.make_user("jo")
    hashed = []
    for name in ("check_password", "make_password"):  # a known user's check; an unknown one's decoy
        real = getattr(base_user, name)
        monkeypatch.setattr(base_user, name, lambda *a, real=real, **k: hashed.append(1) or real(*a, **k))
    failed = []

    def on_failure(**kwargs):
        failed.append(1)

    user_login_failed.connect(on_failure)
    try:
        response = Client().post("/account/login/", {"username": username, "password": "wrong"})
    finally:
        user_login_failed.disconnect(on_failure)
    assert response.status_code == 400
    assert len(hashed) == 1 and len(failed) == 1


def test_a_session_from_before_keeps_working(pages):
    """Sessions logged in before name ModelBackend: same reviewer, same answers (the row is then
    read on its own)."""
    client = Client()
    client.post(f"/review/{pages[0].pk}/", {"action": "submit"})
    session = client.session
    session[BACKEND_SESSION_KEY] = LEGACY_BACKEND
    session.save()
    anon = User.objects.get()
    html = screen(client, pages[0]).content.decode()
    assert "already reviewed" in html and '<strong id="own-count">1</strong>' in html
    assert client.post(f"/review/{pages[1].pk}/", {"action": "submit"}).status_code == 302
    assert User.objects.count() == 1 and Review.objects.filter(reviewer=anon).count() == 2
    assert user_of(screen(client, pages[2])) == anon
    assert client.get("/account/claim/").status_code == 200  # still offered: anonymous


def test_a_deactivated_user_is_signed_out_at_the_next_request(client, pages, reviewer):
    client.force_login(reviewer)
    assert user_of(screen(client, pages[0])) == reviewer
    User.objects.filter(pk=reviewer.pk).update(is_active=False)
    assert not user_of(screen(client, pages[0])).is_authenticated


def test_a_changed_password_signs_other_sessions_out_at_their_next_request(client, pages, reviewer):
    client.force_login(reviewer)
    assert user_of(screen(client, pages[0])) == reviewer
    reviewer.set_password("another long secret 7")
    reviewer.save()
    assert not user_of(screen(client, pages[0])).is_authenticated


def test_the_staff_flag_counts_from_the_next_request(client, pages, reviewer):
    Page.objects.filter(pk=pages[0].pk).update(withdrawn_at=timezone.now())
    client.force_login(reviewer)
    assert client.get(f"/pages/{pages[0].pk}/").status_code == 410
    User.objects.filter(pk=reviewer.pk).update(is_staff=True)
    assert client.get(f"/pages/{pages[0].pk}/").status_code == 200  # staff see it, with the banner
    User.objects.filter(pk=reviewer.pk).update(is_staff=False)
    assert client.get(f"/pages/{pages[0].pk}/").status_code == 410


def test_a_quarantine_shows_at_the_next_request_without_the_reviewer_noticing(
    client, pages, reviewer, editor
):
    submit_review(reviewer=reviewer, page_id=pages[0].pk, tag_slugs=[], only_open_pages=False)
    client.force_login(reviewer)
    assert '<strong id="own-count">1</strong>' in screen(client, pages[1]).content.decode()
    quarantine_reviewer(reviewer, by=editor, reason="a burst of identical tags")
    assert client.post(f"/review/{pages[1].pk}/", {"action": "submit"}).status_code == 302
    assert Reviewer.objects.get(user=reviewer).review_count == 1  # the new review counts for nothing
    html = screen(client, pages[1]).content.decode()
    assert '<strong id="own-count">2</strong>' in html and "already reviewed" in html  # theirs: both


def test_claiming_shows_at_the_next_request(pages):
    client = Client()
    client.post(f"/review/{pages[0].pk}/", {"action": "submit"})
    assert client.get("/account/claim/").status_code == 200  # the claim form: anonymous
    response = client.post(
        "/account/claim/",
        {"username": "jo", "password1": "a fine long secret 42", "password2": "a fine long secret 42"},
    )
    assert response.status_code == 302
    assert client.get("/account/claim/").url == "/users/jo/"  # "already yours": no longer anonymous


def test_selectors_read_a_user_object_from_elsewhere_afresh(pages, reviewer):
    """Only a row loaded with the request's user is trusted: a user object held across writes
    (its cached row old) is read again."""
    Reviewer.objects.create(user=reviewer, anonymous=True)  # caches the row on ``reviewer``
    Reviewer.objects.filter(user=reviewer).update(anonymous=False, review_count=5, reviews_made=5)
    assert auth.loaded_reviewer(reviewer) is auth.NOT_LOADED
    assert not selectors.is_anonymous_reviewer(reviewer)
    assert selectors.reviewer_status(user=reviewer, page_id=pages[0].pk) == (5, False)


def test_a_fast_path_submit_answers_with_the_count_after_the_review(client, pages, reviewer):
    """The row loaded with the user is the row as the request began: after the review the own
    count is read again."""
    submit_review(reviewer=reviewer, page_id=pages[0].pk, tag_slugs=[], only_open_pages=False)
    client.force_login(reviewer)
    response = client.post(f"/review/{pages[1].pk}/", {"action": "submit"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response.json()["own_count"] == 2
