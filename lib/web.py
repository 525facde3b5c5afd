"""Web helpers shared by every app's views: friendly errors, method checks, staff-only pages."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import render


def error_page(request, *, status: int, title: str, message: str, template: str = "error.html", **extra):
    """A friendly error page with a clear message and the right status."""
    context = {"title": title, "message": message, "status": status, **extra}
    return render(request, template, context, status=status)


def allow_methods(*methods: str):
    """Like ``require_http_methods``, but the 405 says in words what to do instead."""
    allowed = {m.upper() for m in methods}

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method not in allowed:
                response = error_page(
                    request,
                    status=405,
                    title="Not like that",
                    message=f"This address only accepts {', '.join(sorted(allowed))} requests.",
                )
                response["Allow"] = ", ".join(sorted(allowed))
                return response
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def max_body_bytes(limit: int):
    """Declare the largest request body a view accepts. ``lib.middleware.RequestBodyLimitMiddleware``
    refuses a larger (or unknown-length) body with 413/411 before anything reads it."""

    def decorator(view):
        view.max_body_bytes = limit
        return view

    return decorator


def staff_only(view):
    """Anonymous visitors go to the login page; signed-in non-staff get a 403, never the data."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_staff:
            raise PermissionDenied("Staff only.")
        return view(request, *args, **kwargs)

    return wrapped
