"""Web helpers shared by every app's views: friendly errors, method checks, staff-only pages."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.db import InterfaceError, OperationalError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.views import defaults

# Seconds a client is asked to wait when the database is unreachable (a restart takes a few).
DATABASE_RETRY_AFTER_SECONDS = 5

# A view function, kept as it is by the decorators below.
View = TypeVar("View", bound=Callable[..., Any])


def error_page(
    request: HttpRequest,
    *,
    status: int,
    title: str,
    message: str,
    template: str = "error.html",
    **extra: Any,
) -> HttpResponse:
    """A friendly error page with a clear message and the right status."""
    context = {"title": title, "message": message, "status": status, **extra}
    return render(request, template, context, status=status)


def allow_methods(*methods: str) -> Callable[[View], View]:
    """Like ``require_http_methods``, but the 405 says in words what to do instead."""
    allowed = {m.upper() for m in methods}

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in allowed:
                response = error_page(
                    request,
                    status=405,
                    title="Not like that",
                    message=f"This address only accepts {', '.join(sorted(allowed))} requests.",
                )
                response["Allow"] = ", ".join(sorted(allowed))
                return response
            return view(request, *args, **kwargs)  # type: ignore[no-any-return]

        return cast(View, wrapped)

    return decorator


def max_body_bytes(limit: int) -> Callable[[View], View]:
    """Declare the largest request body a view accepts. ``lib.middleware.RequestBodyLimitMiddleware``
    refuses a larger (or unknown-length) body with 413/411 before anything reads it."""

    def decorator(view: View) -> View:
        view.max_body_bytes = limit  # type: ignore[attr-defined]
        return view

    return decorator


def is_staff(user: Any) -> bool:
    """The one rule of who may use the staff pages: a signed-in, active staff account."""
    return bool(user is not None and user.is_authenticated and user.is_active and user.is_staff)


def forbidden(
    request: HttpRequest, message: str = "This page is for the newsroom's editors only."
) -> HttpResponse:
    """403 in the site's layout (``templates/403.html``), returned rather than raised: Django
    logs a raised PermissionDenied with its traceback, and a reviewer trying an address is not
    an error worth one (the request log still has its one-line warning)."""
    response = error_page(request, status=403, title="Staff only", message=message, template="403.html")
    response["Cache-Control"] = "no-store"
    return response


def staff_required(view: View) -> View:
    """Every ``/staff/`` view: anonymous visitors go to the login page; signed-in non-staff get
    the 403 page in the site's layout, never the data."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_staff(request.user):
            return forbidden(request)
        return view(request, *args, **kwargs)  # type: ignore[no-any-return]

    return cast(View, wrapped)


# The name the staff views used before the rule was written once; new code says staff_required.
staff_only = staff_required


def _database_unreachable(exc: BaseException | None) -> bool:
    """The exception (or one it was raised from) says the database could not be reached: a
    restart, a failover, a full connection pool. Not a bad query (those are 500s, and bugs)."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OperationalError | InterfaceError):
            return True
        module = type(exc).__module__
        if module.startswith(("psycopg", "psycopg_pool")) and type(exc).__name__ in {
            "OperationalError",
            "InterfaceError",
            "PoolTimeout",
        }:
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: a database that cannot be reached (Postgres restarting) is a friendly 503
    with ``Retry-After``, rendered without touching the database; anything else is the 500 page.
    Django calls this inside its ``except`` block, so the exception is ``sys.exc_info()``'s."""
    if _database_unreachable(sys.exc_info()[1]):
        body = loader.get_template("503.html").render()
        response = HttpResponse(body, status=503)
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        response["Cache-Control"] = "no-store"
        return response
    return defaults.server_error(request)


# Paths whose clients expect JSON (the read-only API), errors included.
JSON_PATH_PREFIX = "/api/"


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler404``: under /api/ a JSON ``{"detail": ...}`` as the API's own 404s (a path that
    no API route matches, e.g. a tag that is not a slug), so that API clients and the published
    schema see one content type; elsewhere the site's 404 page."""
    if request.path.startswith(JSON_PATH_PREFIX):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


FAVICON_SECONDS = 24 * 60 * 60


def favicon(request: HttpRequest) -> FileResponse:
    """``/favicon.ico``: browsers (and the admin, which links none) ask for it at the root. The
    file is ``static/favicon.ico`` (the pages link ``favicon.svg`` too)."""
    path = settings.BASE_DIR / "static" / "favicon.ico"
    if request.method not in ("GET", "HEAD") or not path.exists():
        raise Http404("No favicon")
    response = FileResponse(path.open("rb"), content_type="image/x-icon")
    response["Cache-Control"] = f"public, max-age={FAVICON_SECONDS}"
    return response
