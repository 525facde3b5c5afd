"""Failed logins are throttled per account and per address, on the public and the admin login.

After ``RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT`` failures for one username (or
``RATE_LIMIT_LOGIN_FAILURES_PER_ADDRESS`` from one address) within
``RATE_LIMIT_LOGIN_WINDOW_SECONDS``, each further failure locks that account (address) for a
delay that doubles from ``RATE_LIMIT_LOGIN_BASE_DELAY_SECONDS`` up to
``RATE_LIMIT_LOGIN_MAX_DELAY_SECONDS``. While locked, attempts are refused before the password
is hashed (parallel guessing cannot load the CPU) and are not counted: an attacker can keep an
editor waiting at most the maximum delay at a time, never lock them out for long. Counts live in
Redis (all processes); while Redis is down each process keeps its own.
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from django import forms
from django.conf import settings

from lib import keys
from lib.log_throttle import warn_throttled
from lib.ratelimit import client_address
from lib.redis_client import get_redis

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


def _identities(request, username: str) -> list[tuple[str, str, int]]:
    return [
        ("account", (username or "").strip().lower(), settings.RATE_LIMIT_LOGIN_FAILURES_PER_ACCOUNT),
        ("address", client_address(request), settings.RATE_LIMIT_LOGIN_FAILURES_PER_ADDRESS),
    ]


class _Local:
    def __init__(self):
        self.lock = threading.Lock()
        self.failures: dict[tuple[str, str], tuple[int, float]] = {}
        self.locked_until: dict[tuple[str, str], float] = {}

    def wait(self, ident: tuple[str, str], now: float) -> int:
        with self.lock:
            until = self.locked_until.get(ident, 0)
        return max(0, int(until - now + 0.999))

    def fail(self, ident: tuple[str, str], threshold: int, now: float) -> None:
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

    def clear(self) -> None:
        with self.lock:
            self.failures.clear()
            self.locked_until.clear()


_local = _Local()


def reset_local_counters() -> None:
    _local.clear()


def wait_seconds(request, username: str) -> int:
    """Seconds before this username (or this address) may try again; 0 when it may now."""
    idents = _identities(request, username)
    try:
        pipe = get_redis().pipeline(transaction=False)
        for scope, ident, _ in idents:
            pipe.ttl(keys.login_lock(scope, ident))
        return max(0, *(int(t) for t in pipe.execute()))
    except redis.RedisError as exc:
        warn_throttled(
            log, "login-throttle", "login throttle counted per process, Redis unavailable: %r", exc
        )
        now = time.time()
        return max(_local.wait((scope, ident), now) for scope, ident, _ in idents)


def record_failure(request, username: str) -> None:
    base, top = settings.RATE_LIMIT_LOGIN_BASE_DELAY_SECONDS, settings.RATE_LIMIT_LOGIN_MAX_DELAY_SECONDS
    window = settings.RATE_LIMIT_LOGIN_WINDOW_SECONDS
    idents = _identities(request, username)
    try:
        client = get_redis()
        script = client.register_script(_FAIL_LUA)
        for scope, ident, threshold in idents:
            script(
                keys=[keys.login_failures(scope, ident), keys.login_lock(scope, ident)],
                args=[window, threshold, base, top],
            )
    except redis.RedisError as exc:
        warn_throttled(
            log, "login-throttle", "login throttle counted per process, Redis unavailable: %r", exc
        )
        now = time.time()
        for scope, ident, threshold in idents:
            _local.fail((scope, ident), threshold, now)


class ThrottledLoginMixin:
    """For AuthenticationForm subclasses (the public login and the admin's)."""

    def clean(self):
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
            return super().clean()
        except forms.ValidationError:
            if self.request is not None and username:
                record_failure(self.request, username)
            raise
