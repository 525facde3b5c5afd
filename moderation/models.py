"""Records of editors' moderation decisions: who, when, why. The state they put in force lives
on the rows they act on (``Page.withdrawn_at``, ``Document.withdrawn_at``,
``Reviewer.quarantined_at``, ``Review.quarantined``); these rows are the audit trail shown on
``/staff/activity/``. Nothing here is ever deleted."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Withdrawal(models.Model):
    """A page or a whole document taken down (exactly one of ``page`` and ``document``)."""

    page = models.ForeignKey(
        "catalogue.Page", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    document = models.ForeignKey(
        "catalogue.Document", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    reason = models.TextField()
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    withdrawn_at = models.DateTimeField()
    reinstated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reinstated_at = models.DateTimeField(null=True, blank=True)
    reinstate_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-withdrawn_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(page__isnull=True) ^ models.Q(document__isnull=True),
                name="withdrawal_page_xor_document",
            )
        ]
        indexes = [models.Index(fields=["withdrawn_at"], name="withdrawal_at_idx")]

    def __str__(self) -> str:
        what = f"page {self.page_id}" if self.page_id else f"document {self.document_id}"
        return f"{what} withdrawn {self.withdrawn_at:%Y-%m-%d %H:%M}"


class Quarantine(models.Model):
    """A reviewer quarantined: their reviews count for nothing until released."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    reason = models.TextField()
    quarantined_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    quarantined_at = models.DateTimeField()
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    released_at = models.DateTimeField(null=True, blank=True)
    release_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-quarantined_at", "-id"]
        indexes = [models.Index(fields=["quarantined_at"], name="quarantine_at_idx")]

    def __str__(self) -> str:
        return f"user {self.user_id} quarantined {self.quarantined_at:%Y-%m-%d %H:%M}"


class EmbargoDecision(models.Model):
    """A document published on its own by an editor (the embargo lifted) or put back under
    embargo. The state lives on ``Document.published_at`` (see ``assignments.visibility``);
    these rows are the audit trail on ``/staff/activity/``."""

    class Kind(models.TextChoices):
        PUBLISHED = "published", "Published (embargo lifted)"
        EMBARGOED = "embargoed", "Embargoed (publication withdrawn)"

    document = models.ForeignKey("catalogue.Document", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField()

    class Meta:
        ordering = ["-decided_at", "-id"]
        indexes = [models.Index(fields=["decided_at"], name="embargo_decided_at_idx")]

    def __str__(self) -> str:
        return f"document {self.document_id} {self.kind} {self.decided_at:%Y-%m-%d %H:%M}"


class AddressExemption(models.Model):
    """An address range (a newsroom, a classroom, an event) exempt from the new-account limit
    (``RATE_LIMIT_NEW_ACCOUNTS_PER_HOUR``) until ``until`` or until an editor ends it. Bursts of
    accounts from inside it still show on ``/staff/suspicious/``: the exemption lifts the limit,
    not the scrutiny. Written by ``moderation.actions.exemptions`` only."""

    network = models.CharField(max_length=64)  # a CIDR, normalised: "203.0.113.0/24"
    reason = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    until = models.DateTimeField()
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["until"], name="exemption_until_idx")]

    def __str__(self) -> str:
        return f"{self.network} exempt until {self.until:%Y-%m-%d %H:%M}"
