"""Takedown's web side: the staff buttons on ``/pages/<id>/`` (withdraw, reinstate), and the
gate in front of page images and thumbnails, for Django's own media serving (``make run``,
tests) and for nginx's ``auth_request`` (``deploy/nginx.conf.template``). Views parse and check;
writes are ``moderation.actions.takedown``'s, reads ``moderation.takedown_selectors``'."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache
from django.views.static import serve

from lib.ids import is_id
from lib.web import allow_methods, error_page, is_staff, staff_only
from moderation.actions.takedown import TakedownError, reinstate_page, withdraw_page
from moderation.takedown_selectors import MediaAccess, media_access, media_name
from pagecache import media

# Page images never change under one name (a re-import writes new names), so browsers may keep
# them; ``private``: no shared cache may, so a takedown holds for everyone who has not seen it.
MEDIA_CACHE_CONTROL = "private, max-age=3600"


def _is_staff(request) -> bool:
    return is_staff(request.user)  # reads the session: only asked about withdrawn or unknown files


def _refused(access: MediaAccess) -> HttpResponse:
    gone = access == MediaAccess.WITHDRAWN
    response = HttpResponse(
        "This page has been withdrawn.\n" if gone else "No such file.\n",
        status=410 if gone else 404,
        content_type="text/plain; charset=utf-8",
    )
    response["Cache-Control"] = "no-store"  # reinstating must show at once
    return response


@allow_methods("GET", "HEAD")
def page_media(request, path: str):
    """MEDIA_ROOT served by Django (``SERVE_MEDIA``): a withdrawn page's files only to staff."""
    name = media_name(path)
    if name is None:
        raise Http404("No such file")
    access = media_access(name)
    if access != MediaAccess.PUBLIC and not _is_staff(request):
        return _refused(access)
    response = serve(request, name, document_root=settings.MEDIA_ROOT)
    response["Cache-Control"] = MEDIA_CACHE_CONTROL if access == MediaAccess.PUBLIC else "private, no-store"
    return response


@never_cache
@allow_methods("GET", "HEAD")
def media_gate(request):
    """nginx's ``auth_request`` for ``/media/``: 204 serve it, 403 refuse it, with
    ``X-Media-Denied: withdrawn`` (nginx answers 410) or ``unknown`` (404). The original URI comes
    in ``X-Original-URI``; nginx serves the file itself."""
    raw = request.headers.get("X-Original-URI", "")
    prefix = settings.MEDIA_URL
    name = media_name(raw[len(prefix) :]) if raw.startswith(prefix) else None
    access = media_access(name) if name is not None else MediaAccess.UNKNOWN
    if access == MediaAccess.PUBLIC:
        # nginx asks memcached first next time (pagecache.media): the "public" answer is kept
        # until the page's visibility changes; refusals and staff answers are never kept.
        media.remember(raw, name, lambda: media_access(name) == MediaAccess.PUBLIC)
        return HttpResponse(status=204)
    if _is_staff(request):
        return HttpResponse(status=204)
    response = HttpResponse(status=403)
    response["X-Media-Denied"] = access.value
    return response


def _page_id(page_id: int) -> int:
    if not is_id(page_id):  # the path's id converter refused it already; kept for direct calls
        raise Http404("No such page")
    return page_id


def _takedown_error(request, exc: TakedownError, page_id: int):
    status = (
        404 if exc.code.startswith("no_such") else 409 if exc.code.startswith(("already", "not_")) else 400
    )
    return error_page(
        request,
        status=status,
        title="Nothing was changed",
        message=exc.message,
        retry_url=f"/pages/{page_id}/" if status != 404 else None,
    )


@staff_only
@allow_methods("POST")
def page_withdraw(request, page_id: int):
    """The staff form on ``/pages/<id>/``: withdraw the page (a reason is required)."""
    page_id = _page_id(page_id)
    try:
        withdraw_page(page_id, by=request.user, reason=request.POST.get("reason", ""))
    except TakedownError as exc:
        return _takedown_error(request, exc, page_id)
    messages.success(request, "Withdrawn: the page is gone from every public surface. Reinstate it here.")
    return redirect("page", page_id=page_id)


@staff_only
@allow_methods("POST")
def page_reinstate(request, page_id: int):
    """The staff form on a withdrawn ``/pages/<id>/``: reinstate the page."""
    page_id = _page_id(page_id)
    try:
        reinstate_page(page_id, by=request.user, reason=request.POST.get("reason", ""))
    except TakedownError as exc:
        return _takedown_error(request, exc, page_id)
    messages.success(request, "Reinstated: the page is public again (unless its document is withdrawn).")
    return redirect("page", page_id=page_id)
