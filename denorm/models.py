"""Project-wide models: the record of denormalisation rebuilds and checks (for the staff page)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models
from django.utils import timezone

if TYPE_CHECKING:
    from denorm.registry import Drift


class DenormalisationState(models.Model):
    """Last rebuild and last check of one registered denormalisation (one row per name)."""

    name = models.CharField(max_length=100, unique=True)
    last_rebuild_at = models.DateTimeField(null=True, blank=True)
    last_rebuild_seconds = models.FloatField(null=True, blank=True)
    last_check_at = models.DateTimeField(null=True, blank=True)
    last_check_ok = models.BooleanField(null=True, blank=True)
    missing = models.PositiveIntegerField(default=0)
    extra = models.PositiveIntegerField(default=0)
    wrong = models.PositiveIntegerField(default=0)
    examples = models.TextField(blank=True)
    last_check_seconds = models.FloatField(null=True, blank=True)
    # The periodic check-and-repair: when it last repaired this copy, how, and what it had found.
    last_repair_at = models.DateTimeField(null=True, blank=True)
    last_repair = models.CharField(max_length=300, blank=True)
    # Set when an on-commit update of this copy failed (Redis down): the periodic task rebuilds it.
    stale_since = models.DateTimeField(null=True, blank=True)
    stale_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["name"]
        permissions = [
            ("operate_denormalisations", "Can check and rebuild denormalisations from the staff page"),
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def record(
        cls,
        name: str,
        *,
        rebuilt_seconds: float | None = None,
        drift: Drift | None = None,
        check_seconds: float | None = None,
        repair: str = "",
    ) -> None:
        now = timezone.now()
        values: dict[str, Any] = {}
        if check_seconds is not None:
            values["last_check_seconds"] = check_seconds
        if repair:
            values.update(last_repair_at=now, last_repair=repair[:300])
        if rebuilt_seconds is not None:
            values.update(
                last_rebuild_at=now, last_rebuild_seconds=rebuilt_seconds, stale_since=None, stale_reason=""
            )
        if drift is not None:
            values.update(
                last_check_at=now,
                last_check_ok=drift.ok,
                missing=drift.missing,
                extra=drift.extra,
                wrong=drift.wrong,
                examples="\n".join(drift.examples),
            )
        cls.objects.update_or_create(name=name, defaults=values)

    @classmethod
    def mark_stale(cls, name: str, reason: str) -> None:
        # Keep the first failure time: the page shows how long the copy has been unreliable.
        updated = cls.objects.filter(name=name, stale_since__isnull=True).update(
            stale_since=timezone.now(), stale_reason=reason[:200]
        )
        if not updated:
            cls.objects.get_or_create(
                name=name, defaults={"stale_since": timezone.now(), "stale_reason": reason[:200]}
            )
