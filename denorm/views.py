"""Staff pages of the project itself (``/staff/denormalisations/``)."""

from __future__ import annotations

import redis
from django.conf import settings
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from denorm import operations, registry
from denorm.models import DenormalisationState
from lib.web import staff_only


@never_cache
@staff_only
def denormalisations(request):
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
        {"rows": rows, "redis_error": redis_error, "check_seconds": settings.DENORMALISATION_CHECK_SECONDS},
    )
