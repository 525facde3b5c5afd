"""Failed logins are throttled per address, per account and per device, on the public and the
admin login, in a way that cannot be turned against the account holder (OWASP's device cookies).

After ``RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT`` failures for one username (or
``RATE_LIMIT_LOGIN_FAILURES_PER_ADDRESS`` from one address) within
``RATE_LIMIT_LOGIN_WINDOW_SECONDS``, each further failure locks that account (address) for a
delay that doubles from ``RATE_LIMIT_LOGIN_BASE_DELAY_SECONDS`` up to
``RATE_LIMIT_LOGIN_MAX_DELAY_SECONDS``. While locked, attempts are refused before the password
is hashed (parallel guessing cannot load the CPU) and are not counted.

Which lock applies to an attempt (why: before this, five wrong passwords for ``editor`` from
anywhere kept the editor out of takedowns for as long as the attacker cared to):

- from a device that has signed in to this account before (``lib.device_cookie``): only that
  device's own lock, counted from its own failures. Nobody else's failures refuse it.
- otherwise: the address's lock, and the account's lock only when this address has failed logins
  in the window. A correct password from an address with no failures is never refused; an
  address that guesses is slowed on its own and, once it has failed, by the account's lock too.

Counts live in Redis (all processes); while Redis is down each process keeps its own. Staff whose
account reaches its failure threshold get one email per window (:func:`_alert_staff`), when the
site has email configured (``LOGIN_ALERT_EMAIL``: ``EMAIL_HOST`` or ``EMAIL_BACKEND`` set).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

import redis
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.http import HttpRequest

from lib import device_cookie, keys
from lib.log_throttle import warn_throttled
from lib.ratelimit import client_address
from lib.redis_client import get_redis
from lib.redis_scripts import LuaScript

log = logging.getLogger("crowd.auth")

# KEYS: failure counter, lock. ARGV: window, threshold, base delay, max delay. Returns the delay.
_FAIL_LUA = """
local n = redis.call('incr', KEYS[1])
if n == 1 then redis.call('expire', KEYS[1], tonumber(ARGV[1])) end
local over = n - tonumber(ARGV[2])
if over < 0 then return 0 end
local delay = math.min(tonumber(ARGV[4]), tonumber(ARGV[3]) * 2 ^ math.min(over, 30))
redis.call('set', KEYS[2], '1', 'EX', math.max(1, math.floor(delay)))
return math.floor(delay)
"""
FAIL = LuaScript(_FAIL_LUA, "login_failure")


def _account(username: str) -> str:
    return (username or "").strip().lower()


def _identities(request: HttpRequest, username: str) -> list[tuple[str, str, int]]:
    """What a failure counts against: the device (when known for this account) or the account,
    and the address."""
    account = _account(username)
    per_account = settings.RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT
    device = device_cookie.known_device(request, account)
    first = ("device", f"{device}|{account}", per_account) if device else ("account", account, per_account)
    return [first, ("address", client_address(request), settings.RATE_LIMIT_LOGIN_FAILURES_PER_ADDRESS)]


class _Local:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.failures: dict[tuple[str, str], tuple[int, float]] = {}
        self.locked_until: dict[tuple[str, str], float] = {}
        self.alerted_until: dict[str, float] = {}

    def wait(self, ident: tuple[str, str], now: float) -> int:
        with self.lock:
            until = self.locked_until.get(ident, 0)
        return max(0, int(until - now + 0.999))

    def failures_of(self, ident: tuple[str, str], now: float) -> int:
        with self.lock:
            count, since = self.failures.get(ident, (0, now))
        return count if now - since <= settings.RATE_LIMIT_LOGIN_WINDOW_SECONDS else 0

    def first_alert(self, ident: str, now: float) -> bool:
        with self.lock:
            if now < self.alerted_until.get(ident, 0):
                return False
            self.alerted_until[ident] = now + settings.RATE_LIMIT_LOGIN_WINDOW_SECONDS
            return True

    def fail(self, ident: tuple[str, str], threshold: int, now: float) -> int:
        with self.lock:
            if len(self.failures) > 50_000:
                self.failures.clear()
                self.locked_until.clear()
            count, since = self.failures.get(ident, (0, now))
            if now - since > settings.RATE_LIMIT_LOGIN_WINDOW_SECONDS:
                count, since = 0, now
            count += 1
            self.failures[ident] = (count, since)
            over = count - threshold
            if over >= 0:
                delay = min(
                    settings.RATE_LIMIT_LOGIN_MAX_DELAY_SECONDS,
                    settings.RATE_LIMIT_LOGIN_BASE_DELAY_SECONDS * 2 ** min(over, 30),
                )
                self.locked_until[ident] = now + max(1, delay)
                return int(delay)
            return 0

    def clear(self) -> None:
        with self.lock:
            self.failures.clear()
            self.locked_until.clear()
            self.alerted_until.clear()


_local = _Local()


def reset_local_counters() -> None:
    _local.clear()


def wait_seconds(request: HttpRequest, username: str) -> int:
    """Seconds before this attempt may be made; 0 when it may now (see the module docstring for
    which locks apply)."""
    (first_scope, first_ident, _), (_, address, _) = _identities(request, username)
    try:
        pipe = get_redis().pipeline(transaction=False)
        pipe.ttl(keys.login_lock(first_scope, first_ident))
        pipe.ttl(keys.login_lock("address", address))
        pipe.get(keys.login_failures("address", address))
        first_ttl, address_ttl, address_failures = pipe.execute()
        first_wait, address_wait = max(0, int(first_ttl)), max(0, int(address_ttl))
        address_failed = int(address_failures or 0) > 0
    except redis.RedisError as exc:
        warn_throttled(
            log, "login-throttle", "login throttle counted per process, Redis unavailable: %r", exc
        )
        now = time.time()
        first_wait = _local.wait((first_scope, first_ident), now)
        address_wait = _local.wait(("address", address), now)
        address_failed = _local.failures_of(("address", address), now) > 0
    if first_scope == "device":
        return first_wait  # a known device: only its own failures count
    return max(address_wait, first_wait if address_failed else 0)


def record_failure(request: HttpRequest, username: str) -> None:
    base, top = settings.RATE_LIMIT_LOGIN_BASE_DELAY_SECONDS, settings.RATE_LIMIT_LOGIN_MAX_DELAY_SECONDS
    window = settings.RATE_LIMIT_LOGIN_WINDOW_SECONDS
    idents = _identities(request, username)
    try:
        client = get_redis()
        delays = [
            int(
                FAIL(
                    client,
                    [keys.login_failures(scope, ident), keys.login_lock(scope, ident)],
                    [window, threshold, base, top],
                )
            )
            for scope, ident, threshold in idents
        ]
    except redis.RedisError as exc:
        warn_throttled(
            log, "login-throttle", "login throttle counted per process, Redis unavailable: %r", exc
        )
        now = time.time()
        delays = [_local.fail((scope, ident), threshold, now) for scope, ident, threshold in idents]
    if idents[0][0] == "account" and delays[0] > 0:
        _alert_staff(_account(username))


def _alert_staff(account: str) -> None:
    """Tell a staff account by email that its failures reached the threshold: once per window,
    only when the site has email configured. Nothing for reviewers (no mail to an address a
    stranger could make us write to, again and again)."""
    if not settings.LOGIN_ALERT_EMAIL:
        return
    user = (
        get_user_model()
        .objects.filter(username__iexact=account, is_staff=True, is_active=True)
        .exclude(email="")
        .first()
    )
    if user is None:
        return
    window = settings.RATE_LIMIT_LOGIN_WINDOW_SECONDS
    try:
        first = bool(get_redis().set(keys.login_alert(account), "1", nx=True, ex=window))
    except redis.RedisError:
        first = _local.first_alert(account, time.time())
    if not first:
        return
    minutes = max(1, window // 60)
    send_mail(
        subject="Crowd review: repeated failed logins to your account",
        message=(
            f"Someone has entered a wrong password for the account {user.username} "
            f"{settings.RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT} times or more in the last {minutes} "
            "minutes. Attempts from unknown devices are being slowed down. You can still log in "
            "from a browser you have used before. If this was not you, consider changing your "
            "password. You get this message at most once every "
            f"{minutes} minutes."
        ),
        from_email=None,
        recipient_list=[user.email],
        fail_silently=True,  # a mail server that is down must not break the login page
    )


if TYPE_CHECKING:
    from django.contrib.auth.forms import AuthenticationForm as _FormBase
else:
    _FormBase = object


class ThrottledLoginMixin(_FormBase):
    """For AuthenticationForm subclasses (the public login and the admin's)."""

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username") or ""
        if self.request is not None and username:
            wait = wait_seconds(self.request, username)
            if wait:
                raise forms.ValidationError(
                    f"Too many failed attempts. Please wait {wait} second{'s' if wait != 1 else ''} "
                    "and try again.",
                    code="throttled",
                )
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            if self.request is not None and username:
                record_failure(self.request, username)
            raise
        if self.request is not None and username:
            device_cookie.remember(self.request, username)  # this browser now knows the account
        return cleaned
