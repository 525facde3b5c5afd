"""Request hygiene applied to every request before any view (or CSRF check) sees it.

- :class:`RequestBodyLimitMiddleware`: a view marked with :func:`lib.web.max_body_bytes` gets
  its body refused (413, or 411 when its length is unknown) before anything reads it.
- :class:`RejectNulBytesMiddleware`: a NUL byte in the path (404), the query string, a cookie or
  a form field (400) never reaches Postgres, which refuses it in text with a ``DataError``.
- :class:`SecurityHeadersMiddleware`: a Content-Security-Policy and ``nosniff`` on every
  response (static and media files included).
- :class:`SessionRenewalMiddleware`: a session in use is saved again at most once per
  ``SESSION_RENEW_SECONDS``, so ``SESSION_COOKIE_AGE`` is an idle limit, not a lifetime.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.urls import Resolver404, resolve

from lib.web import JSON_PATH_PREFIX, error_page

NUL = "\x00"
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _content_length(request: HttpRequest) -> int | None:
    raw = request.META.get("CONTENT_LENGTH")
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if value >= 0 else None


class RequestBodyLimitMiddleware:
    """Refuse an oversized body for views declaring a limit, without reading a byte of it.

    Runs before the session, CSRF and auth middleware: CsrfViewMiddleware parses POST bodies up
    to DATA_UPLOAD_MAX_MEMORY_SIZE, far more than a review. A body of unknown length (chunked
    transfer, no Content-Length) is refused with 411 for those views.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in ("POST", "PUT", "PATCH"):
            limit = self._limit_for(request.path_info)
            if limit is not None:
                refused = self._refuse(request, limit)
                if refused is not None:
                    return refused
        return self.get_response(request)

    @staticmethod
    def _limit_for(path: str) -> int | None:
        try:
            match = resolve(path)
        except Resolver404:
            return None
        return getattr(match.func, "max_body_bytes", None)

    @staticmethod
    def _refuse(request: HttpRequest, limit: int) -> HttpResponse | None:
        length = _content_length(request)
        chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
        if length is None and chunked:
            return error_page(
                request,
                status=411,
                title="That could not be recorded",
                message="The request did not say how long it was. Nothing was recorded.",
            )
        if length is not None and length > limit:
            return error_page(
                request,
                status=413,
                title="That was too much to record",
                message="The request was far larger than this form can be. Nothing was recorded.",
                retry_url=request.path if request.path.isascii() else None,
            )
        return None


class RejectNulBytesMiddleware:
    """404 for a NUL in the path; 400 for one in the query string, a cookie or a form field."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if NUL in request.path_info or NUL in request.path:
            return error_page(
                request, status=404, title="Not found", message="There is nothing at this address."
            )
        where = self._nul_in_input(request)
        if where is not None and request.path.startswith(JSON_PATH_PREFIX):
            # The API answers JSON, errors included (its published schema says so).
            return JsonResponse({"detail": f"The {where} contained a NUL character."}, status=400)
        if where is not None:
            return error_page(
                request,
                status=400,
                title="That request could not be understood",
                message=f"The {where} contained a character that is never valid here. Nothing was changed.",
            )
        return self.get_response(request)

    @staticmethod
    def _nul_in_input(request: HttpRequest) -> str | None:
        if NUL in request.META.get("QUERY_STRING", "") or _any_nul(request.GET):
            return "address"
        if NUL in request.META.get("HTTP_COOKIE", "") or any(NUL in v for v in request.COOKIES.values()):
            return "cookie"
        # Reads the body (the CSRF middleware would anyway); files are not looked into.
        if request.method == "POST" and request.content_type in _FORM_TYPES and _any_nul(request.POST):
            return "form"
        return None


def _any_nul(querydict: QueryDict) -> bool:
    return any(NUL in key or any(NUL in value for value in values) for key, values in querydict.lists())


def content_security_policy() -> str:
    return settings.CONTENT_SECURITY_POLICY


class SecurityHeadersMiddleware:
    """Content-Security-Policy and X-Content-Type-Options on every response.

    SecurityMiddleware adds ``nosniff`` to the responses it sees; this one sits outside
    WhiteNoise and the media view too, so files are covered whatever serves them.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = content_security_policy()
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        response.setdefault("X-Content-Type-Options", "nosniff")
        return response


# Session key of the time (epoch seconds) the session was last saved for renewal.
SESSION_RENEWED_AT = "_renewed_at"


def stamp_session_renewal(sender: object, request: HttpRequest, user: object, **kwargs: Any) -> None:
    """``user_logged_in`` receiver: a session is renewed as it is created (saved by the login)."""
    session = getattr(request, "session", None)
    if session is not None:
        session[SESSION_RENEWED_AT] = int(time.time())


class SessionRenewalMiddleware:
    """Slide a session's expiry while it is used, at the cost of one write a day per visitor.

    SESSION_COOKIE_AGE is a few weeks, not a year: a stolen or forgotten cookie dies on its own.
    But the session is the only key to an unclaimed ``anon-<n>`` account, so a reviewer who keeps
    coming back must keep it. SESSION_SAVE_EVERY_REQUEST would do that with a session write (a
    Postgres UPDATE and a memcached set) on every request; this saves it only when the last
    renewal is older than SESSION_RENEW_SECONDS, which also re-sends the cookie with a fresh
    max-age. Requests without a session cookie (crawlers, cached pages) are never touched.
    Sits inside SessionMiddleware, which saves the session after this returns.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is None or not session.session_key or response.status_code >= 500:
            return response
        renewed_at = session.get(SESSION_RENEWED_AT)  # loads it (usually from memcached)
        if session.session_key is None or session.is_empty():
            return response  # an unknown or expired key: nothing to renew
        now = int(time.time())
        if not isinstance(renewed_at, int) or now - renewed_at >= settings.SESSION_RENEW_SECONDS:
            session[SESSION_RENEWED_AT] = now  # marks it modified: SessionMiddleware saves it
        return response
