"""Serve anonymous readers' public pages whole from memcached.

Placed before ``SessionMiddleware`` (see ``MIDDLEWARE`` in config/settings/core.py): a hit returns
before any session, user or database is touched. What it costs: one URL resolve (Django caches
the resolver), one memcached ``get_many`` of the generations and one ``get`` of the page.

Why not ``django.middleware.cache`` (UpdateCacheMiddleware/FetchFromCacheMiddleware) or
``cache_page``: their keys are the URL plus the Vary'd headers, so invalidating means waiting for
a timeout; ours carry the generations of what the page shows (``pagecache.routes``), which writes
bump after commit (``pagecache.receivers``), so a change shows at once. They also store pages that
set cookies when asked to; this one refuses any response that sets a cookie.

Who gets cached pages: requests without a session cookie and without a messages cookie, i.e.
visitors Django would treat as anonymous with nothing to tell them. Signed-in reviewers (and
anonymous reviewers after their first review, who carry a session) always reach the view, and
their responses are never stored: nobody can be served someone else's page.
"""

from __future__ import annotations

import hashlib
import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import DisallowedHost
from django.http import HttpResponse
from django.urls import Resolver404, resolve

from lib import keys
from pagecache import generations, stats
from pagecache.routes import Route, route_for

log = logging.getLogger("crowd.pagecache")

HEADER = "X-Page-Cache"
_MESSAGES_COOKIE = "messages"
# Characters nginx's memcached module sends unescaped (it escapes %, spaces and controls), so
# that the key Django writes is the key nginx asks for.
_NGINX_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/?=&:,;+!*'()@")


class PageCacheMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        plan = self._plan(request)
        if plan is None:
            return self.get_response(request)
        route, values = plan
        if values is None:  # memcached down: render as if there were no cache
            stats.count(stats.BYPASS)
            return self.get_response(request)
        key = _page_key(request, values, route.time_part(time.time()))
        stored = cache.get(key)
        if stored is not None:
            stats.count(stats.HIT)
            return _response_from(stored, request)
        response = self.get_response(request)
        if request.method == "GET" and _storable(request, response):
            stats.count(stats.MISS)
            cache.set(key, _stored_form(response), timeout=route.seconds)
            self._store_for_nginx(request, response, route, values)
        else:
            stats.count(stats.NOT_STORED)
        response[HEADER] = "miss"
        return response

    def _plan(self, request) -> tuple[Route, dict[str, int] | None] | None:
        if not settings.PAGE_CACHE_ENABLED or request.method not in ("GET", "HEAD"):
            return None
        cookies = request.COOKIES
        if settings.SESSION_COOKIE_NAME in cookies or _MESSAGES_COOKIE in cookies:
            return None
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return None
        route = route_for(match)
        if route is None:
            return None
        try:
            request.get_host()
        except DisallowedHost:
            return None  # Django answers 400 as usual
        return route, generations.read(route.generations)

    def _store_for_nginx(self, request, response, route: Route, values: dict[str, int]) -> None:
        if not (settings.PAGE_CACHE_NGINX and route.nginx):
            return
        uri = request.get_full_path()
        # Scheme and host as nginx sees them ($scheme://$http_host$request_uri): an https copy is
        # never the http one's, nor one Host's another's.
        where = f"{request.scheme}://{request.get_host()}{uri}"
        if len(uri) > 180 or len(where) > 230 or not set(where) <= _NGINX_SAFE:
            return  # nginx asks with a key Django cannot write: it passes the request through
        if not response.get("Content-Type", "").startswith("text/html"):
            return
        # A write may have bumped a generation while this page rendered: then the copy could be
        # listed too late to be deleted. Read the hard ones again; store only if unchanged.
        hard = [n for n in route.generations if not generations.is_soft(n)]
        again = generations.read(hard)
        if again is None or any(again[n] != values[n] for n in hard):
            return
        key = keys.nginx_page(where)
        if generations.register_nginx_copy(key, hard):
            seconds = min(route.seconds, generations.nginx_seconds())
            cache.set(key, response.content, timeout=seconds)
            stats.count(stats.NGINX_STORED)


def _page_key(request, values: dict[str, int], time_part: str) -> str:
    generation_text = ",".join(f"{name}={values[name]}" for name in sorted(values))
    # The scheme too: a page rendered for https (X-Forwarded-Proto from a trusted proxy) holds
    # https links and must never be served to an http request, nor the other way round.
    text = (
        f"{request.scheme}\n{request.get_host()}\n{request.get_full_path()}\n{generation_text}\n{time_part}"
    )
    return keys.cached_page(hashlib.sha256(text.encode()).hexdigest())


def _storable(request, response) -> bool:
    if response.status_code != 200 or response.streaming or response.cookies:
        return False
    if request.META.get("CSRF_COOKIE_NEEDS_UPDATE"):  # a CSRF token is in the page
        return False
    cache_control = response.get("Cache-Control", "")
    return "private" not in cache_control and "no-store" not in cache_control


def _stored_form(response) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = [(k, v) for k, v in response.items() if k.lower() != HEADER.lower()]
    return response.status_code, headers, response.content


def _response_from(stored, request) -> HttpResponse:
    status, headers, content = stored
    response = HttpResponse(content, status=status)
    for name, value in headers:
        response[name] = value
    response[HEADER] = "hit"
    return response
