"""Sessions expire after SESSION_COOKIE_AGE unused (weeks, not a year) and slide while used: a
session in use is saved again at most once per SESSION_RENEW_SECONDS, never on every request."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.contrib.sessions.backends.cached_db import SessionStore
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assignments.models import Assignment
from lib.middleware import SESSION_RENEWED_AT
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def page(tags):
    document = factories.make_document(pages=2)
    factories.make_assignment(documents=[document], featured=Assignment.Featured.MAIN)
    return document.pages.order_by("number").first()


def session_writes(queries) -> list[str]:
    return [q["sql"] for q in queries if "django_session" in q["sql"] and not q["sql"].startswith("SELECT")]


def age_the_renewal(client, seconds: int) -> None:
    """Pretend the last renewal happened ``seconds`` ago (what a day without visits leaves)."""
    store = SessionStore(session_key=client.cookies[settings.SESSION_COOKIE_NAME].value)
    store[SESSION_RENEWED_AT] = int(time.time()) - seconds
    store.save()


def test_the_first_review_logs_in_for_weeks_not_a_year(client, page):
    assert client.post(f"/review/{page.pk}/", {"tags": ["receipt"], "action": "submit"}).status_code == 302
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["max-age"] == settings.SESSION_COOKIE_AGE
    assert 14 * 86400 <= settings.SESSION_COOKIE_AGE <= 60 * 86400
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


def test_a_session_used_within_the_renewal_interval_is_not_written_again(client, page):
    client.post(f"/review/{page.pk}/", {"tags": ["receipt"], "action": "submit"})
    client.cookies[settings.SESSION_COOKIE_NAME]["max-age"] = ""  # forget what the last one said
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/review/{page.pk}/")
    assert response.status_code == 200
    assert session_writes(queries.captured_queries) == []
    assert settings.SESSION_COOKIE_NAME not in response.cookies


def test_a_session_used_after_the_renewal_interval_is_renewed_once(client, page):
    """A reviewer back after a day gets a fresh SESSION_COOKIE_AGE: an active reviewer's
    unclaimed anon-<n> account never expires under them."""
    client.post(f"/review/{page.pk}/", {"tags": ["receipt"], "action": "submit"})
    age_the_renewal(client, settings.SESSION_RENEW_SECONDS + 60)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/review/{page.pk}/")
    assert len(session_writes(queries.captured_queries)) == 1
    renewed = response.cookies[settings.SESSION_COOKIE_NAME]
    assert renewed["max-age"] == settings.SESSION_COOKIE_AGE
    store = SessionStore(session_key=renewed.value)
    assert store[SESSION_RENEWED_AT] >= int(time.time()) - 5
    assert store.get_expiry_age() == settings.SESSION_COOKIE_AGE
    assert "_auth_user_id" in store  # still the same reviewer

    with CaptureQueriesContext(connection) as queries:
        again = client.get(f"/review/{page.pk}/")
    assert session_writes(queries.captured_queries) == []
    assert settings.SESSION_COOKIE_NAME not in again.cookies


def test_visitors_without_a_session_get_none(client, page):
    response = client.get(f"/review/{page.pk}/")
    assert settings.SESSION_COOKIE_NAME not in response.cookies


def test_an_unknown_session_cookie_creates_nothing(client, page):
    client.cookies[settings.SESSION_COOKIE_NAME] = "x" * 32
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/review/{page.pk}/")
    assert response.status_code == 200
    assert session_writes(queries.captured_queries) == []


def test_beat_deletes_expired_sessions_daily_and_keeps_live_ones():
    from lib.tasks import clear_expired_sessions

    expired = SessionStore()
    expired["x"] = 1
    expired.set_expiry(-60)  # expired a minute ago
    expired.save()
    live = SessionStore()
    live["x"] = 1
    live.save()

    clear_expired_sessions()

    from django.contrib.sessions.models import Session

    assert set(Session.objects.values_list("session_key", flat=True)) == {live.session_key}
    schedule = settings.CELERY_BEAT_SCHEDULE["sessions-clear-expired"]
    assert schedule["task"] == clear_expired_sessions.name and schedule["schedule"] == 86400
