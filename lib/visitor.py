"""The visitor: one browser, from its first request to its last.

The picker's reservations belong to a visitor, not to an account: a visitor's first review
makes their ``anon-<n>`` account, and they may later claim it or log in to another, but the
page on their screen and the following page their browser prefetched stay theirs throughout
(issue 21: reservations keyed by a pre-account identity were orphaned by the first review and
stalled the last pages of an assignment until they expired).

The identity is a random id in a signed, long-lived, HttpOnly cookie, minted the first time a
view asks for it (``ensure_visitor_id``) and set on that response by :class:`VisitorMiddleware`.
Signed, so that nobody can pick another visitor's id; it grants nothing but that visitor's
reservations back (no review, no account, no history is tied to it). A hoarder who throws the
cookie away gets a new id per request, which the per-address reservation limit
(``PICKER_MAX_HOLDS_PER_ADDRESS``) and the rate limit of ``/review/next/`` bound.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse

COOKIE = "crowd_visitor"
_SALT = "crowd.visitor"
_MAX_AGE = 365 * 24 * 3600
_ATTR = "_crowd_visitor"
_NEW_ATTR = "_crowd_visitor_new"


def visitor_id(request: HttpRequest) -> str | None:
    """The request's visitor id, or None when it has none yet (or a forged or garbled one)."""
    found = getattr(request, _ATTR, None)
    if found is not None:
        return found or None
    value = request.COOKIES.get(COOKIE)
    found = ""
    if value:
        try:
            found = signing.get_cookie_signer(salt=_SALT).unsign(value)
        except signing.BadSignature:
            found = ""
        if not (len(found) == 32 and all(c in "0123456789abcdef" for c in found)):
            found = ""
    setattr(request, _ATTR, found)
    return found or None


def ensure_visitor_id(request: HttpRequest) -> str:
    """The request's visitor id, minting one (set on the response by the middleware) if it has
    none."""
    found = visitor_id(request)
    if found:
        return found
    minted = secrets.token_hex(16)
    setattr(request, _ATTR, minted)
    setattr(request, _NEW_ATTR, minted)
    return minted


class VisitorMiddleware:
    """Sets the cookie of a visitor id minted while handling the request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        minted = getattr(request, _NEW_ATTR, None)
        if minted:
            response.set_cookie(
                COOKIE,
                signing.get_cookie_signer(salt=_SALT).sign(minted),
                max_age=_MAX_AGE,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response
