"""Failed logins are throttled per account and per address, on the public and the admin login;
the lock is a short, growing delay (never a long lock-out of an editor); a locked attempt is
refused without hashing the password, even with the right one. The locks cannot be turned
against the account holder: a correct password from a device that signed in to the account
before, or from an address with no failures, is never refused; staff are told by email."""

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
    # Another address that guesses too meets the account's lock once it has failed (per account).
    other = Client(REMOTE_ADDR="198.51.100.60")
    attempt(other, which, "ed", "wrong")
    assert "Too many failed attempts" in attempt(other, which, "ED", "pw-123456!").content.decode()
    assert not logged_in(other)
    assert editor.pk


def test_a_locked_attempt_does_not_hash_the_password(limits, monkeypatch):
    factories.make_user("ed2")
    client = Client(REMOTE_ADDR="203.0.113.51")
    calls = []
    monkeypatch.setattr("django.contrib.auth.forms.authenticate", lambda *a, **k: calls.append(1))
    # Positive control: the stand-in is what the form calls, so an unlocked attempt reaches it.
    attempt(client, "public", "ed2", "wrong")
    assert calls == [1]
    monkeypatch.undo()
    for _ in range(2):
        attempt(client, "public", "ed2", "wrong")  # now locked
    monkeypatch.setattr("django.contrib.auth.forms.authenticate", lambda *a, **k: calls.append(1))
    attempt(client, "public", "ed2", "pw-123456!")
    assert calls == [1]  # the locked attempt never reached it


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


def _known_device_cookie(which: str, username: str) -> str:
    """The device cookie a browser gets by signing in to ``username`` (then it logs out)."""
    from lib import device_cookie

    browser = Client(REMOTE_ADDR="192.0.2.10")
    attempt(browser, which, username, "pw-123456!")
    assert logged_in(browser)
    return browser.cookies[device_cookie.COOKIE_NAME].value


@pytest.mark.parametrize("which", ["public", "admin"])
def test_an_attacker_cannot_lock_the_editor_out(limits, which):
    """An attacker's failures from one address, then the editor's correct password from a known
    device (even behind the attacker's own address) and from a fresh address both get in; the
    attacker's address stays slowed."""
    from lib import device_cookie

    factories.make_user("editor", is_staff=True, is_superuser=True)
    cookie = _known_device_cookie(which, "editor")
    attacker = Client(REMOTE_ADDR="203.0.113.66")
    for _ in range(8):
        attempt(attacker, which, "editor", "wrong")
    assert "Too many failed attempts" in attempt(attacker, which, "editor", "pw-123456!").content.decode()

    for address in ("192.0.2.10", "203.0.113.66"):  # the editor's own, and a shared one
        known = Client(REMOTE_ADDR=address)
        known.cookies[device_cookie.COOKIE_NAME] = cookie
        attempt(known, which, "editor", "pw-123456!")
        assert logged_in(known), address
    fresh = Client(REMOTE_ADDR="198.51.100.77")
    attempt(fresh, which, "editor", "pw-123456!")
    assert logged_in(fresh)

    assert "Too many failed attempts" in attempt(attacker, which, "editor", "pw-123456!").content.decode()
    assert not logged_in(attacker)


def test_a_device_cookie_for_another_account_or_forged_counts_for_nothing(limits):
    from lib import device_cookie

    factories.make_user("ed5", is_staff=True)
    factories.make_user("other5")
    cookie = _known_device_cookie("public", "other5")
    attacker = Client(REMOTE_ADDR="203.0.113.67")
    for _ in range(4):
        attempt(attacker, "public", "ed5", "wrong")
    for value in (cookie, cookie[:-2] + "xx"):
        client = Client(REMOTE_ADDR="203.0.113.67")
        client.cookies[device_cookie.COOKIE_NAME] = value
        assert "Too many failed attempts" in attempt(client, "public", "ed5", "pw-123456!").content.decode()


def test_a_known_device_that_guesses_is_slowed_on_its_own(limits):
    from lib import device_cookie

    factories.make_user("ed6")
    cookie = _known_device_cookie("public", "ed6")
    device = Client(REMOTE_ADDR="192.0.2.11")
    device.cookies[device_cookie.COOKIE_NAME] = cookie
    for _ in range(3):
        attempt(device, "public", "ed6", "wrong")
    assert "Too many failed attempts" in attempt(device, "public", "ed6", "pw-123456!").content.decode()


def test_staff_get_one_email_per_window_when_email_is_configured(limits):
    from django.core import mail

    limits.LOGIN_ALERT_EMAIL = True
    factories.make_user("ed7", is_staff=True, email="ed7@example.org")
    factories.make_user("rev7", email="rev7@example.org")
    attacker = Client(REMOTE_ADDR="203.0.113.68")
    for _ in range(3):
        attempt(attacker, "public", "ed7", "wrong")
    assert [m.to for m in mail.outbox] == [["ed7@example.org"]]
    assert "ed7" in mail.outbox[0].body
    for _ in range(6):  # more failures in the window, from elsewhere: no second email
        attempt(Client(REMOTE_ADDR="198.51.100.90"), "public", "ed7", "wrong")
    for _ in range(4):  # a reviewer's account: no email
        attempt(Client(REMOTE_ADDR="198.51.100.91"), "public", "rev7", "wrong")
    assert len(mail.outbox) == 1


def test_no_email_when_email_is_not_configured(limits):
    from django.core import mail

    limits.LOGIN_ALERT_EMAIL = False
    factories.make_user("ed8", is_staff=True, email="ed8@example.org")
    for _ in range(4):
        attempt(Client(REMOTE_ADDR="203.0.113.69"), "public", "ed8", "wrong")
    assert mail.outbox == []
