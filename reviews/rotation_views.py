"""``/staff/pages/<id>/rotation/``: an editor keeps a page's rotation for everyone (POST, from
the review screen's "Keep for everyone"). With scripts it answers JSON; without, it goes back to
the review screen with a message. Bad input is a 400 that changes nothing."""

from __future__ import annotations

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect
from django.views.decorators.cache import never_cache

from lib.web import allow_methods, error_page, forbidden, staff_required
from reviews.actions.rotation import RotationError, set_page_rotation


@never_cache
@staff_required
@allow_methods("POST")
def page_rotation(request, page_id: int):
    if not request.user.has_perm("catalogue.change_page"):
        return forbidden(request, "You may not change pages.")
    raw = request.POST.get("degrees", "")
    wants_json = "application/json" in request.headers.get("Accept", "")
    try:
        # page_id: the route's id converter bounds it (lib.ids).
        if not (raw.isdigit() and len(raw) <= 3):
            raise RotationError("A page turns by a quarter: 0, 90, 180 or 270 degrees.")
        page = set_page_rotation(page_id=page_id, degrees=int(raw))
    except RotationError as exc:
        if wants_json:
            return JsonResponse({"detail": str(exc)}, status=400)
        return error_page(request, status=400, title="The rotation was not kept", message=str(exc))
    if wants_json:
        return JsonResponse({"rotation": page.rotation})
    messages.success(request, f"Page {page.number} now shows turned {page.rotation}° for everyone.")
    return redirect("review", page_id=page.pk)
