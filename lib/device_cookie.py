"""The device cookie of OWASP's authentication guide: a browser that has signed in to an account
before carries a signed, long-lived cookie naming that account, so failed logins made elsewhere
(an attacker hammering the ``editor`` account) never lock its owner out on their own device.

The value is ``signing.dumps({"n": nonce, "u": [usernames]})``: the nonce names the device (its
own failures are throttled under it, ``lib.login_throttle``), the usernames are the accounts that
signed in here with a password (at most ``MAX_ACCOUNTS``, newest last). It proves nothing by
itself: the password is still checked; it only decides which throttle applies. Set by
:class:`DeviceCookieMiddleware` on the response of a successful password login (public and
admin), which the login form marks with :func:`remember`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse

COOKIE_NAME = "crowd_device"
SALT = "crowd.lib.device-cookie"
MAX_AGE_SECONDS = 365 * 24 * 60 * 60
MAX_ACCOUNTS = 5
_REQUEST_ATTR = "_crowd_device_login"


def _normal(username: str) -> str:
    return (username or "").strip().lower()


def read(request: HttpRequest) -> dict[str, Any] | None:
    """The request's device cookie as ``{"n": nonce, "u": [...]}``, or None (absent, forged, old)."""
    raw = request.COOKIES.get(COOKIE_NAME, "")
    if not raw or len(raw) > 1000:
        return None
    try:
        value = signing.loads(raw, salt=SALT, max_age=MAX_AGE_SECONDS)
    except signing.BadSignature:
        return None
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("n"), str)
        or not isinstance(value.get("u"), list)
    ):
        return None
    return value


def known_device(request: HttpRequest, username: str) -> str | None:
    """The device's nonce when this browser has signed in to ``username`` before, else None."""
    value = read(request)
    if value is not None and _normal(username) in value["u"]:
        return str(value["n"])
    return None


def remember(request: HttpRequest, username: str) -> None:
    """Mark the request: its response sets (or extends) the cookie with ``username``."""
    setattr(request, _REQUEST_ATTR, _normal(username))


class DeviceCookieMiddleware:
    """Writes the device cookie on the response of a successful password login."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        username = getattr(request, _REQUEST_ATTR, None)
        if username:
            value = read(request) or {"n": secrets.token_urlsafe(18), "u": []}
            accounts = [u for u in value["u"] if u != username][-(MAX_ACCOUNTS - 1) :] + [username]
            response.set_cookie(
                COOKIE_NAME,
                signing.dumps({"n": value["n"], "u": accounts}, salt=SALT, compress=True),
                max_age=MAX_AGE_SECONDS,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response
