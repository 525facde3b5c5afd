"""Staff pages of the project itself (``/staff/denormalisations/``)."""

from __future__ import annotations

import redis
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from denorm import operations, registry
from denorm.models import DenormalisationState
from lib.web import allow_methods, forbidden, staff_required

# Staff may look; only those with this permission (superusers have it) may press the buttons.
OPERATE_PERMISSION = f"{DenormalisationState._meta.app_label}.operate_denormalisations"


@never_cache
@staff_required
def denormalisations(request: HttpRequest) -> HttpResponse:
    """Each registered denormalisation: where it lives, last rebuild, last check, drift found."""
    states = {s.name: s for s in DenormalisationState.objects.all()}
    try:
        unbuilt = set(operations.unbuilt_families())
        redis_error = ""
    except redis.RedisError as exc:
        unbuilt, redis_error = None, str(exc)
    rows = []
    for entry in registry.all_entries():
        built = None
        if entry.has_marker and unbuilt is not None:
            built = entry.name not in unbuilt
        rows.append({"entry": entry, "state": states.get(entry.name), "built": built})
    return render(
        request,
        "staff/denormalisations.html",
        {
            "rows": rows,
            "redis_error": redis_error,
            "check_seconds": settings.DENORMALISATION_CHECK_SECONDS,
            "can_operate": request.user.has_perm(OPERATE_PERMISSION),
        },
    )


@never_cache
@staff_required
@allow_methods("POST")
def operate(request: HttpRequest, name: str, operation: str) -> HttpResponse:
    """The "Check" and "Rebuild" buttons: queue a Celery task for one entry, then back to the
    page, which shows the task's outcome (last check, drift, last rebuild) once it ran. POST with
    the CSRF token (Django's middleware), staff with ``OPERATE_PERMISSION`` only."""
    if not request.user.has_perm(OPERATE_PERMISSION):
        return forbidden(request, "You may look at denormalisations but not check or rebuild them.")
    try:
        entry = registry.get(name)
    except KeyError:
        raise Http404("No such denormalisation") from None
    if operation == "check":
        queued = operations.queue_check(entry.name)
        done = f"Check of {entry.name} queued: its result appears in “Last check” and “Drift found” when the worker has run it (reload the page)."
    else:
        # A rebuild already queued (the lock) is not queued twice: the button says so.
        queued = operations.queue_rebuild(entry.name)
        done = f"Rebuild of {entry.name} queued: “Last rebuild” changes when the worker has run it (reload the page)."
        if not queued:
            done = f"A rebuild of {entry.name} is already queued or running."
            queued = True
    if queued:
        messages.success(request, done)
    else:
        messages.error(
            request, f"Could not queue the {operation} of {entry.name}: the task broker is unreachable."
        )
    return redirect(reverse("staff-denormalisations") + f"#row-{entry.name}")
