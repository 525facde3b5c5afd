"""Failed logins are throttled per account and per address, on the public and the admin login;
the lock is a short, growing delay (never a long lock-out of an editor); a locked attempt is
refused without hashing the password, even with the right one."""

from __future__ import annotations

import pytest
from django.test import Client

from lib import login_throttle
from tests import factories

pytestmark = pytest.mark.django_db

LOGINS = {"public": "/account/login/", "admin": "/admin/login/"}


@pytest.fixture
def limits(settings):
    settings.RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT = 3
    settings.RATE_LIMIT_LOGIN_FAILURES_PER_ADDRESS = 6
    settings.RATE_LIMIT_LOGIN_BASE_DELAY_SECONDS = 2
    settings.RATE_LIMIT_LOGIN_MAX_DELAY_SECONDS = 60
    return settings


def attempt(client, which, username, password):
    return client.post(LOGINS[which], {"username": username, "password": password})


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.parametrize("which", ["public", "admin"])
def test_wrong_passwords_then_the_right_one_is_refused_while_locked(limits, which):
    editor = factories.make_user("ed", is_staff=True, is_superuser=True)
    client = Client(REMOTE_ADDR="203.0.113.50")
    for _ in range(3):
        assert not logged_in(client) and attempt(client, which, "ed", "wrong").status_code in (200, 400)
    response = attempt(client, which, "ed", "pw-123456!")  # the right password, while locked
    assert "Too many failed attempts" in response.content.decode()
    assert not logged_in(client)
    # Another address trying the same account is refused too (per account).
    other = Client(REMOTE_ADDR="198.51.100.60")
    assert "Too many failed attempts" in attempt(other, which, "ED", "pw-123456!").content.decode()
    assert editor.pk


def test_a_locked_attempt_does_not_hash_the_password(limits, monkeypatch):
    factories.make_user("ed2")
    client = Client(REMOTE_ADDR="203.0.113.51")
    for _ in range(3):
        attempt(client, "public", "ed2", "wrong")
    calls = []
    monkeypatch.setattr("django.contrib.auth.forms.authenticate", lambda *a, **k: calls.append(1))
    attempt(client, "public", "ed2", "pw-123456!")
    assert calls == []


def test_the_lock_is_short_and_grows_and_the_editor_gets_in_after_it(limits):
    from lib import keys
    from lib.redis_client import get_redis

    limits.RATE_LIMIT_LOGIN_FAILURES_PER_ADDRESS = 100  # only the account's lock in play here
    factories.make_user("ed3", is_staff=True)
    client = Client(REMOTE_ADDR="203.0.113.52")
    for _ in range(3):
        attempt(client, "public", "ed3", "wrong")
    lock = keys.login_lock("account", "ed3")
    first = get_redis().ttl(lock)
    assert 0 < first <= 2
    get_redis().delete(lock)  # the delay has passed
    attempt(client, "public", "ed3", "wrong")
    assert 2 < get_redis().ttl(lock) <= 4  # doubled
    for _ in range(20):  # however many failures, never longer than the maximum
        get_redis().delete(lock)
        attempt(client, "public", "ed3", "wrong")
    assert get_redis().ttl(lock) <= 60
    get_redis().delete(lock)
    attempt(client, "public", "ed3", "pw-123456!")
    assert logged_in(client)


def test_one_address_guessing_many_accounts_is_throttled(limits):
    for n in range(7):
        factories.make_user(f"user{n}")
    client = Client(REMOTE_ADDR="203.0.113.53")
    texts = [attempt(client, "public", f"user{n}", "wrong").content.decode() for n in range(7)]
    assert "Too many failed attempts" not in "".join(texts[:6])
    assert "Too many failed attempts" in texts[6]


def test_with_redis_down_each_process_still_throttles(limits, settings, tmp_path):
    from lib.redis_client import reset_redis

    factories.make_user("ed4")
    settings.REDIS_URL = f"unix://{tmp_path}/no-redis-here.sock?db=0"
    reset_redis()
    login_throttle.reset_local_counters()
    try:
        client = Client(REMOTE_ADDR="203.0.113.54")
        for _ in range(3):
            attempt(client, "public", "ed4", "wrong")
        assert "Too many failed attempts" in attempt(client, "public", "ed4", "pw-123456!").content.decode()
    finally:
        reset_redis()
        login_throttle.reset_local_counters()
