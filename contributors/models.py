"""The editors' triage decisions on highlighted pages (``/staff/triage/``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class TriageDecision(models.Model):
    """One editor's decision on a page that reviewers highlighted, with who and when.

    A page leaves the inbox for good once it is a discovery or dismissed; "needs more eyes"
    raises its priority in the picker and takes it out of the inbox until it has more reviews
    than it had then (``review_count``). Written only by ``contributors.actions``.
    """

    class Decision(models.TextChoices):
        DISCOVERY = "discovery", "Made a discovery"
        DISMISSED = "dismissed", "Dismissed"
        MORE_EYES = "more_eyes", "Needs more eyes"

    page = models.ForeignKey("catalogue.Page", on_delete=models.CASCADE, related_name="triage_decisions")
    decision = models.CharField(max_length=16, choices=Decision.choices)
    editor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    note = models.TextField(blank=True)
    # The page's review count when decided: a "needs more eyes" page comes back above it.
    review_count = models.PositiveIntegerField(default=0)
    discovery = models.ForeignKey(
        "reviews.Discovery", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["page", "decision"], name="triage_page_decision_idx")]

    def __str__(self) -> str:
        return f"{self.get_decision_display()}: {self.page}"
