"""Celery tasks of the denormalisation registry: thin shells over ``denorm.operations``."""

from __future__ import annotations

import logging

from celery import shared_task

from denorm import operations, registry

log = logging.getLogger("crowd.denormalisation")


@shared_task(ignore_result=True)  # type: ignore[untyped-decorator]  # Celery has no types
def rebuild_denormalisation(name: str) -> None:
    """Rebuild one registered denormalisation (and those sharing its rebuild), then release the
    lock ``redis_family_ready`` took so that a later loss can queue again."""
    try:
        operations.rebuild_entries(registry.select([name]))
    finally:
        operations.release_rebuild_lock(name)


@shared_task(ignore_result=True)  # type: ignore[untyped-decorator]  # Celery has no types
def check_denormalisation(name: str) -> None:
    """Compare one registered denormalisation with Postgres and record the outcome (the staff
    page's "Check" button; nothing is repaired)."""
    operations.check_entries(registry.select([name]))


@shared_task(ignore_result=True)  # type: ignore[untyped-decorator]  # Celery has no types
def ensure_denormalisations() -> list[str]:
    """Periodic (beat): queue a rebuild of every Redis family whose built marker is missing and
    of every entry flagged stale after a failed on-commit update. Returns the names queued."""
    return operations.ensure_built()


@shared_task(ignore_result=True)  # type: ignore[untyped-decorator]  # Celery has no types
def check_and_repair_denormalisations() -> list[str]:
    """Periodic (beat, every ``DENORMALISATION_CHECK_SECONDS``): compare registered copies with
    Postgres within ``DENORMALISATION_CHECK_BUDGET_SECONDS`` and repair those that drifted (see
    :func:`denorm.operations.check_and_repair`). Returns the names of the entries repaired."""
    from django.conf import settings

    outcomes = operations.check_and_repair(budget_seconds=settings.DENORMALISATION_CHECK_BUDGET_SECONDS)
    return [o.name for o in outcomes if o.repaired]
