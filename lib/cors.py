"""CORS for the read-only API: a newsroom's browser-side data project may read ``/api/``.

Only safe reads are shared: a GET or HEAD under ``/api/`` gets ``Access-Control-Allow-Origin: *``
(any origin, no cookies: ``Access-Control-Allow-Credentials`` is never sent, so a browser never
shares an answer made with someone's session). A request that carries credentials (a cookie or an
``Authorization`` header) gets no CORS header at all: staff see more through the API than the
public, and that answer must stay on this site. The preflight of such a GET is answered here;
anything else (POST and the other unsafe methods, the HTML pages, exports) gets nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase

PREFIX = "/api/"
SAFE = frozenset({"GET", "HEAD"})
# What a script may read besides the simple headers: the throttle's wait.
EXPOSE = "Retry-After"
PREFLIGHT_MAX_AGE = 86400


def _shared(request: HttpRequest) -> bool:
    if not request.path.startswith(PREFIX) or request.path.startswith(f"{PREFIX}docs/"):
        return False
    # Credentials: a cross-origin script only sends these with credentials: "include".
    return not request.META.get("HTTP_COOKIE") and not request.META.get("HTTP_AUTHORIZATION")


class CorsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.method == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in request.META:
            return self._preflight(request)
        response = self.get_response(request)
        if request.method in SAFE and _shared(request):
            response["Access-Control-Allow-Origin"] = "*"
            response["Access-Control-Expose-Headers"] = EXPOSE
        return response

    def _preflight(self, request: HttpRequest) -> HttpResponseBase:
        """A browser asking before a GET with extra headers. Only GET and HEAD are allowed."""
        method = request.META["HTTP_ACCESS_CONTROL_REQUEST_METHOD"].upper()
        if method not in SAFE or not _shared(request):
            return self.get_response(request)  # the view's own answer, with no CORS header
        response = HttpResponse(status=204)
        response["Access-Control-Allow-Origin"] = "*"
        response["Access-Control-Allow-Methods"] = "GET, HEAD"
        requested = request.META.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "")
        # Credentials are refused above; ordinary headers (Accept, Accept-Language) are allowed.
        allowed = [
            h.strip()
            for h in requested.split(",")
            if h.strip().lower() in {"accept", "accept-language", "content-language"}
        ]
        if allowed:
            response["Access-Control-Allow-Headers"] = ", ".join(allowed)
        response["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
        return response
