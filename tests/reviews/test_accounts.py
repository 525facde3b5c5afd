"""Light-weight registration: the first review (never a visit) creates an ``anon-<n>`` account
and logs the browser in for a long time; claiming keeps every review; login and logout work."""

import re

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from assignments.models import Assignment
from lib import keys
from lib.redis_client import get_redis, reset_redis
from reviews import sessions
from reviews.account_rules import AccountError
from reviews.actions import claim_account
from reviews.models import Review, Reviewer, Skip
from tests import factories

pytestmark = pytest.mark.django_db
User = get_user_model()


@pytest.fixture
def pages(tags):
    doc = factories.make_document(pages=4)
    factories.make_assignment(documents=[doc], featured=Assignment.Featured.MAIN)
    return list(doc.pages.order_by("number"))


def review(client, page, *tags, action="submit"):
    return client.post(f"/review/{page.pk}/", {"tags": list(tags), "action": action})


def signed_in_user(client):
    user_id = client.session.get("_auth_user_id")
    return User.objects.get(pk=user_id) if user_id else None


def test_visits_create_no_account(client, pages):
    for url in ["/", "/assignments/", f"/review/{pages[0].pk}/", f"/pages/{pages[0].pk}/", "/account/claim/"]:
        assert client.get(url).status_code == 200, url
    assert not User.objects.exists()
    assert signed_in_user(client) is None


def test_the_first_review_creates_an_anonymous_account_and_logs_in(client, pages):
    response = review(client, pages[0], "receipt")
    assert response.status_code == 302
    user = User.objects.get()
    assert user.username == f"anon-{user.pk}"
    assert not user.has_usable_password()
    assert Reviewer.objects.get(user=user).anonymous
    assert signed_in_user(client) == user
    assert Review.objects.get().reviewer == user
    # Long-lived: weeks, renewed while used (tests/lib/test_session_renewal.py), not "until the
    # browser closes".
    assert client.session.get_expire_at_browser_close() is False
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE
    assert client.cookies["sessionid"]["max-age"] == settings.SESSION_COOKIE_AGE


def test_later_reviews_use_the_same_account(client, pages):
    review(client, pages[0])
    review(client, pages[1], "hand-written")
    assert User.objects.count() == 1
    assert Reviewer.objects.get().review_count == 2


def test_a_skip_as_the_first_write_also_creates_the_account(client, pages):
    review(client, pages[0], action="skip")
    user = User.objects.get()
    assert Skip.objects.get().reviewer == user
    assert not Review.objects.exists()


def test_the_anonymous_reviewer_is_offered_to_save_the_account(client, pages):
    review(client, pages[0])
    html = client.get("/").content.decode()
    assert 'href="/account/claim/"' in html and "Save your account" in html


def test_claiming_keeps_reviews_and_credit_and_the_session(client, pages):
    review(client, pages[0], "receipt")
    review(client, pages[1])
    anon = User.objects.get()
    response = client.post(
        "/account/claim/",
        {
            "username": "Jo_Reader",
            "email": "jo@example.org",
            "password1": "a fine long secret 42",
            "password2": "a fine long secret 42",
        },
    )
    assert response.status_code == 302 and response.url == "/users/Jo_Reader/"
    user = User.objects.get()
    assert user.pk == anon.pk and user.username == "Jo_Reader" and user.email == "jo@example.org"
    assert user.check_password("a fine long secret 42")
    reviewer = Reviewer.objects.get(user=user)
    assert not reviewer.anonymous and reviewer.claimed_at is not None and reviewer.review_count == 2
    assert Review.objects.filter(reviewer=user).count() == 2
    assert signed_in_user(client) == user  # still logged in after the password change
    html = client.get("/users/Jo_Reader/").content.decode()
    assert "2 pages reviewed" in html and "Save your account" not in html


@pytest.mark.parametrize(
    ("username", "message"),
    [
        ("alice", "That username is already taken."),
        ("ALICE", "That username is already taken."),
        ("anon-77", "kept for anonymous reviewers"),
        ("Anon-me", "kept for anonymous reviewers"),
        ("sh1thead", "That username looks offensive."),
        ("big_FUCK", "That username looks offensive."),
        ("admin", "That username is reserved."),
        ("no spaces", "Usernames may contain only letters"),
        ("x" * 31, "at most 30 characters"),
    ],
)
def test_claiming_refuses_taken_offensive_and_reserved_usernames(client, pages, reviewer, username, message):
    review(client, pages[0])
    anon = User.objects.get(username__startswith="anon-")
    response = client.post(
        "/account/claim/",
        {"username": username, "password1": "a fine long secret 42", "password2": "a fine long secret 42"},
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    anon.refresh_from_db()
    assert anon.username.startswith("anon-") and not anon.has_usable_password()
    assert Reviewer.objects.get(user=anon).anonymous


def test_claiming_refuses_mismatched_or_weak_passwords(client, pages):
    review(client, pages[0])
    response = client.post(
        "/account/claim/", {"username": "jo", "password1": "a fine long secret 42", "password2": "other"}
    )
    assert response.status_code == 400 and "The two passwords do not match." in response.content.decode()
    response = client.post("/account/claim/", {"username": "jo", "password1": "123", "password2": "123"})
    assert response.status_code == 400 and "too short" in response.content.decode()
    assert User.objects.get().username.startswith("anon-")


def test_claiming_needs_an_anonymous_account(client, pages, reviewer):
    response = client.get("/account/claim/")
    assert "Nothing to save yet" in response.content.decode()
    response = client.post(
        "/account/claim/",
        {"username": "jo", "password1": "a fine long secret 42", "password2": "a fine long secret 42"},
    )
    assert "Nothing to save yet" in response.content.decode()
    assert not User.objects.filter(username="jo").exists()
    client.force_login(reviewer)
    response = client.post(
        "/account/claim/",
        {"username": "jo", "password1": "a fine long secret 42", "password2": "a fine long secret 42"},
    )
    assert response.status_code == 302 and response.url == "/users/alice/"
    reviewer.refresh_from_db()
    assert reviewer.username == "alice"


def test_claim_account_refuses_an_already_claimed_account(reviewer):
    Reviewer.objects.create(user=reviewer, anonymous=False)
    with pytest.raises(AccountError) as exc:
        claim_account(user=reviewer, username="newname", password="a fine long secret 42")
    assert exc.value.code == "already_claimed"
    reviewer.refresh_from_db()
    assert reviewer.username == "alice"


def test_logout_needs_a_post_and_login_works_again(client, pages):
    review(client, pages[0])
    client.post(
        "/account/claim/",
        {"username": "jo", "password1": "a fine long secret 42", "password2": "a fine long secret 42"},
    )
    response = client.get("/account/logout/")  # a confirmation page: GET never logs out
    assert response.status_code == 200
    assert 'action="/account/logout/"' in response.content.decode()
    assert signed_in_user(client) is not None
    response = client.post("/account/logout/")
    assert response.status_code == 302
    assert signed_in_user(client) is None
    response = client.post("/account/login/", {"username": "jo", "password": "wrong"})
    assert response.status_code == 400
    assert "do not match an account" in response.content.decode()
    response = client.post("/account/login/", {"username": "jo", "password": "a fine long secret 42"})
    assert response.status_code == 302
    assert signed_in_user(client).username == "jo"


def test_the_logout_form_needs_the_csrf_token(pages, reviewer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(reviewer)
    assert client.post("/account/logout/").status_code == 403
    assert signed_in_user(client) == reviewer


def test_the_login_page_warns_an_anonymous_reviewer_to_save_instead(client, pages):
    review(client, pages[0])
    html = client.get("/account/login/").content.decode()
    assert "save this account" in html


# Double submits: a browser with no session yet may send its first review twice before the first
# response arrives (double click without JS, a replayed request). Both carry the same form: its
# CSRF token and its signed first-write token.


def _form_token(response) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', response.content.decode()).group(1)


def _form(response) -> dict[str, str]:
    html = response.content.decode()
    form = {"csrfmiddlewaretoken": _form_token(response)}
    first_write = re.search(r'name="first_write" value="([^"]+)"', html)
    if first_write:
        form["first_write"] = first_write.group(1)
    return form


def _fresh_browser(page):
    """A browser that has loaded the review screen: a CSRF cookie, the form's tokens, no session."""
    browser = Client(enforce_csrf_checks=True)
    form = _form(browser.get(f"/review/{page.pk}/"))
    assert "first_write" in form
    return browser, form, browser.cookies[settings.CSRF_COOKIE_NAME].value


def _mark(form) -> str:
    """The Redis key of a form's first write."""
    from django.core import signing

    return keys.anonymous_first_write(signing.loads(form["first_write"], salt=sessions._TOKEN_SALT))


def _post(browser, page, form, *tags):
    if isinstance(form, str):  # a CSRF token only (a later review: no first-write token)
        form = {"csrfmiddlewaretoken": form}
    return browser.post(f"/review/{page.pk}/", {"tags": list(tags), "action": "submit", **form})


def _as_if_the_first_response_was_lost(browser, csrf_cookie):
    """The browser never saw the first response: no session cookie, its old CSRF cookie."""
    del browser.cookies[settings.SESSION_COOKIE_NAME]
    browser.cookies[settings.CSRF_COOKIE_NAME] = csrf_cookie


def test_it_records_one_review_when_the_first_submit_is_sent_twice(pages, django_capture_on_commit_callbacks):
    browser, token, csrf_cookie = _fresh_browser(pages[0])
    with django_capture_on_commit_callbacks(execute=True):
        assert _post(browser, pages[0], token, "receipt").status_code == 302
    _as_if_the_first_response_was_lost(browser, csrf_cookie)
    with django_capture_on_commit_callbacks(execute=True):
        assert _post(browser, pages[0], token, "receipt").status_code == 302
    user = User.objects.get()
    assert Review.objects.get().reviewer == user
    assert Reviewer.objects.get(user=user).review_count == 1
    assert pages[0].__class__.objects.get(pk=pages[0].pk).review_count == 1
    # The replay logged this browser into the same account, so its next review lands there too.
    assert signed_in_user(browser) == user
    assert _post(browser, pages[1], _form_token(browser.get(f"/review/{pages[1].pk}/"))).status_code == 302
    assert User.objects.count() == 1 and Review.objects.filter(reviewer=user).count() == 2


def test_two_browsers_still_get_two_accounts(pages, django_capture_on_commit_callbacks):
    first, first_token, _ = _fresh_browser(pages[0])
    second, second_token, _ = _fresh_browser(pages[0])
    with django_capture_on_commit_callbacks(execute=True):
        assert _post(first, pages[0], first_token).status_code == 302
        assert _post(second, pages[0], second_token).status_code == 302
    assert User.objects.count() == 2 and Review.objects.count() == 2
    assert signed_in_user(first) != signed_in_user(second)


def test_a_refused_first_review_leaves_no_account_and_no_key(pages, django_capture_on_commit_callbacks):
    browser, token, csrf_cookie = _fresh_browser(pages[0])
    with django_capture_on_commit_callbacks(execute=True):
        assert _post(browser, pages[0], token, "no-such-tag").status_code == 400
    assert not User.objects.exists()
    assert get_redis().get(_mark(token)) is None
    with django_capture_on_commit_callbacks(execute=True):
        assert _post(browser, pages[0], token, "receipt").status_code == 302
    user = User.objects.get()
    assert get_redis().get(_mark(token)) == str(user.pk)
    assert Review.objects.get().reviewer == user


def test_a_replay_never_logs_into_an_account_claimed_since(pages, django_capture_on_commit_callbacks):
    browser, token, csrf_cookie = _fresh_browser(pages[0])
    with django_capture_on_commit_callbacks(execute=True):
        _post(browser, pages[0], token)
    claimed = claim_account(user=User.objects.get(), username="jo", password="a fine long secret 42")
    _as_if_the_first_response_was_lost(browser, csrf_cookie)
    with django_capture_on_commit_callbacks(execute=True):
        assert _post(browser, pages[0], token).status_code == 302
    assert signed_in_user(browser) != claimed
    assert signed_in_user(browser).username.startswith("anon-")


def test_a_replay_while_the_first_submit_is_still_pending_records_nothing(pages, monkeypatch):
    """The first request marked the browser and has not committed yet (nor crashed for long)."""
    monkeypatch.setattr(sessions, "FIRST_WRITE_WAIT_SECONDS", 0.2)
    browser, token, csrf_cookie = _fresh_browser(pages[0])
    get_redis().set(_mark(token), "pending:someone-else", ex=30)
    response = _post(browser, pages[0], token)
    assert response.status_code == 409
    assert "Nothing was recorded" in response.content.decode()
    assert not User.objects.exists() and not Review.objects.exists()


def test_it_still_records_reviews_when_redis_is_down(pages, settings, tmp_path):
    """Fail open: without Redis each first write creates its account, as before the fix."""
    browser, token, csrf_cookie = _fresh_browser(pages[0])
    settings.REDIS_URL = f"unix://{tmp_path}/no-redis-here.sock?db=0"
    reset_redis()
    try:
        assert _post(browser, pages[0], token, "receipt").status_code == 302
        _as_if_the_first_response_was_lost(browser, csrf_cookie)
        assert _post(browser, pages[1], token).status_code == 302
    finally:
        reset_redis()
    assert Review.objects.count() == 2
    assert signed_in_user(browser) is not None


def test_knowing_a_victims_csrf_cookie_gives_nothing(pages, django_capture_on_commit_callbacks):
    """The takeover the probe found: replaying a victim's csrftoken right after their first review
    logged the attacker into the victim's anon-<n>. Now the attacker gets an account of their own."""
    victim, victim_form, victim_csrf = _fresh_browser(pages[0])
    with django_capture_on_commit_callbacks(execute=True):
        assert _post(victim, pages[0], victim_form, "receipt").status_code == 302
    victim_user = signed_in_user(victim)

    attacker = Client(enforce_csrf_checks=True)
    attacker.cookies[settings.CSRF_COOKIE_NAME] = victim_csrf
    attacker_form = _form(attacker.get(f"/review/{pages[1].pk}/"))
    with django_capture_on_commit_callbacks(execute=True):
        # With the victim's cookie and the attacker's own page, or with no first-write token.
        assert _post(attacker, pages[1], attacker_form).status_code == 302
        del attacker.cookies[settings.SESSION_COOKIE_NAME]
        attacker.cookies[settings.CSRF_COOKIE_NAME] = victim_csrf
        assert _post(attacker, pages[1], attacker_form["csrfmiddlewaretoken"]).status_code == 302
    assert signed_in_user(attacker) not in (None, victim_user)
    assert Review.objects.filter(reviewer=victim_user).count() == 1


def test_a_forged_first_write_token_is_ignored(pages, django_capture_on_commit_callbacks):
    browser, form, _ = _fresh_browser(pages[0])
    forged = dict(form, first_write="made-up:token")
    with django_capture_on_commit_callbacks(execute=True):
        assert _post(browser, pages[0], forged).status_code == 302
    assert User.objects.count() == 1
    assert not get_redis().keys("*anon*")
