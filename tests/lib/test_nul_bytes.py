"""A NUL byte anywhere a visitor can put one (path, query, cookie, form field) is answered with
a 404 or 400 before it reaches Postgres (which refuses NUL in text with a DataError, a 500)."""

from __future__ import annotations

import pytest
from django.test import Client

from reviews.models import Review


@pytest.fixture
def client():
    # Any exception would be a 500: let it show as one rather than raise in the test.
    return Client(raise_request_exception=False)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/users/a%00b/", "/users/a\x00b/", "/tags/x%00/", "/%00/"])
def test_a_nul_in_the_path_is_a_404(client, path):
    assert client.get(path).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["cursor=%00", "party=a%00", "q%00=1", "order=most-tagged%00"])
def test_a_nul_in_the_query_string_is_a_400(client, query):
    assert client.get(f"/api/pages/?{query}").status_code == 400
    assert client.get(f"/?{query}").status_code == 400


@pytest.mark.django_db
def test_a_nul_in_the_assignment_cookie_is_a_400(client, reviewer):
    client.cookies["crowd_assignment"] = "main\x00x"
    assert client.get("/review/next/").status_code == 400
    assert client.get("/").status_code == 400


@pytest.mark.django_db
def test_a_nul_in_a_raw_cookie_header_is_a_400(client):
    response = client.get("/", HTTP_COOKIE="crowd_assignment=a\x00b")
    assert response.status_code == 400


@pytest.mark.django_db
def test_a_nul_in_a_form_field_is_a_400_and_records_nothing(client, reviewer, tags):
    from tests import factories

    document = factories.make_document(pages=1)
    factories.make_assignment(documents=[document])
    page = document.pages.get()
    client.force_login(reviewer)
    response = client.post(f"/review/{page.pk}/", {"action": "submit", "tags": "\x00"})
    assert response.status_code == 400
    assert not Review.objects.exists()
    login = client.post("/account/login/", {"username": "a\x00", "password": "b"})
    assert login.status_code == 400


@pytest.mark.django_db
def test_an_ordinary_request_still_works(client):
    assert client.get("/").status_code == 200


def test_under_the_api_a_nul_in_the_query_string_is_a_json_400(client):
    """The API's clients and its schema see one content type, errors included."""
    response = client.get("/api/assignments/?cursor=%00")
    assert response.status_code == 400 and response["Content-Type"] == "application/json"
    assert "NUL" in response.json()["detail"]
