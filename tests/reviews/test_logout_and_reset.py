"""No lost work: logging out an unclaimed anon account warns first and offers to save it; login
and logout say what happened; login ignores username case like claim; password reset works
through Django's email backend and is rate limited."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from assignments.models import Assignment
from tests import factories

pytestmark = pytest.mark.django_db
User = get_user_model()
SECRET = "a fine long secret 42"


@pytest.fixture
def pages(tags):
    doc = factories.make_document(pages=3)
    factories.make_assignment(documents=[doc], featured=Assignment.Featured.MAIN)
    return list(doc.pages.order_by("number"))


def test_an_anonymous_reviewer_is_warned_before_logging_out(client, pages):
    client.post(f"/review/{pages[0].pk}/", {"action": "submit"})
    home = client.get("/").content.decode()
    assert 'href="/account/logout/"' in home  # a link to the warning, not a one-click logout
    html = client.get("/account/logout/").content.decode()
    assert "nobody can log back into it" in html
    assert 'href="/account/claim/"' in html and "Save my account first" in html
    assert "holds your 1 review" in html
    assert client.session.get("_auth_user_id")  # the warning page logged no one out
    response = client.post("/account/logout/", follow=True)
    assert not client.session.get("_auth_user_id")
    assert "nobody can log into that account again" in response.content.decode()


def test_login_and_logout_say_so_and_login_ignores_username_case(client):
    user = factories.make_user("Jo_Reader")
    user.set_password(SECRET)
    user.save()
    response = client.post("/account/login/", {"username": "jo_reader", "password": SECRET}, follow=True)
    assert client.session["_auth_user_id"] == str(user.pk)
    assert "Welcome back, Jo_Reader. You are logged in." in response.content.decode()
    # A named account logs out straight from the header's button.
    assert 'action="/account/logout/"' in client.get("/").content.decode()
    response = client.post("/account/logout/", follow=True)
    assert "You are logged out. Log in again as Jo_Reader any time." in response.content.decode()
    response = client.post("/account/login/", {"username": "JO_READER", "password": SECRET.upper()})
    assert response.status_code == 400 and "the username is not" in response.content.decode()


def test_password_reset_sends_a_working_link(client):
    user = factories.make_user("jo", email="jo@example.org")
    user.set_password(SECRET)
    user.save()
    assert "Forgot your password?" in client.get("/account/login/").content.decode()
    response = client.post("/account/password-reset/", {"email": "JO@example.org"})
    assert response.status_code == 302 and response["Location"] == "/account/password-reset/sent/"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["jo@example.org"]
    link = re.search(r"http://testserver(/account/reset/\S+/)", mail.outbox[0].body).group(1)
    form_url = client.get(link)["Location"]  # Django moves the token into the session
    new = "another fine secret 77"
    response = client.post(form_url, {"new_password1": new, "new_password2": new})
    assert response.status_code == 302 and response["Location"] == "/account/reset/done/"
    user.refresh_from_db()
    assert user.check_password(new)


def test_password_reset_says_the_same_for_unknown_addresses(client):
    response = client.post("/account/password-reset/", {"email": "nobody@example.org"})
    assert response.status_code == 302 and response["Location"] == "/account/password-reset/sent/"
    assert mail.outbox == []


def test_password_reset_is_rate_limited_per_email(client, settings):
    settings.RATE_LIMIT_PASSWORD_RESET_PER_EMAIL_PER_HOUR = 2
    factories.make_user("jo", email="jo@example.org")
    for _ in range(2):
        assert client.post("/account/password-reset/", {"email": "jo@example.org"}).status_code == 302
    response = client.post("/account/password-reset/", {"email": "Jo@Example.org"})
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert len(mail.outbox) == 2
