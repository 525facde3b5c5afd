"""Celery tasks of the infrastructure: housekeeping that no feature app owns."""

from __future__ import annotations

from importlib import import_module

from celery import shared_task
from django.conf import settings


@shared_task(ignore_result=True)  # type: ignore[untyped-decorator]  # Celery's decorator has no types
def clear_expired_sessions() -> None:
    """Periodic (beat, daily): delete the sessions past their expiry (Django's ``clearsessions``).
    Sessions expire SESSION_COOKIE_AGE after their last renewal; without this their rows stay."""
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
