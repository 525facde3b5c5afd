"""Claiming an account refuses a password that is the claimed username or the account's old
``anon-<n>`` name (both are shown publicly); a different password is accepted."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def anonymous_client(client, tags):
    document = factories.make_document(pages=1)
    factories.make_assignment(documents=[document])
    client.post(f"/review/{document.pages.get().pk}/", {"action": "submit"})
    return client


def _claim(client, username, password):
    return client.post(
        "/account/claim/", {"username": username, "password1": password, "password2": password}
    )


@pytest.mark.parametrize("password", ["jo-reporter", "JO-REPORTER", "jo-reporter1"])
def test_the_claimed_username_is_refused_as_the_password(anonymous_client, password):
    response = _claim(anonymous_client, "jo-reporter", password)
    assert response.status_code == 400 and "too similar" in response.content.decode()
    assert not get_user_model().objects.filter(username="jo-reporter").exists()


def test_the_old_anonymous_name_is_refused_as_the_password(anonymous_client):
    old = get_user_model().objects.get(pk=anonymous_client.session["_auth_user_id"]).username
    padded = old + "-x"  # the minimum length: anon-<n> alone may be too short to reach the check
    for password in (old + "00", padded):
        response = _claim(anonymous_client, "jo-reporter", password)
        assert response.status_code == 400 and "too similar" in response.content.decode(), password


def test_a_different_password_is_accepted(anonymous_client):
    assert _claim(anonymous_client, "jo-reporter", "a fine long secret 42").status_code == 302
