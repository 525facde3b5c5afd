"""A database that cannot be reached (Postgres restarting) is answered with a friendly 503 and
``Retry-After``, not a traceback; any other error is still the plain 500 page. (The real
restart, under load, is tests/faults/test_faults_under_load.py.)"""

from __future__ import annotations

import psycopg
import pytest
from django.db import InterfaceError, OperationalError
from django.test import Client

from reviews import selectors

pytestmark = pytest.mark.django_db


def wrapped_psycopg_error():
    try:
        raise psycopg.OperationalError("server closed the connection unexpectedly")
    except psycopg.OperationalError as exc:
        raise OperationalError(str(exc)) from exc


@pytest.mark.parametrize(
    "error",
    [OperationalError("connection refused"), InterfaceError("connection already closed"), None],
)
def test_an_unreachable_database_is_a_503_with_retry_after(monkeypatch, error):
    def broken(page_id, **kwargs):
        if error is None:
            wrapped_psycopg_error()
        raise error

    monkeypatch.setattr(selectors, "page_for_review", broken)
    response = Client(raise_request_exception=False).get("/review/1/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    body = response.content.decode()
    assert "Back in a moment" in body and "Traceback" not in body and "connection" not in body


def test_any_other_error_is_still_the_500_page(monkeypatch):
    def broken(page_id, **kwargs):
        raise ValueError("a bug")

    monkeypatch.setattr(selectors, "page_for_review", broken)
    response = Client(raise_request_exception=False).get("/review/1/")
    assert response.status_code == 500
    assert not response.has_header("Retry-After")
